"""Pause tags: the forms a duration may take, and every tag that cannot be obeyed is an error, never speech."""

from __future__ import annotations

import pytest

from voxbatch.text.markup import MarkupError
from voxbatch.text.pauses import MAX_PAUSE_S, find_pause_tags, parse_pause_body, pause_problem


@pytest.mark.parametrize(
    ("tag", "seconds"),
    [
        ("[pause: 1.5s]", 1.5),
        ("[pause:2s]", 2.0),
        ("[pause 2]", 2.0),
        ("[PAUSE: 0.25 s]", 0.25),
        ("[Pause = 3 seconds]", 3.0),
        ("[pause: 1 second]", 1.0),
        ("[pause: 750ms]", 0.75),
        ("[pause: 20 milliseconds]", 0.02),
        ("[pause: .5s]", 0.5),
        ("[pause: 2.s]", 2.0),
        ("[pause: 0s]", 0.0),
        (f"[pause: {MAX_PAUSE_S:g}s]", MAX_PAUSE_S),
    ],
)
def test_pause_durations(tag: str, seconds: float) -> None:
    text = f"Before. {tag} After."
    (found,) = find_pause_tags(text)
    assert (found.start, found.end) == (8, 8 + len(tag)) and found.seconds == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("[pause]", "needs a duration"),
        ("[pause: long]", "needs a duration"),
        ("[pause: 2 minutes]", "needs a duration"),
        ("[pause: -1s]", "needs a duration"),
        ("[pause: 1.5s 2s]", "needs a duration"),
        (f"[pause: {MAX_PAUSE_S + 1:g}s]", f"at most {MAX_PAUSE_S:g}"),
    ],
)
def test_a_pause_tag_that_cannot_be_obeyed_is_an_error_naming_it(tag: str, reason: str) -> None:
    text = f"First paragraph.\n\nSecond one, then {tag} and more."
    with pytest.raises(MarkupError) as caught:
        find_pause_tags(text)
    message = str(caught.value)
    assert repr(tag) in message and reason in message and "paragraph 2" in message


def test_other_brackets_are_not_pauses() -> None:
    text = "A [Pauses] header, [sic], [1], the [pausing] word and [pause-free] text."
    assert find_pause_tags(text) == []
    assert parse_pause_body("Alice") is None


def test_pause_problem() -> None:
    assert pause_problem(0.0) is None and pause_problem(MAX_PAUSE_S) is None
    assert "0 or more" in (pause_problem(-0.1) or "")
    assert "0 or more" in (pause_problem(float("nan")) or "")
    assert "at most" in (pause_problem(MAX_PAUSE_S + 0.5) or "")
