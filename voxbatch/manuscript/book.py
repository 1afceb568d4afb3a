"""What a manuscript is once read: its metadata and its sections in reading order, each body, front or back matter.

A *section* is one chapter to be: a title (``None`` for a book without headings, which then takes the book's
title) and paragraphs of plain text (one line each, nothing of the file's markup left). Front matter (cover,
title page, table of contents, copyright, a Project Gutenberg header) and back matter (index, licence) are kept
here, marked, so that rendering can leave them out or keep them.

Plain text and Markdown files are not cut into sections here: their ``source_text`` goes to the text pipeline as
it is, which finds their chapters as it always has (:mod:`voxbatch.text.chapters`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Matter = Literal["front", "body", "back"]
Format = Literal["epub", "docx", "pdf", "html", "text", "markdown"]

FORMAT_NAMES: dict[str, str] = {
    "epub": "an EPUB book",
    "docx": "a Word document (.docx)",
    "pdf": "a PDF document",
    "html": "an HTML page",
    "text": "plain text",
    "markdown": "plain text",
}


class ManuscriptError(ValueError):
    """The file cannot be read as a manuscript; the message (one line) says what it is or what is wrong."""


@dataclass(frozen=True)
class Block:
    """One paragraph or heading of a document, in reading order.

    ``level`` is 1-6 for a heading (0 for a document's title heading), None for a paragraph. ``anchors`` are the
    ids that point at or into it (targets of a table of contents); ``hint`` is what the document's own markup
    says the block belongs to (``"toc"``, ``"copyright-page"``, ``"gutenberg"``...), None for nothing special.
    """

    text: str
    level: int | None = None
    anchors: tuple[str, ...] = ()
    hint: str | None = None


@dataclass(frozen=True)
class Section:
    """One chapter to be: its title (None: the book's title) and its paragraphs, and whether it is body matter."""

    title: str | None
    paragraphs: tuple[str, ...]
    matter: Matter = "body"


@dataclass(frozen=True)
class Cover:
    """A cover image found in the manuscript (JPEG or PNG, checked by its bytes)."""

    data: bytes
    suffix: str  # ".jpg" or ".png"


@dataclass(frozen=True)
class Manuscript:
    """A read manuscript: metadata from the file (None when it has none) and its sections in reading order."""

    format: Format
    sections: tuple[Section, ...] = ()
    source_text: str | None = None  # plain text and Markdown: the whole (repaired) text, chaptered downstream
    title: str | None = None
    author: str | None = None
    language: str | None = None
    cover: Cover | None = None
