"""Aligning heard words with the known text: which words were heard, and a time for every word of the text."""

from __future__ import annotations

import pytest

from voxbatch.audit.align import align, sentence_spans, text_words, word_keys
from voxbatch.client.results import WordTime


def _heard(*items: tuple[str, float, float]) -> list[WordTime]:
    return [WordTime(w, s, e) for w, s, e in items]


def test_keys_drop_case_punctuation_and_apostrophes() -> None:
    assert word_keys("\"Don't,") == ("dont",)
    assert word_keys("well-known") == ("well", "known")
    assert word_keys("Alice’s") == ("alices",)
    assert word_keys("-") == ()
    assert text_words("  One two\n\nthree. ") == ["One", "two", "three."]


def test_every_word_heard_takes_the_heard_times() -> None:
    words = text_words("The cat sat.")
    heard = _heard(("the", 0.1, 0.2), ("cat", 0.25, 0.5), ("sat", 0.6, 0.9))
    alignment = align(words, heard, (0.0, 1.0))
    assert [(w.text, w.start_s, w.end_s, w.heard) for w in alignment.words] == [
        ("The", 0.1, 0.2, True),
        ("cat", 0.25, 0.5, True),
        ("sat.", 0.6, 0.9, True),
    ]
    assert alignment.coverage == 1.0


def test_words_not_heard_are_interpolated_between_their_neighbours_by_characters() -> None:
    words = text_words("one three fours five")
    heard = _heard(("one", 1.0, 1.2), ("five", 2.2, 2.4))
    timed = align(words, heard, (0.0, 3.0)).words
    assert [w.heard for w in timed] == [True, False, False, True]
    # "three " and "fours " share the gap 1.2 .. 2.2 by their lengths (6 and 6 characters with the space)
    assert timed[1].start_s == pytest.approx(1.2) and timed[1].end_s == pytest.approx(1.7)
    assert timed[2].start_s == pytest.approx(1.7) and timed[2].end_s == pytest.approx(2.2)


def test_unheard_edges_stretch_to_the_span_and_times_never_go_back() -> None:
    words = text_words("first middle last")
    timed = align(words, _heard(("middle", 1.0, 1.5)), (0.4, 2.5)).words
    assert timed[0].start_s == pytest.approx(0.4) and timed[0].end_s == pytest.approx(1.0)
    assert timed[2].start_s == pytest.approx(1.5) and timed[2].end_s == pytest.approx(2.5)
    nothing = align(words, [], (0.0, 1.8)).words  # nothing heard: the span shared by characters
    assert nothing[0].start_s == 0.0 and nothing[-1].end_s == pytest.approx(1.8)
    starts = [w.start_s for w in nothing]
    assert starts == sorted(starts)


def test_a_misheard_word_and_an_extra_one_do_not_shift_the_rest() -> None:
    words = text_words("Alice was beginning to get very tired")
    heard = _heard(
        ("this", 0.0, 0.2),  # "Alice" misheard
        ("was", 0.2, 0.4),
        ("beginning", 0.4, 0.9),
        ("uh", 0.9, 1.0),  # heard, not in the text
        ("to", 1.0, 1.1),
        ("get", 1.1, 1.3),
        ("very", 1.3, 1.5),
        ("tire", 1.5, 1.8),  # near enough to "tired"
    )
    alignment = align(words, heard, (0.0, 2.0))
    assert [w.heard for w in alignment.words] == [False, True, True, True, True, True, True]
    assert alignment.words[3].start_s == 1.0  # "to" is the heard "to", not the extra word
    assert alignment.heard == 6 and alignment.countable == 7


def test_numbers_are_timed_but_not_counted() -> None:
    alignment = align(text_words("In 1865 it rained"), _heard(("in", 0, 0.1), ("it", 0.9, 1.0)), (0, 1.5))
    assert alignment.countable == 3 and alignment.heard == 2
    assert len(alignment.words) == 4


def test_sentences_end_at_sentence_punctuation() -> None:
    words = text_words('"Oh dear!" said the Rabbit. It ran off')
    assert sentence_spans(words) == [(0, 2), (2, 5), (5, 8)]
    assert sentence_spans([]) == []
