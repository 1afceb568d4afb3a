"""PDF with a text layer: chapters from the outline (bookmarks), else from the text; metadata from the document info.

The text comes from pypdf's text layer, line by line with positions, and becomes paragraphs without running
headers, footers and page numbers (:mod:`voxbatch.manuscript.pdf_layout`). Chapters begin where the outline's
entries point (nested entries included), titled as the outline titles them; a PDF without an outline is chaptered
by the text rules (:mod:`voxbatch.manuscript.sections`).

Refused, each with a reason that says so: a PDF that needs a password (one that opens without a password is read),
a PDF without a text layer (scanned pages are images; run OCR first), and a PDF pypdf cannot parse.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
from pypdf.errors import DependencyError, PyPdfError
from pypdf.generic import DictionaryObject

from voxbatch.manuscript.book import Block, Manuscript, ManuscriptError
from voxbatch.manuscript.pdf_layout import (
    PdfLine,
    PdfParagraph,
    lines_from_runs,
    paragraphs,
    without_headers_and_footers,
)
from voxbatch.manuscript.repair import repair_text
from voxbatch.manuscript.sections import build_sections

TEXT_LAYER_MIN_CHARS_PER_PAGE = 20  # letters and digits per page, on average, below which the pages are scans
MAX_OUTLINE_DEPTH = 8
Y_TOLERANCE_PT = 2.0  # an outline entry's top matches a line this close to it
_PLACEHOLDER_TITLE_RE = re.compile(r"(?:microsoft word - .*|.*\.(?:docx?|pdf|txt|rtf|odt|html?)|untitled.*)", re.I)
_PARSE_ERRORS = (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, AssertionError, zlib.error)

logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged PDF is reported as a row error, not a log flood


def _open(path: Path) -> pypdf.PdfReader:
    try:
        reader = pypdf.PdfReader(path, strict=False)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" only to restrict printing: they open with an empty password.
            try:
                opened = reader.decrypt("")
            except DependencyError:
                opened = pypdf.PasswordType.NOT_DECRYPTED
            if opened == pypdf.PasswordType.NOT_DECRYPTED:
                raise ManuscriptError("is an encrypted PDF document that needs a password; remove the password first")
        len(reader.pages)
    except ManuscriptError:
        raise
    except _PARSE_ERRORS as exc:
        raise ManuscriptError(f"is a damaged PDF document pypdf cannot read ({exc})") from exc
    return reader


def _page_lines(reader: pypdf.PdfReader) -> tuple[list[list[PdfLine]], list[tuple[float, float]]]:
    pages: list[list[PdfLine]] = []
    heights: list[tuple[float, float]] = []
    for number, page in enumerate(reader.pages):
        runs: list[tuple[str, Any, Any, float]] = []

        def visit(text: str, cm: Any, tm: Any, _font: Any, size: float, runs: list[Any] = runs) -> None:
            runs.append((text, cm, tm, size))

        page.extract_text(visitor_text=visit)
        pages.append(lines_from_runs(runs, number))
        box = page.cropbox
        heights.append((float(box.bottom), float(box.top)))
    return pages, heights


def _flatten(outline: Any, depth: int = 0) -> Iterator[Any]:
    for item in outline:
        if isinstance(item, list):
            if depth < MAX_OUTLINE_DEPTH:
                yield from _flatten(item, depth + 1)
        else:
            yield item


def _starts(reader: pypdf.PdfReader, found: list[PdfParagraph]) -> list[tuple[int, str]]:
    """(paragraph index, title) of the outline's entries: the first paragraph at or below where each points."""
    starts = []
    for entry in _flatten(reader.outline):
        title = " ".join(str(entry.title or "").split())
        page = reader.get_destination_page_number(entry)
        if not title or page is None or page < 0:
            continue
        top = entry.top if isinstance(entry.top, int | float) else None
        for index, paragraph in enumerate(found):
            same_page = paragraph.page == page and (top is None or paragraph.y <= float(top) + Y_TOLERANCE_PT)
            if same_page or paragraph.page > page:
                starts.append((index, repair_text(title)))
                break
    return starts


def _metadata(reader: pypdf.PdfReader) -> tuple[str | None, str | None, str | None]:
    info = reader.metadata
    title = " ".join(str(info.title or "").split()) if info is not None else ""
    author = " ".join(str(info.author or "").split()) if info is not None else ""
    root = reader.trailer["/Root"].get_object()
    language = root.get("/Lang") if isinstance(root, DictionaryObject) else None
    title = "" if _PLACEHOLDER_TITLE_RE.fullmatch(title) else title
    return repair_text(title) or None, repair_text(author) or None, str(language).strip() if language else None


def read_pdf(path: Path) -> Manuscript:
    """A PDF's text layer as a manuscript (see the module docstring)."""
    reader = _open(path)
    try:
        pages, heights = _page_lines(reader)
        title, author, language = _metadata(reader)
        characters = sum(ch.isalnum() for page in pages for line in page for ch in line.text)
        if characters < TEXT_LAYER_MIN_CHARS_PER_PAGE * max(len(pages), 1):
            raise ManuscriptError(
                f"is a PDF document without a text layer ({characters} letters in {len(pages)} "
                f"page{'' if len(pages) == 1 else 's'}: scanned images?); run OCR on it (e.g. ocrmypdf) first"
            )
        found = paragraphs(without_headers_and_footers(pages, heights))
        blocks = [Block(repair_text(p.text)) for p in found]
        starts = _starts(reader, found)
    except ManuscriptError:
        raise
    except _PARSE_ERRORS as exc:
        raise ManuscriptError(f"is a damaged PDF document pypdf cannot read ({exc})") from exc
    sections = build_sections(blocks, starts=starts, book_title=title)
    return Manuscript("pdf", sections=sections, title=title, author=author, language=language)
