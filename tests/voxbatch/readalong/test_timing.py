"""words.json and chapters.json are read into a book's timing, and every malformed entry is named in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from voxbatch.readalong.timing import ReadalongError, load_book_timing, load_chapter_titles, parse_book_timing


def _document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "version": 1,
        "audio": "book.mp3",
        "duration_s": 10.0,
        "chunks": [
            {"index": 0, "chapter": 0, "text": "One two.", "start_s": 0.5, "end_s": 2.0},
            {"index": 2, "chapter": 1, "text": "Three.", "start_s": 4.0, "end_s": 5.0},
        ],
        "words": [
            {"text": "One", "start_s": 0.5, "end_s": 1.0, "chapter": 0, "chunk": 0},
            {"text": "two", "start_s": 1.2, "end_s": 2.0, "chapter": 0, "chunk": 0},
            {"text": "Three", "start_s": 4.0, "end_s": 5.0, "chapter": 1, "chunk": 2},
        ],
    }
    document.update(changes)
    return document


def test_chunks_get_their_words_and_chapters_group_them() -> None:
    timing = parse_book_timing(_document())
    assert (timing.audio, timing.duration_s) == ("book.mp3", 10.0)
    assert [w.text for w in timing.chunks[0].words] == ["One", "two"] and timing.chunks[1].words[0].start_s == 4.0
    assert [(chapter, [c.index for c in chunks]) for chapter, chunks in timing.chapters()] == [(0, [0]), (1, [2])]


def test_a_chunk_without_words_still_counts() -> None:
    assert parse_book_timing(_document(words=[])).chunks[0].words == ()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": 2}, "words.json: version must be 1; got 2"),
        ({"duration_s": "long"}, "words.json: duration_s must be a number of seconds >= 0; got 'long'"),
        ({"chunks": []}, "words.json: has no chunks"),
        ({"chunks": {"a": 1}}, "words.json: chunks must be a list of objects"),
        (
            {"chunks": [{"index": 0, "chapter": 0, "text": "x", "start_s": 2.0, "end_s": 1.0}]},
            "words.json: chunk 0: ends (1 s) before it starts (2 s)",
        ),
        (
            {"chunks": [{"index": 0, "chapter": 0, "text": "x", "start_s": 2.0, "end_s": 11.0}]},
            "words.json: chunk 0: ends at 11 s, after the book's end",
        ),
        (
            {
                "chunks": [
                    {"index": 1, "chapter": 0, "text": "x", "start_s": 0, "end_s": 1},
                    {"index": 1, "chapter": 0, "text": "y", "start_s": 1, "end_s": 2},
                ],
                "words": [],
            },
            "words.json: chunk 1: index 1 does not follow 1",
        ),
        (
            {
                "chunks": [
                    {"index": n, "chapter": chapter, "text": "x", "start_s": n, "end_s": n + 1}
                    for n, chapter in enumerate((0, 1, 0))
                ],
                "words": [],
            },
            "words.json: chunk 2: chapter 0 resumes after another chapter",
        ),
        (
            {"words": [{"text": "x", "start_s": 0, "end_s": 1, "chapter": 0, "chunk": 7}]},
            "words.json: word 0: chunk 7 is not one of the chunks",
        ),
        (
            {"words": [{"text": 3, "start_s": 0, "end_s": 1, "chapter": 0, "chunk": 0}]},
            "words.json: word 0: text must be text; got 3",
        ),
    ],
)
def test_malformed_documents_are_refused_in_one_line(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ReadalongError) as caught:
        parse_book_timing(_document(**changes))
    assert str(caught.value) == message


def test_files_are_read_and_unreadable_files_named(tmp_path: Path) -> None:
    (tmp_path / "b.words.json").write_text(json.dumps(_document()))
    (tmp_path / "b.chapters.json").write_text(json.dumps([{"title": "One", "start": 0, "end": 3}, {"title": "Two"}]))
    assert len(load_book_timing(tmp_path / "b.words.json").chunks) == 2
    assert load_chapter_titles(tmp_path / "b.chapters.json") == ["One", "Two"]
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ReadalongError, match=r"^bad.json cannot be read as JSON"):
        load_book_timing(tmp_path / "bad.json")
    with pytest.raises(ReadalongError, match=r"^none.json does not exist$"):
        load_chapter_titles(tmp_path / "none.json")
