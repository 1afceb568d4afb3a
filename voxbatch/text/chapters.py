"""Chapter detection: where the chapters of a normalized manuscript start and end, and what they are called.

Chapters tile the normalized text: ``chapters[0].start == 0``, each ``end`` is the next ``start`` and the last
``end`` is ``len(text)``. A chapter starts at its heading paragraph, so the blank line before a heading belongs to
the previous chapter.

Headings, in plain text (each must be a whole paragraph; the grammar is ``normalize.parse_heading_line``):

* ``CHAPTER I.``, ``Chapter 1``, ``CHAPTER XII``, ``Chapter One``, ``Prologue`` / ``Epilogue``, with the title on
  the same paragraph (``CHAPTER I. Down the Rabbit-Hole``, ``Chapter 3: The Fall``) or as the next paragraph when
  that paragraph looks like a title (short, capitalised, not a sentence);
* bare Roman numerals (``IV.``, ``IV. The Fall``), but only in a text without any "Chapter" heading, where they
  would otherwise be section numbers inside chapters.

Markdown: the chapter level is the top heading level that occurs more than once (``#`` for a book of ``#``
chapters, ``##`` under a single ``#`` book title); with no repeated level, the top level present. Only when a
Markdown text has no headings at all are the plain-text patterns used.

Decisions:

* Table of contents: a heading whose chapter would hold fewer than ``MIN_CHAPTER_BODY_CHARS`` non-space characters
  of text before the next heading is not a chapter (a TOC entry, or a part title right before a chapter); its
  paragraph stays ordinary text of the chapter it falls in. Markdown headings are explicit, so there the floor is
  ``MIN_MARKDOWN_CHAPTER_BODY_CHARS`` (a heading followed directly by another chapter heading). A run-together
  TOC (entries on consecutive lines, joined into one paragraph) never matches the heading grammar at all.
* Front matter (text before the first heading): up to ``MAX_MERGED_FRONT_MATTER_CHARS`` non-space characters (a
  title line, an author line) belongs to the first chapter, which then starts at 0 and speaks it before its heading;
  more becomes its own chapter 0 titled ``FRONT_MATTER_TITLE`` (a preface, a dedication and a table of contents).
* No headings: one chapter over the whole text, titled with the book's title when the caller gives it (a book
  without headings is named after itself, not after its first words); else from its first paragraph (or its
  first words), or ``Chapter 1`` for an empty text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxbatch.text.normalize import (
    ROMAN_NUMERAL,
    NormalizedText,
    normalize_document,
    parse_heading_line,
)

MIN_CHAPTER_BODY_CHARS = 200  # non-space characters; a real chapter is longer than a TOC entry with a blurb
MIN_MARKDOWN_CHAPTER_BODY_CHARS = 1  # explicit Markdown headings only need some text of their own
MAX_HEADING_PARAGRAPH_CHARS = 160  # longer paragraphs are prose, not worth parsing as headings
MAX_MERGED_FRONT_MATTER_CHARS = 500  # non-space characters of front matter that stay in chapter 0
FRONT_MATTER_TITLE = "Front matter"
UNTITLED_CHAPTER_TITLE = "Chapter 1"
MAX_NEXT_TITLE_CHARS = 80  # a title paragraph after a bare "CHAPTER XII"
MAX_NEXT_TITLE_WORDS = 12
FALLBACK_TITLE_WORDS = 8  # a text without headings is titled from this many first words

_PARAGRAPH_BREAK_RE = re.compile(r"\n[^\S\n]*\n\s*")
_NUMERAL_HEADING_RE = re.compile(rf"(?P<num>{ROMAN_NUMERAL})\.?(?:\s+(?P<title>.+))?")
_SENTENCE_INSIDE_RE = re.compile(r"[.!?]\s+\S")


@dataclass(frozen=True)
class Chapter:
    """One chapter: ``[start, end)`` in the normalized text, starting where its heading (or front matter) starts."""

    index: int
    title: str
    start: int
    end: int


@dataclass(frozen=True)
class ChapterLayout:
    """A chapter plus the span of its heading paragraph(s), ``None`` for a chapter without a heading."""

    chapter: Chapter
    heading: tuple[int, int] | None


@dataclass(frozen=True)
class _Heading:
    start: int
    end: int  # end of the heading, including a title taken from the next paragraph
    title: str


def paragraph_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The ``[start, end)`` spans of the paragraphs in ``text[start:end]``, trimmed of surrounding whitespace."""
    stop = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    position = start
    for match in _PARAGRAPH_BREAK_RE.finditer(text, start, stop):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, stop))
    trimmed: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            trimmed.append((s, e))
    return trimmed


def _non_space_chars(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def _looks_like_title(paragraph: str) -> bool:
    """Whether a paragraph right after a bare chapter label is that chapter's title (Gutenberg style)."""
    if len(paragraph) > MAX_NEXT_TITLE_CHARS or len(paragraph.split()) > MAX_NEXT_TITLE_WORDS:
        return False
    if paragraph[-1] in ".,;:" or _SENTENCE_INSIDE_RE.search(paragraph):
        return False  # a sentence of the chapter, not its title
    first = paragraph[0]
    return first.isdigit() or (first.isalpha() and not first.islower())


def _compose_title(label: str, title: str) -> str:
    return f"{label}: {title}" if title else label


def _plain_headings(text: str) -> list[_Heading]:
    paragraphs = paragraph_spans(text)
    labelled: list[_Heading] = []
    numerals: list[_Heading] = []
    for position, (start, end) in enumerate(paragraphs):
        paragraph = text[start:end]
        if len(paragraph) > MAX_HEADING_PARAGRAPH_CHARS:
            continue
        line = parse_heading_line(paragraph)
        target = labelled
        if line is not None:
            label, title = line.label, line.title
        else:
            numeral = _NUMERAL_HEADING_RE.fullmatch(paragraph)
            if numeral is None:
                continue
            title = (numeral["title"] or "").strip()
            if title and (paragraph[len(numeral["num"])] != "." or not _looks_like_title(title)):
                continue  # "I am" / "IV. then he said." are prose; "IV. The Fall" is a heading
            label, target = f"Chapter {numeral['num']}", numerals
        heading_end = end
        if not title and position + 1 < len(paragraphs):
            next_start, next_end = paragraphs[position + 1]
            candidate = text[next_start:next_end]
            is_heading = parse_heading_line(candidate) is not None or bool(_NUMERAL_HEADING_RE.fullmatch(candidate))
            if not is_heading and _looks_like_title(candidate):
                title, heading_end = candidate, next_end
        target.append(_Heading(start=start, end=heading_end, title=_compose_title(label, title.rstrip(". "))))
    return labelled or numerals


def _markdown_chapter_headings(document: NormalizedText) -> list[_Heading]:
    levels = [heading.level for heading in document.markdown_headings]
    repeated = [level for level in set(levels) if levels.count(level) > 1]
    chapter_level = min(repeated) if repeated else min(levels)
    return [
        _Heading(start=heading.start, end=heading.end, title=heading.title)
        for heading in document.markdown_headings
        if heading.level == chapter_level
    ]


def _drop_empty_chapters(text: str, headings: list[_Heading], min_body_chars: int) -> list[_Heading]:
    kept: list[_Heading] = []
    for position, heading in enumerate(headings):
        body_end = headings[position + 1].start if position + 1 < len(headings) else len(text)
        if _non_space_chars(text[heading.end : body_end]) >= min_body_chars:
            kept.append(heading)
    return kept


def _fallback_title(text: str) -> str:
    paragraphs = paragraph_spans(text)
    if not paragraphs:
        return UNTITLED_CHAPTER_TITLE
    first = text[paragraphs[0][0] : paragraphs[0][1]].strip("[](){}<> ")
    if first and len(first) <= MAX_NEXT_TITLE_CHARS:
        return first
    words = text.split()[:FALLBACK_TITLE_WORDS]
    return " ".join(words).rstrip(",;:. -") + "..."


def layout_chapters(document: NormalizedText, *, title: str | None = None) -> list[ChapterLayout]:
    """The chapters of an already normalized document, with the span of each chapter's heading.

    ``title`` (the book's title) names the one chapter of a document without headings.
    """
    text = document.text
    if document.markdown_headings:
        headings = _drop_empty_chapters(text, _markdown_chapter_headings(document), MIN_MARKDOWN_CHAPTER_BODY_CHARS)
    else:
        headings = _drop_empty_chapters(text, _plain_headings(text), MIN_CHAPTER_BODY_CHARS)
    if not headings:
        only = Chapter(index=0, title=title or _fallback_title(text), start=0, end=len(text))
        return [ChapterLayout(only, None)]

    layouts: list[ChapterLayout] = []
    first_start = headings[0].start
    merge_front_matter = _non_space_chars(text[:first_start]) <= MAX_MERGED_FRONT_MATTER_CHARS
    if not merge_front_matter:
        layouts.append(ChapterLayout(Chapter(index=0, title=FRONT_MATTER_TITLE, start=0, end=first_start), None))
    for position, heading in enumerate(headings):
        start = 0 if position == 0 and merge_front_matter else heading.start
        end = headings[position + 1].start if position + 1 < len(headings) else len(text)
        chapter = Chapter(index=len(layouts), title=heading.title, start=start, end=end)
        layouts.append(ChapterLayout(chapter, (heading.start, heading.end)))
    return layouts


def detect_chapters(text: str, *, markdown: bool = False, title: str | None = None) -> list[Chapter]:
    """Detect the chapters of a manuscript; offsets index ``normalize_text(text, markdown=markdown)``.

    For plain text, pass the normalized text (a fixed point of normalization, so offsets index ``text`` itself).
    For Markdown, pass the Markdown source: the heading levels exist only there, and normalization removes the
    ``#`` markers. See the module docstring for the heading patterns and the front-matter and TOC rules; ``title``
    names the one chapter of a text without headings.
    """
    document = normalize_document(text, markdown=markdown)
    return [layout.chapter for layout in layout_chapters(document, title=title)]
