"""A book's table of contents as the dry run lists it: each chapter's number, title, size and price.

Numbers count the body chapters in reading order, in every format (:func:`voxbatch.manuscript.matter.chapter_numbers`);
front and back matter (kept with ``--keep-front-matter``) are listed without a number. Sizes are the characters of
each chapter's normalized text, its spoken heading included, so the prices are the full price of each chapter
(cached chunks included) and agree with the estimate's up to the whitespace between chunks.

A book read in part (``--chapters``, the ``chapters`` column) still lists every chapter, so the user can choose
again; the chosen ones are marked ``*`` and the book's line says how many are read, their size and price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from voxbatch.manifest.tts import BookRow
from voxbatch.manuscript.book import Matter
from voxbatch.manuscript.matter import chapter_numbers
from voxbatch.pipelines.audiobook.plan import chosen_chapters
from voxbatch.pricing import PriceTable, load_price_table
from voxbatch.text.chapter_selection import ChapterSelectionError
from voxbatch.text.chapters import layout_chapters
from voxbatch.text.normalize import normalize_document

TITLE_COLUMN_CHARS = 48


@dataclass(frozen=True)
class ContentsEntry:
    """One chapter of a book: its number among the body chapters (None for front and back matter)."""

    number: int | None
    title: str
    matter: Matter
    chars: int
    cost_usd: float | None  # None: the model's price is unknown
    chosen: bool = True  # read: in the book's chapter selection, or no selection


def book_contents(row: BookRow, prices: PriceTable) -> list[ContentsEntry]:
    """The chapters the chunker will find in ``row``'s text, in reading order."""
    document = normalize_document(row.text, markdown=row.markdown)
    chapters = [layout.chapter for layout in layout_chapters(document, title=row.title)]
    titles = [chapter.title for chapter in chapters]
    matter = cast(Sequence[Matter], row.matter)
    numbers = chapter_numbers(titles, matter)
    kinds: Sequence[Matter] = matter if len(matter) == len(chapters) else ["body" if n else "front" for n in numbers]
    try:
        chosen = chosen_chapters(row, titles)
    except ChapterSelectionError:  # the plan refuses the row; were it listed, every chapter would be
        chosen = frozenset(range(len(chapters)))
    entries = []
    for index, (chapter, number, kind) in enumerate(zip(chapters, numbers, kinds, strict=True)):
        chars = len(document.text[chapter.start : chapter.end].strip())
        cost = prices.cost_usd(row.model, input_chars=chars)
        entries.append(ContentsEntry(number, chapter.title, kind, chars, cost, chosen=index in chosen))
    return entries


def _chosen_line(entries: Sequence[ContentsEntry]) -> str:
    """``; reading 4 of them (marked *): 44,073 chars, $0.1763`` for a book read in part."""
    chosen = [e for e in entries if e.chosen]
    chars = sum(e.chars for e in chosen)
    costs = [e.cost_usd for e in chosen]
    cost = "unknown" if any(c is None for c in costs) else f"${sum(c or 0.0 for c in costs):.4f}"
    return f"; reading {len(chosen)} of them (marked *): {chars:,} chars, {cost}"


def contents_text(rows: Sequence[BookRow], prices: PriceTable | None = None) -> str:
    """Every book's chapters as the dry run prints them (prices: the run's table, overrides included)."""
    prices = prices if prices is not None else load_price_table()
    lines = []
    for row in rows:
        entries = book_contents(row, prices)
        body = sum(1 for e in entries if e.number is not None)
        in_part = bool(row.chapters.strip())
        chosen = _chosen_line(entries) if in_part else ""
        lines.append(f"{row.id}: {body} chapter{'' if body == 1 else 's'} ({row.title}){chosen}")
        for e in entries:
            number = f"{e.number:>4}" if e.number is not None else f"{'-':>4}"
            number = f"*{number[1:]}" if in_part and e.chosen else number
            title = e.title if e.number is not None else f"{e.title} ({e.matter} matter)"
            if len(title) > TITLE_COLUMN_CHARS:
                title = title[: TITLE_COLUMN_CHARS - 3] + "..."
            cost = "unknown" if e.cost_usd is None else f"${e.cost_usd:.4f}"
            lines.append(f"{number}  {title:<{TITLE_COLUMN_CHARS}} {e.chars:>9,} chars {cost:>10}")
    return "\n".join(lines)
