"""Which chapters of a book are read: a selection such as ``1-3,7`` or chapter titles (``--chapters``, column
``chapters``).

Numbers count the book's *body* chapters in reading order, in every format (front and back matter, a title heading
and a licence header have no number: :func:`voxbatch.manuscript.matter.chapter_numbers`). A token that is not a
number or a range names a chapter by its title, case-insensitively: the whole title or a part of it
(``Rabbit-Hole`` picks ``CHAPTER I. Down the Rabbit-Hole``); a part that fits several chapters is refused, so a
selection never silently grows. Tokens are separated by commas (or semicolons, for titles that hold commas).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

RANGE_RE = re.compile(r"^(\d+)\s*(?:-\s*(\d+))?$")
SEPARATORS_RE = re.compile(r"[;,]")
SHOWN_TITLES = 5


class ChapterSelectionError(ValueError):
    """A selection that cannot be read, or that names chapters the book does not have (one line)."""


@dataclass(frozen=True)
class ChapterSelection:
    """A parsed selection: body chapter numbers and ranges, and title parts, as the user wrote them."""

    ranges: tuple[tuple[int, int], ...] = ()
    titles: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.ranges and not self.titles


def parse_selection(text: str) -> ChapterSelection:
    """``"1-3,7"``, ``"Rabbit-Hole; 12"``; empty: every chapter. Raises :class:`ChapterSelectionError`."""
    ranges: list[tuple[int, int]] = []
    titles: list[str] = []
    tokens = [t.strip() for t in SEPARATORS_RE.split(text) if t.strip()] if text.strip() else []
    for token in tokens:
        match = RANGE_RE.match(token)
        if match is None:
            titles.append(token)
            continue
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if first < 1 or last < first:
            raise ChapterSelectionError(f"{token!r} is not a chapter range (chapters count from 1, as in 1-3)")
        ranges.append((first, last))
    return ChapterSelection(tuple(ranges), tuple(titles))


def select_chapters(
    selection: ChapterSelection, titles: Sequence[str], numbers: Sequence[int | None]
) -> frozenset[int]:
    """The indices (into ``titles``) of the chapters ``selection`` picks; every chapter when it is empty.

    ``numbers`` gives each chapter's body number (None for front and back matter, which only a title selects).
    """
    if selection.empty:
        return frozenset(range(len(titles)))
    by_number = {n: i for i, n in enumerate(numbers) if n is not None}
    body = len(by_number)
    chosen: set[int] = set()
    for first, last in selection.ranges:
        if last > body:
            shown = f"{first}-{last}" if last != first else str(first)
            raise ChapterSelectionError(f"chapter {shown} is past the book's {body} chapter{'' if body == 1 else 's'}")
        chosen.update(by_number[n] for n in range(first, last + 1))
    for part in selection.titles:
        wanted = part.casefold()
        exact = [i for i, t in enumerate(titles) if t.casefold() == wanted]
        fits = exact or [i for i, t in enumerate(titles) if wanted in t.casefold()]
        if not fits:
            raise ChapterSelectionError(f"no chapter is titled {part!r}; the chapters are {_shown(titles)}")
        if len(fits) > 1:
            raise ChapterSelectionError(
                f"{part!r} fits {len(fits)} chapters ({_shown([titles[i] for i in fits])}); give more of the title"
            )
        chosen.add(fits[0])
    return frozenset(chosen)


def _shown(titles: Sequence[str]) -> str:
    listed = ", ".join(repr(t) for t in titles[:SHOWN_TITLES])
    return listed + (f" ... ({len(titles) - SHOWN_TITLES} more)" if len(titles) > SHOWN_TITLES else "")
