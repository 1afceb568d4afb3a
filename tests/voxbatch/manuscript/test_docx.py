"""DOCX: chapters from Heading styles, else from the text; title and author from the core properties."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.voxbatch.manuscript.factory import ALICE_CHAPTER_TITLES, write_docx
from voxbatch.manuscript.book import ManuscriptError
from voxbatch.manuscript.docx import read_docx

ALICE_DOCX = REPO_ROOT / "tests" / "data" / "carroll-alice.docx"
PROSE = "The wind rose over the hill, and the old house creaked in every beam as the night came on. " * 3


def test_alice_chapters_come_from_the_text_rules_when_styles_say_nothing() -> None:
    book = read_docx(ALICE_DOCX)
    body = [s for s in book.sections if s.matter == "body"]
    assert [s.title for s in body] == ALICE_CHAPTER_TITLES
    assert (book.title, book.author) == ("Alice’s Adventures in Wonderland", "Lewis Carroll")
    # The PG header (its marker has no asterisks here), the title page and contents list, and the licence.
    assert [(s.matter, s.title) for s in book.sections if s.matter != "body"] == [
        ("front", "Project Gutenberg header"),
        ("front", None),
        ("back", "Project Gutenberg licence"),
    ]


def test_heading_styles_make_the_chapters_and_the_title_is_no_chapter(tmp_path: Path) -> None:
    path = write_docx(
        tmp_path / "styled.docx",
        [
            ("Title", "The Hill House"),
            ("Heading 1", "The Hill House"),
            ("Normal", "A novel."),
            ("Heading 2", "The Arrival"),
            ("Normal", PROSE),
            ("Heading 3", "A Section Heading"),
            ("Normal", PROSE),
            ("Heading 2", "The Storm"),
            ("Normal", PROSE),
        ],
        title="The Hill House",
        author="Jo Writer",
    )
    book = read_docx(path)
    assert [(s.matter, s.title) for s in book.sections] == [
        ("front", None),  # title, title heading and byline
        ("body", "The Arrival"),
        ("body", "The Storm"),
    ]
    assert book.sections[1].paragraphs[1] == "A Section Heading"  # a lower heading is read as a paragraph
    assert (book.title, book.author) == ("The Hill House", "Jo Writer")


def test_a_document_without_headings_is_one_untitled_section(tmp_path: Path) -> None:
    book = read_docx(write_docx(tmp_path / "plain.docx", [("Normal", PROSE), ("Normal", PROSE)]))
    assert [(s.matter, s.title, len(s.paragraphs)) for s in book.sections] == [("body", None, 2)]
    assert book.title is None


def test_a_damaged_document_is_refused(tmp_path: Path) -> None:
    path = write_docx(tmp_path / "x.docx", [("Normal", "x")])
    data = path.read_bytes().replace(b"word/document.xml", b"word/documenX.xml")
    path.write_bytes(data)
    with pytest.raises(ManuscriptError, match=r"is a damaged Word document \(\.docx\)"):
        read_docx(path)
