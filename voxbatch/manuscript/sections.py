"""Where a document's chapters begin, and what each one is: one rule for every format.

Chapters begin, in order of preference:

1. at the positions the document's own table of contents or outline gives (EPUB nav or NCX, PDF bookmarks),
   titled as it titles them; a heading that merely repeats the title at the start of the chapter is dropped so
   the title is not read twice;
2. at the document's headings (HTML ``h1``/``h2``, DOCX Heading styles): the top level that occurs more than once
   (a single ``h1`` over several ``h2`` is the book's title, not a chapter), as Markdown is read;
3. else by the text rules of :mod:`voxbatch.text.chapters` (``CHAPTER I.``, ``Chapter 3: The Fall``, Roman
   numerals...), on the document's paragraphs; the heading's own words become the title
   (``CHAPTER I. Down the Rabbit-Hole``);
4. a document without any is one chapter, titled with the book's title (``Section.title`` None).

A Project Gutenberg header and licence become sections of their own, front and back matter. Text before the first
chapter is a section without a title of its own; :mod:`voxbatch.manuscript.matter` decides whether it is front
matter. A section with a title but no text (a part title page, an edition line) is not a chapter: its title is
read at the start of the next section.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from voxbatch.manuscript.book import Block, Matter, Section
from voxbatch.manuscript.matter import (
    GUTENBERG_HEADER_TITLE,
    GUTENBERG_LICENCE_TITLE,
    MATTER_HINTS,
    gutenberg_bounds,
    is_matter_title,
    is_title_page,
    leading_is_body,
    title_key,
)
from voxbatch.text.chapters import layout_chapters, paragraph_spans
from voxbatch.text.normalize import PARAGRAPH_SEPARATOR, normalize_document

MIN_TABLE_OF_CONTENTS_ENTRIES = 2  # a table of contents with fewer entries in the book says nothing about chapters
MAX_REPEATED_TITLE_BLOCKS = 3  # "CHAPTER I." / "Down the Rabbit-Hole": a repeated title spans a few blocks at most
MAX_REPEATED_TITLE_CHARS = 200  # a longer paragraph is text, even when it starts like the title
HEADING_JOINED_AFTER = frozenset(".:;,-")  # a heading label ending so is followed by its title after a space


@dataclass
class _Draft:
    """A section before its matter is decided."""

    title: str | None
    blocks: list[Block]
    leading: bool = False  # the untitled text before the first chapter
    matter: Matter | None = None  # already decided (a Project Gutenberg header or licence)


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _without_repeated_title(blocks: list[Block], title: str) -> list[Block]:
    """``blocks`` without the leading blocks that spell out ``title`` (the chapter's own heading)."""
    remaining = title_key(title)
    taken = 0
    while taken < min(MAX_REPEATED_TITLE_BLOCKS, len(blocks)) and remaining:
        block = blocks[taken]
        key = title_key(block.text)
        if not key or not remaining.startswith(key) or len(block.text) > MAX_REPEATED_TITLE_CHARS:
            break
        remaining = remaining[len(key) :]
        taken += 1
    return blocks[taken:] if not remaining else blocks


def drafts_at(blocks: Sequence[Block], starts: Sequence[tuple[int, str]]) -> list[_Draft]:
    """Sections beginning at ``starts`` (block index, title), with the untitled text before the first one."""
    by_index: dict[int, str] = {}
    for index, title in sorted(starts, key=lambda s: s[0]):
        by_index[index] = title  # two entries at one place: the later, more specific one (a chapter in a part)
    ordered = sorted(by_index.items())
    drafts: list[_Draft] = []
    first = ordered[0][0] if ordered else len(blocks)
    if first > 0:
        drafts.append(_Draft(None, list(blocks[:first]), leading=True))
    for position, (index, title) in enumerate(ordered):
        end = ordered[position + 1][0] if position + 1 < len(ordered) else len(blocks)
        drafts.append(_Draft(title, _without_repeated_title(list(blocks[index:end]), title)))
    return drafts


def _drafts_by_headings(blocks: Sequence[Block], levels: Sequence[int]) -> list[_Draft] | None:
    counts = Counter(b.level for b in blocks if b.level is not None and b.level in levels)
    repeated = sorted(level for level, count in counts.items() if count > 1)
    if not repeated:
        return None
    starts = [(i, b.text) for i, b in enumerate(blocks) if b.level == repeated[0]]
    return drafts_at(blocks, starts)


def _joined_heading(paragraphs: list[str]) -> str:
    """A heading over several paragraphs as one title: ``CHAPTER I.`` + ``Down`` -> ``CHAPTER I. Down``,
    ``Chapter 1`` + ``The Storm`` -> ``Chapter 1: The Storm``."""
    title = paragraphs[0]
    for part in paragraphs[1:]:
        title += (" " if title[-1] in HEADING_JOINED_AFTER else ": ") + part
    return title


def _drafts_by_text_rules(blocks: Sequence[Block]) -> list[_Draft]:
    document = normalize_document(PARAGRAPH_SEPARATOR.join(b.text for b in blocks))
    text = document.text

    def paragraphs(start: int, end: int) -> list[Block]:
        return [Block(text[s:e]) for s, e in paragraph_spans(text, start, end)]

    headed = [layout for layout in layout_chapters(document) if layout.heading is not None]
    if not headed:
        return [_Draft(None, paragraphs(0, len(text)))]
    drafts: list[_Draft] = []
    first = headed[0].heading[0] if headed[0].heading else 0
    if first > 0:
        drafts.append(_Draft(None, paragraphs(0, first), leading=True))
    for layout in headed:
        assert layout.heading is not None
        start, end = layout.heading
        title = _joined_heading([text[s:e] for s, e in paragraph_spans(text, start, end)])
        drafts.append(_Draft(title, paragraphs(end, layout.chapter.end)))
    return drafts


def _decide(drafts: list[_Draft], book_title: str | None) -> tuple[Section, ...]:
    """Empty sections folded into the next, and each section's matter decided (see :mod:`.matter`)."""
    sections: list[Section] = []
    carried: list[str] = []
    seen_body = False
    for draft in drafts:
        paragraphs = carried + [b.text for b in draft.blocks if _has_words(b.text)]
        if not any(b for b in draft.blocks if _has_words(b.text)):
            if draft.title and _has_words(draft.title) and draft.matter is None:
                carried.append(draft.title)  # a part title or an edition line: read before what follows
            continue
        carried = []
        hinted = any(b.hint in MATTER_HINTS for b in draft.blocks[:1])
        title = draft.title if draft.title and _has_words(draft.title) else None
        matter = draft.matter
        if matter is None:
            if draft.leading:
                is_matter = hinted or not leading_is_body(paragraphs)
            else:
                titled_as_matter = title is not None and (
                    is_matter_title(title) or (not seen_body and is_title_page(title, book_title))
                )
                is_matter = hinted or titled_as_matter
            matter = ("back" if seen_body else "front") if is_matter else "body"
        seen_body = seen_body or matter == "body"
        sections.append(Section(title, tuple(" ".join(p.split()) for p in paragraphs), matter))
    return tuple(sections)


def build_sections(
    blocks: Sequence[Block],
    *,
    starts: Sequence[tuple[int, str]] | None = None,
    heading_levels: Sequence[int] = (1, 2),
    book_title: str | None = None,
) -> tuple[Section, ...]:
    """A document's sections, in reading order (see the module docstring for the rules).

    ``starts`` are a table of contents' or outline's entries as (block index, title); ``heading_levels`` are the
    heading levels that may be chapters.
    """
    start, end = gutenberg_bounds([b.text for b in blocks])
    book = list(blocks[start:end])
    inside = [(max(index, start) - start, title) for index, title in (starts or ()) if index < end]
    if len({index for index, _ in inside}) >= MIN_TABLE_OF_CONTENTS_ENTRIES:
        drafts = drafts_at(book, inside)
    else:
        drafts = _drafts_by_headings(book, heading_levels) or _drafts_by_text_rules(book)
    header = _Draft(GUTENBERG_HEADER_TITLE, list(blocks[:start]), matter="front")
    licence = _Draft(GUTENBERG_LICENCE_TITLE, list(blocks[end:]), matter="back")
    return _decide([header, *drafts, licence], book_title)
