"""Chunks become a chapter's heading and paragraphs of sentences, each sentence timed, each matched word too."""

from __future__ import annotations

import pytest

from voxbatch.readalong.layout import ChapterText, ChunkHints, Sentence, Word, lay_out
from voxbatch.readalong.timing import BookTiming, ReadalongError, TimedChunk, TimedWord


def _chunk(index: int, chapter: int, text: str, start_s: float, words: bool = True) -> TimedChunk:
    tokens = text.split()
    timed = tuple(TimedWord(t.strip('".,!?'), start_s + 0.5 * n, start_s + 0.5 * n + 0.4) for n, t in enumerate(tokens))
    return TimedChunk(index, chapter, text, start_s, start_s + 0.5 * len(tokens), timed if words else ())


def _plain(sentence: Sentence) -> str:
    return "".join(part.text if isinstance(part, Word) else part for part in sentence.parts)


def _shape(chapter: ChapterText) -> list[tuple[bool, list[str]]]:
    return [(block.heading, [_plain(s) for s in block.sentences]) for block in chapter.blocks]


BOOK = BookTiming(
    "book.mp3",
    30.0,
    (
        _chunk(0, 0, "CHAPTER I.\n\nThe Door", 0.5),
        _chunk(1, 0, "Anna opened the door. It was dark.\n\nShe went", 3.0),
        _chunk(2, 0, "in. Nobody answered.", 8.0),
        _chunk(3, 1, "Second chapter text, without a heading.", 12.0),
    ),
)


def test_without_hints_the_title_chunk_is_the_heading_and_chunks_end_paragraphs() -> None:
    first, second = lay_out(BOOK, ["CHAPTER I. The Door", "Two"], "en")
    assert _shape(first) == [
        (True, ["CHAPTER I.", "The Door"]),
        (False, ["Anna opened the door.", "It was dark."]),
        (False, ["She went"]),
        (False, ["in.", "Nobody answered."]),
    ]
    assert first.spoken_heading and not second.spoken_heading and second.title == "Two"
    assert [s.id for s in first.sentences][:3] == ["c1s1", "c1s2", "c1s3"] and second.sentences[0].id == "c2s1"


def test_hints_join_a_paragraph_cut_between_chunks() -> None:
    hints = {0: ChunkHints(heading=True), 1: ChunkHints(paragraph_after=False), 2: ChunkHints(), 3: ChunkHints()}
    first, _ = lay_out(BOOK, ["CHAPTER I. The Door", "Two"], "en", hints)
    assert _shape(first)[2] == (False, ["She went", "in.", "Nobody answered."])


def test_sentences_start_at_their_first_word_and_words_get_ids() -> None:
    first, _ = lay_out(BOOK, ["CHAPTER I. The Door", "Two"], "en")
    dark = first.sentences[3]
    assert _plain(dark) == "It was dark." and dark.start_s == 3.0 + 0.5 * 4 and dark.word_timed
    assert [(w.id, w.text) for w in dark.words] == [("c1s4w1", "It"), ("c1s4w2", "was"), ("c1s4w3", "dark.")]


def test_a_chunk_without_word_timing_is_placed_by_its_characters_within_the_chunk() -> None:
    timing = BookTiming("b.mp3", 20.0, (TimedChunk(0, 0, "Aaaa aaaa. Bbbb bbbb.", 2.0, 12.0),))
    (chapter,) = lay_out(timing, ["T"], "en")
    first, second = chapter.sentences
    assert (first.start_s, first.word_timed, first.words) == (2.0, False, ())
    assert second.start_s == pytest.approx(2.0 + 11 / 21 * 10.0)


def test_shown_text_replaces_the_text_sent_and_unmatched_words_stay_plain() -> None:
    timing = BookTiming("b.mp3", 9.0, (_chunk(0, 0, "Doctor Who smiled.", 1.0),))
    (chapter,) = lay_out(timing, ["T"], "en", {0: ChunkHints(shown="Dr. Who smiled.")})
    (sentence,) = chapter.sentences
    assert sentence.parts[0] == "Dr. " and [w.text for w in sentence.words] == ["Who", "smiled."]
    assert not sentence.word_timed and sentence.start_s == 1.0


def test_verse_lines_stay_in_one_paragraph_and_the_chapters_must_match_the_titles() -> None:
    timing = BookTiming("b.mp3", 9.0, (_chunk(0, 0, "How doth the little crocodile\nImprove his shining tail", 1.0),))
    (chapter,) = lay_out(timing, ["T"], "en")
    assert _shape(chapter) == [(False, ["How doth the little crocodile", "Improve his shining tail"])]
    assert [s.new_line for s in chapter.sentences] == [False, True]
    with pytest.raises(ReadalongError, match=r"the timing has 1 chapters but chapters\.json names 2"):
        lay_out(timing, ["T", "U"], "en")
