"""DOCX (Word, LibreOffice, Google Docs, pandoc): chapters from Heading styles, else the text rules.

Paragraphs and table rows are read in document order; footnote and endnote references are not text in a
paragraph, so they are never read aloud. A paragraph's heading level comes from its style: ``Heading 1`` ... ``Heading
6``, or a custom style based on one of them; the ``Title`` style is the document's title heading, never a chapter.
The chapter level is the top heading level that occurs more than once; a document whose headings never repeat (the
public-domain Alice of ``../shared/data`` has a single ``Heading 1``, its title, and its ``CHAPTER I.`` headings as
plain paragraphs) is chaptered by the text rules (:mod:`voxbatch.manuscript.sections`). Title, author and language
come from the document's core properties.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from lxml import etree

from voxbatch.manuscript.book import Block, Manuscript, ManuscriptError
from voxbatch.manuscript.repair import repair_text
from voxbatch.manuscript.sections import build_sections

HEADING_LEVELS = (1, 2, 3, 4, 5, 6)
TITLE_LEVEL = 0
MAX_STYLE_BASES = 5  # how far a custom style's "based on" chain is followed
_HEADING_STYLE_RE = re.compile(r"heading\s*([1-6])", re.IGNORECASE)


def _level(paragraph: Any) -> int | None:
    """The heading level of a paragraph by its style (or the style it is based on), None for body text."""
    style = paragraph.style
    for _ in range(MAX_STYLE_BASES):
        if style is None:
            return None
        name = (style.name or "").strip()
        if name.lower() == "title":
            return TITLE_LEVEL
        match = _HEADING_STYLE_RE.fullmatch(name)
        if match is not None:
            return int(match[1])
        style = style.base_style
    return None


def _table_blocks(table: Table) -> list[Block]:
    blocks = []
    for row in table.rows:
        seen: set[int] = set()
        cells = []
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is repeated once per grid column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(p.text for p in cell.paragraphs))
        text = " ".join(" ".join(cells).split())
        if text:
            blocks.append(Block(repair_text(text)))
    return blocks


def _blocks(document: Any) -> list[Block]:
    blocks: list[Block] = []
    for part in document.iter_inner_content():
        if isinstance(part, Table):
            blocks.extend(_table_blocks(part))
            continue
        text = " ".join(part.text.split())
        if text:
            blocks.append(Block(repair_text(text), _level(part)))
    return blocks


def read_docx(path: Path) -> Manuscript:
    """A Word document (see the module docstring); raises :class:`ManuscriptError` for a damaged one."""
    try:
        document = docx.Document(str(path))
        blocks = _blocks(document)
        properties = document.core_properties
        title, author, language = properties.title, properties.author, properties.language
    except (PackageNotFoundError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, etree.XMLSyntaxError) as exc:
        raise ManuscriptError(f"is a damaged Word document (.docx): {exc}") from exc
    title = repair_text(title.strip()) if title and title.strip() else None
    sections = build_sections(blocks, heading_levels=HEADING_LEVELS, book_title=title)
    return Manuscript(
        "docx",
        sections=sections,
        title=title,
        author=repair_text(author.strip()) if author and author.strip() else None,
        language=language.strip() if language and language.strip() else None,
    )
