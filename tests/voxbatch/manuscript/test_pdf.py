"""PDF: text layer read without running headers, footers and page numbers; hyphenation rejoined; outline chapters.

The real excerpt of Robinson Crusoe (a PG HTML page printed to PDF) has no outline: its chapters come from the text.
The synthetic "Keeper's Log" has a running header, a footer and page numbers on every page, a word hyphenated
across a page break and one across a line break, and (in one variant) an outline.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.voxbatch.manuscript.factory import PdfText, pdf_bytes, rewrite_pdf
from voxbatch.manuscript.book import Manuscript, ManuscriptError
from voxbatch.manuscript.pdf import read_pdf

CRUSOE_PDF = REPO_ROOT / "tests" / "data" / "defoe-robinson-crusoe-excerpt.pdf"
HEADER = "THE KEEPER'S LOG - A NOVEL"

KEEPER_PAGES = [
    [
        ("h1", "Chapter 1"),
        ("h2", "The Storm"),
        ("first", "The storm came in from the west at dusk, and the keeper climbed the"),
        ("line", "stairs with his lamp. The glass was cold under his hands, and the"),
        ("line", "sea below was black and loud. He trimmed the wick and waited for the"),
        ("line", "flame to catch, as he had done every night for eleven years."),
        ("first", "Far out, a ship was fighting the waves. He could see her lamps rise"),
        ("line", "and fall, and he knew that the captain was watching for the light-"),
    ],
    [
        ("line", "house beam as a child watches for the morning. The keeper wound the"),
        ("line", "clockwork that turned the great lens and counted the seconds."),
        ("h1", "Chapter 2"),
        ("h2", "The Rescue"),
        ("first", "By midnight the ship had found the channel. The keeper heard her horn"),
        ("line", "twice, long and low, and he answered with the bell. The crew would be"),
        ("line", "safe in the harbour before dawn, and the town would never know how"),
        ("line", "close they had come to the rocks below the cliff."),
    ],
    [
        ("first", "In the morning he wrote the night into his log in a careful hand, as"),
        ("line", "the rules required, and then he slept while the afternoon con-"),
        ("line", "tinued its slow turn towards evening and the tide went out."),
        ("h1", "Chapter 3"),
        ("h2", "The Letter"),
        ("first", "A letter came on the supply boat a week later. The captain thanked"),
        ("line", "him for the light and sent a barrel of apples and a new book."),
    ],
    [
        ("first", "The keeper read the book by the lamp through the long winter, and he"),
        ("line", "kept the letter in the drawer with the log, where it stayed for years"),
        ("line", "after he had gone, until the next keeper found it and read it too."),
    ],
]


def keeper_pdf() -> bytes:
    """Four pages, each with a running header, a top page number and a "Page N of 4" footer."""
    pages = []
    for number, lines in enumerate(KEEPER_PAGES, start=1):
        drawn = [PdfText(220, 752, HEADER, 9), PdfText(540, 770, str(number), 9)]
        y = 700.0
        for kind, text in lines:
            if kind == "h1":
                drawn.append(PdfText(260, y, text, 16))
                y -= 24
            elif kind == "h2":
                drawn.append(PdfText(250, y, text, 13))
                y -= 30
            else:
                drawn.append(PdfText(90 if kind == "first" else 72, y, text))
                y -= 14
        drawn.append(PdfText(270, 40, f"Page {number} of {len(KEEPER_PAGES)}", 9))
        pages.append(drawn)
    return pdf_bytes(pages, title="The Keeper's Log")


def _read(tmp_path: Path, data: bytes, name: str = "book.pdf") -> Manuscript:
    path = tmp_path / name
    path.write_bytes(data)
    return read_pdf(path)


def _words(book: Manuscript) -> str:
    return " ".join(p for s in book.sections for p in s.paragraphs)


def test_headers_footers_and_page_numbers_are_gone_and_hyphens_rejoined(tmp_path: Path) -> None:
    book = _read(tmp_path, keeper_pdf())
    assert [(s.matter, s.title) for s in book.sections] == [
        ("body", "Chapter 1: The Storm"),
        ("body", "Chapter 2: The Rescue"),
        ("body", "Chapter 3: The Letter"),
    ]
    words = _words(book)
    assert "KEEPER'S LOG" not in words and "Page " not in words
    assert not any(p.strip().isdigit() for s in book.sections for p in s.paragraphs)
    assert "watching for the lighthouse beam" in words  # across a page break
    assert "the afternoon continued its slow turn" in words  # across a line break
    assert book.sections[0].paragraphs == (
        "The storm came in from the west at dusk, and the keeper climbed the stairs with his lamp. The glass was "
        "cold under his hands, and the sea below was black and loud. He trimmed the wick and waited for the flame "
        "to catch, as he had done every night for eleven years.",
        "Far out, a ship was fighting the waves. He could see her lamps rise and fall, and he knew that the captain "
        "was watching for the lighthouse beam as a child watches for the morning. The keeper wound the clockwork "
        "that turned the great lens and counted the seconds.",
    )
    assert book.title == "The Keeper's Log"


def test_the_outline_gives_the_chapters_nested_entries_included(tmp_path: Path) -> None:
    outline = [
        ("Part One", 0, None, [("Chapter 1: The Storm", 0, None), ("Chapter 2: The Rescue", 1, 660.0)]),
        ("Part Two", 2, 660.0, [("Chapter 3: The Letter", 2, 660.0)]),
    ]
    book = _read(tmp_path, rewrite_pdf(keeper_pdf(), outline=outline))
    assert [s.title for s in book.sections] == [
        "Chapter 1: The Storm",
        "Chapter 2: The Rescue",
        "Chapter 3: The Letter",
    ]
    assert book.sections[0].paragraphs[0].startswith("The storm came in")  # "Chapter 1" / "The Storm" not repeated
    assert book.sections[1].paragraphs[-1].startswith("In the morning he wrote")  # page 3, above chapter 3's top
    assert book.sections[2].paragraphs[0].startswith("A letter came")


def test_the_real_excerpt_reads_its_chapters_from_the_text() -> None:
    book = read_pdf(CRUSOE_PDF)
    assert [(s.matter, s.title) for s in book.sections] == [
        ("front", "Project Gutenberg header"),
        ("front", None),  # title page and the contents list
        ("body", "CHAPTER I. START IN LIFE"),
        ("body", "CHAPTER XIII. WRECK OF A SPANISH SHIP"),
        ("back", "Project Gutenberg licence"),
    ]
    chapter_1 = book.sections[2]
    assert chapter_1.paragraphs[0].startswith("I was born in the year 1632, in the city of York, of a good family")
    assert "  " not in _words(book)


def test_a_scanned_pdf_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManuscriptError, match=r"^is a PDF document without a text layer \(0 letters in 2 pages"):
        _read(tmp_path, pdf_bytes([[], []], image_pages=frozenset({0, 1})))


def test_a_pdf_that_needs_a_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManuscriptError, match=r"^is an encrypted PDF document that needs a password"):
        _read(tmp_path, rewrite_pdf(keeper_pdf(), user_password="secret"))


def test_a_pdf_that_opens_without_a_password_is_read(tmp_path: Path) -> None:
    book = _read(tmp_path, rewrite_pdf(keeper_pdf(), user_password=""))
    assert len(book.sections) == 3


def test_a_damaged_pdf_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManuscriptError, match=r"^is a damaged PDF document"):
        _read(tmp_path, b"%PDF-1.4\n" + b"garbage " * 50)
