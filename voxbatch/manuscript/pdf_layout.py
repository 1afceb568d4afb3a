"""How a PDF's lines of text become paragraphs: running headers, footers and page numbers out, paragraphs found.

A PDF has no paragraphs, only lines placed on pages. Each line's position and size (from pypdf's text visitor) says:

* **Running headers and footers**: among the two top and two bottom lines of each page (within
  ``EDGE_BAND_RATIO`` of the page's height), a line whose text, digits aside, recurs at the edge of at least
  ``REPEATED_EDGE_MIN_PAGES`` pages is removed everywhere at the edge (``THE LIFE OF ROBINSON CRUSOE 12``). A chapter
  heading at the top of a page is compared with its numbers, so ``Chapter 1`` and ``Chapter 2`` are not a running
  header; one repeated word for word (a chapter's running title) is kept where it first occurs.
* **Page numbers**: an edge line that is only a page number (``12``, ``- 12 -``, ``Page 12``, ``12 of 175``,
  ``xiv``) is removed.
* **Paragraphs**: a new paragraph starts after a vertical gap wider than the usual line spacing
  (``PARAGRAPH_GAP_RATIO``), at a line indented from the usual left margin (a first-line indent, a centred
  heading), where the font size changes, after a short line that ends a sentence, and around a line that is a
  chapter heading (``CHAPTER I.``). A page break alone does not end a paragraph, so a sentence, and a word
  hyphenated across the break, continue on the next page.
* **Hyphenation**: a paragraph's lines are rejoined by normalization's own rule
  (:func:`voxbatch.text.normalize.line_joiner`), with the whole document as its dictionary.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from voxbatch.text.normalize import line_joiner, parse_heading_line

EDGE_BAND_RATIO = 0.12  # headers and footers sit in the top and bottom 12% of a page
EDGE_LINES = 2  # lines at each edge of a page that may be a header, footer or page number
REPEATED_EDGE_MIN_PAGES = 3  # a line at the edge of this many pages is a running header or footer
PARAGRAPH_GAP_RATIO = 1.15  # a gap this much wider than the usual line spacing ends a paragraph ...
PARAGRAPH_GAP_SLACK_PT = 0.5  # ... beyond rounding
INDENT_MIN_PT = 3.0  # a line starting this far right of the usual margin starts a paragraph
SIZE_CHANGE_MIN_PT = 1.0  # a change of font size starts a paragraph
SHORT_LINE_RATIO = 0.8  # a line shorter than this share of the usual line, ending a sentence, ends its paragraph
SENTENCE_END_CHARS = frozenset(".!?:;\"')”’»")
_PAGE_NUMBER_RE = re.compile(
    r"(?:page\s+)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:/|of)\s*\d{1,4})?|[-–—(\[]\s*\d{1,4}\s*[-–—)\]]", re.IGNORECASE
)
_DIGITS_RE = re.compile(r"\d+")


@dataclass(frozen=True)
class PdfLine:
    """One line of text as placed on its page: ``y`` grows upwards (PDF user space), sizes in points."""

    text: str
    page: int
    x: float
    y: float
    size: float


@dataclass(frozen=True)
class PdfParagraph:
    """A paragraph of the document: its text (one line) and where it starts (page and height of its first line)."""

    text: str
    page: int
    y: float


def lines_from_runs(runs: Sequence[tuple[str, Sequence[float], Sequence[float], float]], page: int) -> list[PdfLine]:
    """A page's lines from pypdf's text visitor calls ``(text, cm, tm, font_size)``, in content order.

    A line is the text between two newlines of pypdf's own extraction; its position and size are those of its
    first run with visible text (text matrix times the current transformation matrix).
    """
    lines: list[PdfLine] = []
    parts: list[str] = []
    where: tuple[float, float, float] | None = None

    def end_line() -> None:
        nonlocal parts, where
        text = " ".join("".join(parts).split())
        if text and where is not None:
            lines.append(PdfLine(text, page, *where))
        parts, where = [], None

    for text, cm, tm, font_size in runs:
        for number, piece in enumerate(text.split("\n")):
            if number > 0:
                end_line()
            if piece.strip() and where is None:
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                size = abs(font_size) * math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
                where = (x, y, size)
            parts.append(piece)
    end_line()
    return lines


def _edge_key(line: PdfLine) -> str:
    text = " ".join(line.text.lower().split())
    return text if parse_heading_line(line.text) is not None else _DIGITS_RE.sub("#", text)


def without_headers_and_footers(
    pages: Sequence[list[PdfLine]], heights: Sequence[tuple[float, float]]
) -> list[list[PdfLine]]:
    """The pages' lines without running headers, footers and page numbers (module docstring).

    ``heights`` are each page's (bottom, top) in user space.
    """
    edges: list[list[PdfLine]] = []
    for lines, (bottom, top) in zip(pages, heights, strict=True):
        band = (top - bottom) * EDGE_BAND_RATIO
        by_height = sorted(lines, key=lambda line: line.y)
        low = [line for line in by_height[:EDGE_LINES] if line.y <= bottom + band]
        high = [line for line in by_height[::-1][:EDGE_LINES] if line.y >= top - band]
        edges.append(low + [line for line in high if line not in low])
    pages_with = Counter(key for page in edges for key in {_edge_key(line) for line in page})
    repeated = {key for key, count in pages_with.items() if count >= REPEATED_EDGE_MIN_PAGES}
    kept_first: set[str] = set()
    cleaned: list[list[PdfLine]] = []
    for lines, page_edges in zip(pages, edges, strict=True):
        drop: set[int] = set()
        for line in page_edges:
            key = _edge_key(line)
            if _PAGE_NUMBER_RE.fullmatch(line.text.strip()):
                drop.add(id(line))
            elif key in repeated:
                if parse_heading_line(line.text) is not None and key not in kept_first:
                    kept_first.add(key)  # the chapter's own heading, before its running copies
                    continue
                drop.add(id(line))
        cleaned.append([line for line in lines if id(line) not in drop])
    return cleaned


def _starts_paragraph(previous: PdfLine, line: PdfLine, spacing: float, margin: float, usual_chars: float) -> bool:
    if line.page == previous.page:
        gap = previous.y - line.y
        if gap < -previous.size or gap > spacing * PARAGRAPH_GAP_RATIO + PARAGRAPH_GAP_SLACK_PT:
            return True  # a wide gap, or a jump back up (a new column)
    if line.x > margin + INDENT_MIN_PT or abs(line.size - previous.size) > SIZE_CHANGE_MIN_PT:
        return True
    if len(previous.text) < SHORT_LINE_RATIO * usual_chars and previous.text[-1] in SENTENCE_END_CHARS:
        return True
    return parse_heading_line(line.text) is not None or parse_heading_line(previous.text) is not None


def paragraphs(pages: Sequence[list[PdfLine]]) -> list[PdfParagraph]:
    """The document's paragraphs, in reading order, each rejoined into one line (see the module docstring)."""
    lines = [line for page in pages for line in page]
    if not lines:
        return []
    gaps = [
        a.y - b.y
        for a, b in itertools.pairwise(lines)
        if a.page == b.page and abs(a.size - b.size) <= SIZE_CHANGE_MIN_PT and 0 < a.y - b.y < 3 * a.size
    ]
    spacing = statistics.median(gaps) if gaps else max(line.size for line in lines) * 1.2
    margin = Counter(round(line.x) for line in lines).most_common(1)[0][0]
    usual_chars = statistics.median(len(line.text) for line in lines)
    join = line_joiner("\n".join(line.text for line in lines))
    found: list[PdfParagraph] = []
    current = [lines[0]]
    for previous, line in itertools.pairwise(lines):
        if _starts_paragraph(previous, line, spacing, margin, usual_chars):
            found.append(PdfParagraph(join([x.text for x in current]), current[0].page, current[0].y))
            current = []
        current.append(line)
    found.append(PdfParagraph(join([x.text for x in current]), current[0].page, current[0].y))
    return found
