"""Which parts of a book are front and back matter, and how its body chapters are numbered.

Front and back matter are what a listener does not want read by default: the cover and title pages, the table of
contents, the copyright page, an index, a colophon, lists of illustrations, and a Project Gutenberg header or
licence. A section is such matter when

* it lies before a Project Gutenberg ``START OF THE PROJECT GUTENBERG EBOOK`` marker (the header) or from an
  ``END OF ...`` marker on (the licence), with or without the ``***`` around them;
* its title says so (``Contents``, ``Copyright``, ``Index``, ``Title Page``, ``The Full Project Gutenberg
  License``...), or, before the first chapter, it is the book's own title, or most of it (a title page);
* the document's markup says so (EPUB ``epub:type`` or ARIA ``role``: ``cover``, ``titlepage``, ``toc``,
  ``copyright-page``, ``index``, ``colophon``...);
* it is the untitled text before the first chapter and holds little prose (title, author, edition, a dedication,
  a contents list: less than ``LEADING_BODY_MIN_CHARS`` characters in paragraphs that read as prose). With more it
  is body matter: a preface or prologue without a heading.

Matter before the first body section is front matter, after it back matter. Body chapters are numbered 1, 2, 3...
in reading order; front and back matter get no number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from voxbatch.manuscript.book import Matter
from voxbatch.text.chapters import FRONT_MATTER_TITLE

GUTENBERG_HEADER_TITLE = "Project Gutenberg header"
GUTENBERG_LICENCE_TITLE = "Project Gutenberg licence"
LEADING_BODY_MIN_CHARS = 600  # prose characters before the first chapter that make it a chapter of its own
PROSE_MIN_WORDS = 12  # a paragraph of prose has at least this many words ...
PROSE_MIN_LOWERCASE_RATIO = 0.6  # ... and mostly lowercase letters (titles and contents lists are capitalised)
TITLE_PAGE_MIN_SHARE = 0.5  # a title page's title is at least half the book's title (or the book's title half of it)
MARKER_TAIL_MAX_BLOCKS = 2  # a "*** START OF ..." marker wrapped over this many more paragraphs at most

MATTER_HINTS = frozenset(
    "cover titlepage halftitlepage toc landmarks loi lot copyright-page imprint colophon index gutenberg".split()
)
_MATTER_TITLE_RE = re.compile(
    r"(?:table of )?contents|copyright(?: page| notice)?|(?:general )?index|cover(?: page| image)?|title ?page"
    r"|half ?title(?: page)?|colophon|imprint|(?:books )?(?:also )?by the same author|also by \w.*"
    r"|list of (?:illustrations|figures|tables|plates|maps)|illustrations"
    r"|(?:the )?full project gutenberg licen[cs]e.*|project gutenberg licen[cs]e.*",
    re.IGNORECASE,
)
_START_RE = re.compile(r"\W*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK", re.IGNORECASE)
_END_RE = re.compile(
    r"\W*(?:END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK|End of (?:the )?Project Gutenberg(?:'s|’s)?\s)",
    re.IGNORECASE,
)
_KEY_RE = re.compile(r"\W+")


def title_key(text: str) -> str:
    """``text`` reduced for comparison: letters and digits only, lowercase."""
    return _KEY_RE.sub("", text).replace("_", "").lower()


def gutenberg_bounds(texts: Sequence[str]) -> tuple[int, int]:
    """``(start, end)``: the book proper is ``texts[start:end]``, without a Project Gutenberg header and licence.

    Without markers the whole text is the book: ``(0, len(texts))``.
    """
    start, end = 0, len(texts)
    for position, text in enumerate(texts):
        if _START_RE.match(text):
            start = position + 1
            if text.lstrip().startswith("***") and not text.rstrip().endswith("***"):
                # The marker's title wrapped into the next paragraph(s): "... THE LIFE AND" / "ADVENTURES ... ***"
                for tail in range(start, min(start + MARKER_TAIL_MAX_BLOCKS, len(texts))):
                    if texts[tail].rstrip().endswith("***"):
                        start = tail + 1
                        break
            break
    for position in range(start, len(texts)):
        if _END_RE.match(texts[position]):
            end = position
            break
    return start, end


def is_matter_title(title: str) -> bool:
    """Whether a section titled ``title`` is front or back matter by its title alone."""
    cleaned = " ".join(title.replace("’", "'").split()).strip(" .:")
    return bool(_MATTER_TITLE_RE.fullmatch(cleaned))


def is_title_page(title: str, book_title: str | None) -> bool:
    """Whether a section before the first chapter, titled ``title``, is the book's title page.

    Its title is the book's title, or most of it: the start of a longer metadata title ("Alice's Adventures in
    Wonderland" in "Alice's Adventures in Wonderland (the first chapters)"), or the title and a little more.
    """
    own, book = title_key(title), title_key(book_title or "")
    if not own or not book:
        return False
    shorter, longer = sorted((own, book), key=len)
    return longer.startswith(shorter) and len(shorter) >= TITLE_PAGE_MIN_SHARE * len(longer)


def is_prose(paragraph: str) -> bool:
    """Whether a paragraph reads as running prose (not a title, a byline or a list of chapters)."""
    letters = [ch for ch in paragraph if ch.isalpha()]
    if len(paragraph.split()) < PROSE_MIN_WORDS or not letters:
        return False
    return sum(ch.islower() for ch in letters) >= PROSE_MIN_LOWERCASE_RATIO * len(letters)


def leading_is_body(paragraphs: Sequence[str]) -> bool:
    """Whether the untitled text before the first chapter is a chapter of its own (enough prose), not front matter."""
    return sum(len(p) for p in paragraphs if is_prose(p)) >= LEADING_BODY_MIN_CHARS


def chapter_numbers(titles: Sequence[str], matter: Sequence[Matter] = ()) -> list[int | None]:
    """Each chapter's number among the body chapters (1, 2, ...), None for front and back matter.

    ``matter`` says what each chapter is; without it (plain text and Markdown, chaptered by the text rules) only a
    ``Front matter`` chapter before the first heading is front matter.
    """
    if not matter:
        matter = [
            "front" if i == 0 and t == FRONT_MATTER_TITLE and len(titles) > 1 else "body" for i, t in enumerate(titles)
        ]
    numbers: list[int | None] = []
    count = 0
    for kind in matter:
        if kind == "body":
            count += 1
            numbers.append(count)
        else:
            numbers.append(None)
    return numbers
