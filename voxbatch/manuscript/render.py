"""A read manuscript as the text the chunker reads: Markdown with one ``#`` heading per chapter.

:mod:`voxbatch.text.chunking` finds exactly these chapters (the top Markdown level that occurs, each with text of
its own), so a chapter's chunks, and so its cache keys, depend only on that chapter's title and text: editing one
chapter of an EPUB re-pays only that chapter's changed chunks. The paragraphs are escaped so that nothing in them
reads as Markdown syntax (a line starting with ``#``, a ``[link]``, ``<tag>`` or a code fence stays text), and each
is one line, so normalization leaves their words as they are.

A manuscript of a single untitled section (a document without headings) is rendered as plain text instead: its one
chapter then takes the book's title, as a plain-text book does. Plain text and Markdown files pass through as they
are. Front and back matter are left out unless ``keep_matter``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxbatch.manuscript.book import Manuscript, ManuscriptError, Matter
from voxbatch.text.normalize import PARAGRAPH_SEPARATOR

HEADING_MARK = "# "
_INLINE_SYNTAX_RE = re.compile(r"([\\`\[\]<>~|#])")  # link, image, tag, code, strikethrough, table, heading syntax
_LINE_START_SYNTAX_RE = re.compile(r"^[*+]+")  # a bullet, or "***" that would read as a Gutenberg marker


@dataclass(frozen=True)
class Rendered:
    """The text for :class:`~voxbatch.manifest.tts.BookRow`: ``markdown`` says how to read it.

    ``matter`` says what each chapter the chunker will find is (front, body or back matter), in order; it is empty
    for plain text and Markdown files, whose chapters the text rules find.
    """

    text: str
    markdown: bool
    matter: tuple[Matter, ...]


def escape_markdown(line: str) -> str:
    """One line of text that Markdown normalization reads back as exactly these words."""
    line = " ".join(line.split())
    line = _INLINE_SYNTAX_RE.sub(r"\\\1", line)
    return _LINE_START_SYNTAX_RE.sub(lambda marks: "".join("\\" + mark for mark in marks[0]), line)


def render_manuscript(manuscript: Manuscript, *, title: str, keep_matter: bool = False) -> Rendered:
    """The text to read; ``title`` names a chapter without a title of its own (the book's title).

    Raises :class:`~voxbatch.manuscript.book.ManuscriptError` when nothing is left to read.
    """
    if manuscript.source_text is not None:
        return Rendered(manuscript.source_text, manuscript.format == "markdown", ())
    kept = [s for s in manuscript.sections if keep_matter or s.matter == "body"]
    if not kept:
        if manuscript.sections:
            raise ManuscriptError(
                "has only front and back matter (cover, contents, licence...); keep it with --keep-front-matter "
                "or the front_matter column"
            )
        raise ManuscriptError("has no text to read")
    if len(kept) == 1 and kept[0].title is None:
        return Rendered(PARAGRAPH_SEPARATOR.join(kept[0].paragraphs), False, (kept[0].matter,))
    parts: list[str] = []
    for section in kept:
        parts.append(HEADING_MARK + escape_markdown(section.title or title))
        parts.extend(escape_markdown(p) for p in section.paragraphs)
    return Rendered(PARAGRAPH_SEPARATOR.join(parts), True, tuple(s.matter for s in kept))
