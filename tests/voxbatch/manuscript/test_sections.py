"""The chapter rules shared by every format: table of contents, headings, text rules, and what is not a chapter."""

from __future__ import annotations

from voxbatch.manuscript.book import Block
from voxbatch.manuscript.sections import build_sections

PROSE = "The rain fell on the roofs of the town all night, and in the morning the river had risen to the bridge."


def test_a_table_of_contents_with_one_entry_says_nothing_and_headings_decide() -> None:
    blocks = [Block("One", 1), Block(PROSE), Block("Two", 1), Block(PROSE)]
    assert [s.title for s in build_sections(blocks, starts=[(0, "Start")])] == ["One", "Two"]
    assert [s.title for s in build_sections(blocks, starts=[(0, "A"), (2, "B")])] == ["A", "B"]


def test_the_top_repeated_heading_level_makes_the_chapters() -> None:
    blocks = [Block("Book", 1), Block("One", 2), Block(PROSE), Block("Scene", 3), Block(PROSE), Block("Two", 2)]
    blocks.append(Block(PROSE))
    sections = build_sections(blocks, book_title="Book")
    assert [(s.matter, s.title) for s in sections] == [("front", None), ("body", "One"), ("body", "Two")]
    assert sections[1].paragraphs == (PROSE, "Scene", PROSE)


def test_a_title_without_text_is_read_before_what_follows() -> None:
    blocks = [Block("Part One", 1), Block("One", 1), Block(PROSE), Block("Two", 1), Block(PROSE)]
    sections = build_sections(blocks)
    assert [s.title for s in sections] == ["One", "Two"]
    assert sections[0].paragraphs == ("Part One", PROSE)


def test_untitled_text_before_the_first_chapter_is_a_chapter_when_it_is_prose() -> None:
    preface = [Block(PROSE) for _ in range(8)]
    chapters = [Block("CHAPTER I."), Block(PROSE * 3), Block("CHAPTER II."), Block(PROSE * 3)]
    with_preface = build_sections(preface + chapters, book_title="Rain")
    assert [(s.matter, s.title) for s in with_preface] == [
        ("body", None),
        ("body", "CHAPTER I."),
        ("body", "CHAPTER II."),
    ]
    title_page = build_sections([Block("RAIN"), Block("by A. Writer"), *chapters], book_title="Rain")
    assert [(s.matter, s.title) for s in title_page] == [
        ("front", None),
        ("body", "CHAPTER I."),
        ("body", "CHAPTER II."),
    ]


def test_a_book_without_chapters_is_one_untitled_section() -> None:
    sections = build_sections([Block(PROSE), Block(PROSE)])
    assert [(s.matter, s.title, len(s.paragraphs)) for s in sections] == [("body", None, 2)]
