"""Timed words are found in the chunk's text by their letters, in order, and every character gets a time."""

from __future__ import annotations

import pytest

from voxbatch.readalong.align import ChunkClock, align_words
from voxbatch.readalong.timing import TimedWord


def _words(*pairs: tuple[str, float]) -> list[TimedWord]:
    return [TimedWord(text, start, start + 0.1) for text, start in pairs]


def _starts(text: str, words: list[TimedWord]) -> list[tuple[str, float | None]]:
    return [(text[t.start : t.end], t.start_s) for t in align_words(text, words)]


def test_words_match_tokens_whatever_their_case_and_punctuation() -> None:
    text = '"Oh dear!" said the RABBIT.'
    words = _words(("oh", 1.0), ("Dear", 1.2), ("said", 1.5), ("the", 1.7), ("rabbit", 1.8))
    assert _starts(text, words) == [('"Oh', 1.0), ('dear!"', 1.2), ("said", 1.5), ("the", 1.7), ("RABBIT.", 1.8)]


def test_a_word_split_in_two_times_its_token_by_its_first_part() -> None:
    assert _starts("I don't know", _words(("I", 0.0), ("don", 0.3), ("t", 0.5), ("know", 0.6))) == [
        ("I", 0.0),
        ("don't", 0.3),
        ("know", 0.6),
    ]


def test_a_word_the_text_lacks_is_left_out_and_matching_goes_on() -> None:
    text = "In 1865 Alice fell."
    words = _words(("In", 0.0), ("eighteen", 0.2), ("sixty", 0.5), ("five", 0.7), ("Alice", 1.0), ("fell", 1.3))
    assert _starts(text, words) == [("In", 0.0), ("1865", None), ("Alice", 1.0), ("fell.", 1.3)]


def test_a_word_found_only_far_ahead_is_not_taken() -> None:
    text = "Cats sleep. " + "Dogs bark loudly all day long. " * 3 + "A zebra."
    tokens = align_words(text, _words(("Cats", 0.0), ("zebra", 0.4)))
    assert [t.start_s for t in tokens if t.start_s is not None] == [0.0]


def test_the_clock_is_exact_at_words_and_interpolates_between_known_points() -> None:
    text = "aaaa bbbb cccc"
    tokens = align_words(text, _words(("aaaa", 1.0), ("cccc", 3.0)))
    clock = ChunkClock(text, 0.5, 4.0, tokens)
    assert clock.time_at(0) == 1.0 and clock.time_at(10) == 3.0  # a word at char 0 wins over the chunk's start
    assert clock.time_at(5) == pytest.approx(1.0 + 5 / 10 * 2.0)
    assert clock.time_at(len(text)) == 4.0


def test_the_clock_never_runs_backwards() -> None:
    text = "one two three"
    tokens = align_words(text, _words(("one", 2.0), ("two", 1.0), ("three", 2.5)))
    clock = ChunkClock(text, 0.0, 3.0, tokens)
    times = [clock.time_at(c) for c in range(len(text) + 1)]
    assert times == sorted(times) and clock.time_at(4) == 2.0
