"""The fast sentence spans are pysbd's own, character for character."""

from __future__ import annotations

import random

import pysbd
import pytest

from tests.voxbatch.text.test_chunking import random_text
from voxbatch.text.sentence_rules import FALLBACK_LANGUAGE, FastSpanSegmenter, segmenter

TRICKY = [
    "",
    "   ",
    "One. One. One.",  # the same sentence again: each span is the next occurrence
    "Dr. Smith went home.  He slept.\n\nThen  he woke! Did he? Yes...",
    "He said “Stop.” Then he left.\tA tab. A\u00a0no-break space. \u3000Ideographic space.",
    "a. a. a. a a. a.",
    "Nothing ends here",
]


RANDOM_CASES = 12


def _spans(found: list[object]) -> list[tuple[str, int, int]]:
    return [(span.sent, span.start, span.end) for span in found]  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", TRICKY)
def test_spans_equal_pysbds_on_tricky_texts(text: str) -> None:
    reference = pysbd.Segmenter(language="en", clean=False, char_span=True)
    assert _spans(segmenter("en").segment(text)) == _spans(reference.segment(text))


def test_spans_equal_pysbds_on_random_texts() -> None:
    for seed in range(RANDOM_CASES):  # pysbd's own spans are the slow part: a few texts of every kind will do
        text = random_text(random.Random(seed), markdown=seed % 2 == 0)
        language = ("en", "de", "fr")[seed % 3]
        reference = pysbd.Segmenter(language=language, clean=False, char_span=True)
        assert _spans(segmenter(language).segment(text)) == _spans(reference.segment(text)), (seed, language)


def test_empty_sentences_match_as_pysbd_matches_an_empty_pattern() -> None:
    fast = FastSpanSegmenter(language="en", clean=False, char_span=True)
    slow = pysbd.Segmenter(language="en", clean=False, char_span=True)
    for text in ("ab  c", "  x", "x  ", ""):
        fast.original_text = slow.original_text = text
        for sentences in ([""], ["", ""], ["ab", ""], ["", "c"], ["x", "", "x"]):
            assert _spans(fast.sentences_with_char_spans(sentences)) == _spans(
                slow.sentences_with_char_spans(sentences)
            ), (text, sentences)


def test_unknown_languages_and_regions_fall_back_to_known_rules() -> None:
    assert segmenter("xx").language == FALLBACK_LANGUAGE
    assert segmenter("en-GB").language == "en"
    assert segmenter("DE_at").language == "de"
