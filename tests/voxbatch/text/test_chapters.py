"""Chapter detection: heading styles, titles on the next paragraph, TOCs, front matter, Markdown, and Alice."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from voxbatch.text.chapters import (
    FRONT_MATTER_TITLE,
    MIN_CHAPTER_BODY_CHARS,
    UNTITLED_CHAPTER_TITLE,
    Chapter,
    detect_chapters,
    layout_chapters,
)
from voxbatch.text.normalize import normalize_document, normalize_text

ALICE_PATH = Path(__file__).resolve().parents[2] / "data" / "carroll-alice.txt"
ALICE_TITLES = [
    "Chapter I: Down the Rabbit-Hole",
    "Chapter II: The Pool of Tears",
    "Chapter III: A Caucus-Race and a Long Tale",
    "Chapter IV: The Rabbit Sends in a Little Bill",
    "Chapter V: Advice from a Caterpillar",
    "Chapter VI: Pig and Pepper",
    "Chapter VII: A Mad Tea-Party",
    "Chapter VIII: The Queen's Croquet-Ground",
    "Chapter IX: The Mock Turtle's Story",
    "Chapter X: The Lobster Quadrille",
    "Chapter XI: Who Stole the Tarts?",
    "Chapter XII: Alice's Evidence",
]
# Comfortably more than MIN_CHAPTER_BODY_CHARS of text per chapter.
BODY = "It was a dark and stormy night, and the rain fell in torrents on the roofs. " * 6
assert len(BODY) > 2 * MIN_CHAPTER_BODY_CHARS


def assert_tiling(text: str, chapters: list[Chapter]) -> None:
    assert chapters[0].start == 0
    assert chapters[-1].end == len(text)
    for index, chapter in enumerate(chapters):
        assert chapter.index == index
        assert chapter.start <= chapter.end
    for before, after in itertools.pairwise(chapters):
        assert before.end == after.start


def titles(text: str, *, markdown: bool = False) -> list[str]:
    chapters = detect_chapters(text, markdown=markdown)
    assert_tiling(normalize_text(text, markdown=markdown), chapters)
    return [chapter.title for chapter in chapters]


# --- Alice ---------------------------------------------------------------------------------------------------


def test_alice_has_its_twelve_chapters_in_order() -> None:
    text = normalize_text(ALICE_PATH.read_text(encoding="utf-8"))
    chapters = detect_chapters(text)
    assert [chapter.title for chapter in chapters] == ALICE_TITLES
    assert_tiling(text, chapters)
    # The one-line title before chapter I is front matter merged into chapter 0; every other chapter starts at
    # its heading.
    assert text[: chapters[1].start].startswith("[Alice's Adventures in Wonderland")
    for chapter in chapters[1:]:
        assert text[chapter.start :].startswith("CHAPTER ")
    assert text[chapters[-1].start :].startswith("CHAPTER XII\n\nAlice's Evidence\n\n")


def test_alice_headings_span_the_title_paragraph() -> None:
    document = normalize_document(ALICE_PATH.read_text(encoding="utf-8"))
    layouts = layout_chapters(document)
    headings = [document.text[start:end] for start, end in (layout.heading or (0, 0) for layout in layouts)]
    assert headings[0] == "CHAPTER I. Down the Rabbit-Hole"
    assert headings[-1] == "CHAPTER XII\n\nAlice's Evidence"


# --- heading styles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "title"),
    [
        ("CHAPTER I.", "Chapter I"),
        ("Chapter 1", "Chapter 1"),
        ("CHAPTER XII", "Chapter XII"),
        ("Chapter One", "Chapter One"),
        ("      CHAPTER IV.", "Chapter IV"),
        ("CHAPTER I. Down the Rabbit-Hole", "Chapter I: Down the Rabbit-Hole"),
        ("Chapter 3: The Fall", "Chapter 3: The Fall"),
        ("CHAPTER I.\nDown the Rabbit-Hole", "Chapter I: Down the Rabbit-Hole"),
        ("CHAPTER I.\n\nDown the Rabbit-Hole", "Chapter I: Down the Rabbit-Hole"),
        ("   CHAPTER XI\n\n     Who Stole the Tarts?", "Chapter XI: Who Stole the Tarts?"),
        ("Prologue", "Prologue"),
    ],
)
def test_heading_styles(heading: str, title: str) -> None:
    text = f"{heading}\n\n{BODY}\n\nChapter 99\n\n{BODY}"
    assert titles(text) == [title, "Chapter 99"]


def test_a_first_sentence_is_not_taken_for_a_title() -> None:
    text = f"CHAPTER I\n\nIt rained.\n\n{BODY}\n\nCHAPTER II\n\n'Here!' cried Alice.\n\n{BODY}"
    assert titles(text) == ["Chapter I", "Chapter II"]


def test_prose_that_starts_with_chapter_is_not_a_heading() -> None:
    text = f"CHAPTER I\n\n{BODY}\n\nChapter 3 was the best part of the book, she thought.\n\n{BODY}"
    assert titles(text) == ["Chapter I"]


def test_bare_roman_numerals_are_headings_in_a_book_without_chapter_labels() -> None:
    text = f"I.\n\n{BODY}\n\nII\n\nThe Second Part\n\n{BODY}\n\nIII. The End\n\n{BODY}"
    assert titles(text) == ["Chapter I", "Chapter II: The Second Part", "Chapter III: The End"]


def test_bare_roman_numerals_are_sections_when_chapter_labels_exist() -> None:
    text = f"CHAPTER ONE\n\nI.\n\n{BODY}\n\nII.\n\n{BODY}\n\nCHAPTER TWO\n\n{BODY}"
    assert titles(text) == ["Chapter One", "Chapter Two"]


def test_chapters_start_at_their_heading_and_tile_the_text() -> None:
    text = normalize_text(f"CHAPTER I\n\n{BODY}\n\nCHAPTER II\n\n{BODY}")
    chapters = detect_chapters(text)
    assert text[chapters[1].start :].startswith("CHAPTER II")
    assert chapters[0].end == chapters[1].start
    assert text[chapters[0].start : chapters[0].end].endswith("\n\n")


def test_raw_plain_text_gives_offsets_into_its_normalized_form() -> None:
    raw = f"  CHAPTER I\n{BODY}\n\n\n\nCHAPTER II\n\n{BODY}"
    assert detect_chapters(raw) == detect_chapters(normalize_text(raw))


# --- tables of contents and front matter -----------------------------------------------------------------------


def test_a_table_of_contents_makes_no_empty_chapters() -> None:
    toc = "CONTENTS\n\nCHAPTER I. The Start\n\nCHAPTER II. The Middle\n\nCHAPTER III. The End\n\n"
    chapters_text = (
        f"CHAPTER I.\nThe Start\n\n{BODY}\n\nCHAPTER II\n\nThe Middle\n\n{BODY}\n\nCHAPTER III. The End\n\n{BODY}"
    )
    text = f"My Book\n\n{toc}{chapters_text}"
    chapters = detect_chapters(text)
    assert [c.title for c in chapters] == ["Chapter I: The Start", "Chapter II: The Middle", "Chapter III: The End"]
    # The short title page and TOC are front matter spoken at the start of chapter 0.
    assert normalize_text(text)[: chapters[1].start].startswith("My Book\n\nCONTENTS\n\nCHAPTER I. The Start")


def test_a_table_of_contents_with_blurbs_makes_no_empty_chapters() -> None:
    toc = "".join(f"CHAPTER {n}\n\nIn which something quite short happens to the hero.\n\n" for n in ("I", "II"))
    text = f"{toc}CHAPTER I\n\n{BODY}\n\nCHAPTER II\n\n{BODY}"
    assert titles(text) == ["Chapter I", "Chapter II"]


def test_a_run_together_table_of_contents_is_not_a_heading() -> None:
    toc = "CONTENTS\n\n CHAPTER I.     The Start\n CHAPTER II.    The Middle\n\n"
    text = f"{toc}CHAPTER I. The Start\n\n{BODY}\n\nCHAPTER II. The Middle\n\n{BODY}"
    assert titles(text) == ["Chapter I: The Start", "Chapter II: The Middle"]


def test_long_front_matter_is_its_own_chapter() -> None:
    preface = "PREFACE\n\n" + "This book was written over many years, and I thank everyone who helped. " * 10
    text = normalize_text(f"{preface}\n\nCHAPTER I\n\n{BODY}")
    chapters = detect_chapters(text)
    assert [c.title for c in chapters] == [FRONT_MATTER_TITLE, "Chapter I"]
    assert text[chapters[1].start :].startswith("CHAPTER I")
    assert_tiling(text, chapters)


def test_a_text_without_headings_is_one_chapter() -> None:
    assert titles("A Short Title\n\n" + BODY) == ["A Short Title"]
    assert titles(BODY) == ["It was a dark and stormy night, and..."]
    assert titles("") == [UNTITLED_CHAPTER_TITLE]
    assert detect_chapters(" \n\n ") == [Chapter(index=0, title=UNTITLED_CHAPTER_TITLE, start=0, end=0)]


def test_a_lone_short_chapter_heading_is_not_a_chapter() -> None:
    # The whole "chapter" is shorter than MIN_CHAPTER_BODY_CHARS: one untitled chapter, nothing dropped.
    assert titles("CHAPTER I\n\nThe end.") == ["CHAPTER I"]


# --- Markdown ------------------------------------------------------------------------------------------------


def test_markdown_uses_the_top_repeated_heading_level() -> None:
    text = f"# The Book\n\nIntro.\n\n## One\n\n{BODY}\n\n## Two\n\n{BODY}\n\n### A section\n\nMore."
    assert titles(text, markdown=True) == ["One", "Two"]


def test_markdown_top_level_chapters_and_empty_headings() -> None:
    text = "# Part One\n\n# Chapter 1\n\nShort but real.\n\n# Chapter 2\n\nAlso short."
    chapters = detect_chapters(text, markdown=True)
    # "Part One" has no text of its own before the next chapter heading: it is front matter of chapter 0.
    assert [c.title for c in chapters] == ["Chapter 1", "Chapter 2"]
    assert normalize_text(text, markdown=True)[: chapters[0].end].startswith("Part One\n\nChapter 1")


def test_markdown_single_heading_and_no_heading() -> None:
    assert titles("# Only Title\n\nSome text.", markdown=True) == ["Only Title"]
    text = f"CHAPTER I\n\n{BODY}\n\nCHAPTER II\n\n{BODY}"
    assert titles(text, markdown=True) == ["Chapter I", "Chapter II"]


def test_markdown_heading_text_is_cleaned() -> None:
    assert titles("## The [Fall](x.html) of *Rome*\n\nText.\n\n## Two\n\nText.", markdown=True) == [
        "The Fall of Rome",
        "Two",
    ]


def test_a_text_without_headings_is_named_after_the_book_when_its_title_is_given() -> None:
    text = "It was a dark and stormy night; the rain fell in torrents, except at occasional intervals."
    assert [c.title for c in detect_chapters(text, title="The Night")] == ["The Night"]
    assert [c.title for c in detect_chapters(f"# Storm\n\n{text}", markdown=True, title="The Night")] == ["Storm"]
    assert detect_chapters(text)[0].title.startswith("It was a dark and stormy night")  # no title: its first words
