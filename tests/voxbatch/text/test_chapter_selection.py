"""Chapter selections: numbers count body chapters, titles pick one chapter each, and mistakes say what exists."""

from __future__ import annotations

import pytest

from voxbatch.text.chapter_selection import (
    ChapterSelection,
    ChapterSelectionError,
    parse_selection,
    select_chapters,
)

TITLES = ["Front matter", "CHAPTER I. Down the Rabbit-Hole", "CHAPTER II. The Pool of Tears", "CHAPTER III. A Race"]
NUMBERS = [None, 1, 2, 3]


def test_numbers_ranges_and_titles_parse() -> None:
    assert parse_selection("") == ChapterSelection()
    assert parse_selection("1-3, 7") == ChapterSelection(((1, 3), (7, 7)), ())
    assert parse_selection("Rabbit-Hole; 2") == ChapterSelection(((2, 2),), ("Rabbit-Hole",))
    for bad in ("0", "3-1", "0-2"):
        with pytest.raises(ChapterSelectionError, match="not a chapter range"):
            parse_selection(bad)


def test_numbers_count_body_chapters_only() -> None:
    assert select_chapters(parse_selection("1"), TITLES, NUMBERS) == {1}  # the front matter has no number
    assert select_chapters(parse_selection("2-3"), TITLES, NUMBERS) == {2, 3}
    assert select_chapters(parse_selection(""), TITLES, NUMBERS) == {0, 1, 2, 3}  # empty: everything, matter too


def test_titles_pick_one_chapter_each_case_insensitively() -> None:
    assert select_chapters(parse_selection("pool of tears"), TITLES, NUMBERS) == {2}
    assert select_chapters(parse_selection("Front matter, 3"), TITLES, NUMBERS) == {0, 3}
    with pytest.raises(ChapterSelectionError, match=r"'CHAPTER' fits 3 chapters"):
        select_chapters(parse_selection("CHAPTER"), TITLES, NUMBERS)
    with pytest.raises(ChapterSelectionError, match=r"no chapter is titled 'Lobster'; the chapters are 'Front matter'"):
        select_chapters(parse_selection("Lobster"), TITLES, NUMBERS)


def test_a_chapter_past_the_end_names_the_count() -> None:
    with pytest.raises(ChapterSelectionError, match="chapter 2-4 is past the book's 3 chapters"):
        select_chapters(parse_selection("2-4"), TITLES, NUMBERS)
