"""Clips tile the book: from 0 to the audio's end, each from its text's start to the next one's, in milliseconds."""

from __future__ import annotations

import pytest

from voxbatch.readalong.clips import Clip, clock, targets, tile
from voxbatch.readalong.layout import Block, ChapterText, Sentence, Word
from voxbatch.readalong.timing import ReadalongError


def test_clips_run_from_zero_to_the_end_without_gaps_and_chapters_split_them() -> None:
    clips = tile([[("a", 0.5), ("b", 2.0)], [("c", 5.25)]], 8.0004)
    assert clips == [[Clip("a", 0, 2000), Clip("b", 2000, 5250)], [Clip("c", 5250, 8000)]]
    assert sum(c.duration_ms for chapter in clips for c in chapter) == 8000


def test_colliding_or_backward_times_are_pushed_a_millisecond_apart() -> None:
    (clips,) = tile([[("a", 0.0), ("b", 1.0), ("c", 1.0), ("d", 0.9), ("e", 9.9999)]], 10.0)
    assert [(c.begin_ms, c.end_ms) for c in clips] == [
        (0, 1000),
        (1000, 1001),
        (1001, 1002),
        (1002, 9999),
        (9999, 10000),
    ]


def test_more_clips_than_milliseconds_or_no_text_is_refused() -> None:
    with pytest.raises(ReadalongError, match=r"3 clips cannot fit in 0\.002 s"):
        tile([[("a", 0.0), ("b", 0.0), ("c", 0.0)]], 0.002)
    with pytest.raises(ReadalongError, match="no text"):
        tile([[]], 1.0)


def test_word_granularity_splits_only_sentences_with_every_word_timed() -> None:
    timed = Sentence("s1", (Word("s1w1", "Hi", 1.1), " ", Word("s1w2", "there.", 1.5)), 1.0, word_timed=True)
    partly = Sentence("s2", ("Dr. ", Word("s2w1", "Who.", 2.5)), 2.0, word_timed=False)
    chapter = ChapterText(1, "T", (Block(False, (timed, partly)),))
    assert targets(chapter, "sentence") == [("s1", 1.0), ("s2", 2.0)]
    assert targets(chapter, "word") == [("s1w1", 1.0), ("s1w2", 1.5), ("s2", 2.0)]


@pytest.mark.parametrize(("ms", "text"), [(0, "0:00:00.000"), (61_005, "0:01:01.005"), (3_723_500, "1:02:03.500")])
def test_clock_values(ms: int, text: str) -> None:
    assert clock(ms) == text
