"""Mojibake and ligatures are repaired; clean text (quotes, full-width punctuation, controls) is left as it is."""

from __future__ import annotations

import pytest

from voxbatch.manuscript.repair import repair_text


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("donâ€™t stop", "don’t stop"),
        ("Ã©tÃ© Ã  Paris", "été à Paris"),
        ("â€œQuotedâ€\x9d", "“Quoted”"),
        ("the ﬁrst ﬂower", "the first flower"),
        ("fish &amp; chips", "fish & chips"),
    ],
)
def test_broken_text_is_repaired(broken: str, fixed: str) -> None:
    assert repair_text(broken) == fixed


@pytest.mark.parametrize(
    "clean",
    ["“Curly” quotes — and dashes…", "全角，标点。", "tab\tand form\x0cfeed\x0b", "e\u0301 decomposed", "naïve café"],
)
def test_clean_text_is_left_alone(clean: str) -> None:
    assert repair_text(clean) == clean
