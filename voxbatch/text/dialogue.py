"""Dialogue: which spans of a text are quoted speech, so that they can be read in a second voice.

A quote runs from its opening mark to its closing mark, both included. Only top-level quotes are returned: a
quote inside a quote (``“He said ‘no’,” she said``) is part of the outer one and stays in its voice.

Marks, by class (the opening and closing mark of a quote are of one class):

* double: ``"`` and the typographic “ ” „ ‟ « » ＂ 〝 〞 (normalization turns them all into ``"``, so the
  direction of a mark is read from its neighbours, which works for every convention: “…”, „…“, «…», »…«, ”…”);
* single: ``'`` and ‘ ’ ‚ ‛ ‹ ›, which are also apostrophes (see below);
* brackets: 「…」, 『…』 and their vertical forms, which say their direction themselves.

A mark opens a quote when it stands at the start of a paragraph or after a space, an opening bracket or a
dash, and is followed by something. Inside a double quote, a double mark followed by a letter or digit after a
space opens a nested quote (French « … “…” … » normalizes to plain ``"``), and one followed by a space,
punctuation or the paragraph's end closes the innermost quote. A quote still open at the end of its paragraph
continues into the next paragraph if that paragraph opens with a mark of its class (the English convention for
a speech of several paragraphs: no closing mark until the last one); otherwise it ends with its paragraph.

Single quotes and apostrophes share their characters, so single quotes count only where that is unambiguous:

* they are dialogue marks only in a text that uses them so: more single marks than double marks open a quote
  (British style); in a text of double quotes, single quotes occur inside them and are never looked at;
* an opening single mark must be followed by a letter or digit that does not start a known elision (``'tis``,
  ``'em``, ``'cause``, ``'90s``...), or by a dash, an ellipsis or a double mark; a mark between two letters
  (``don't``) is an apostrophe;
* a closing single mark after a letter (``the dogs'``) closes only if no closing mark after punctuation
  (``,'`` ``.'`` ``?'``) comes later in the paragraph before the next opening one, which tells a possessive
  from the end of the speech (``'I fed the dogs' dinner,' she said``);
* a single quote that opened inside a paragraph and is still open at its end was an apostrophe: it is dropped,
  and the paragraph is read again without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voxbatch.text.chapters import paragraph_spans

DOUBLE_MARKS = frozenset('"\u201c\u201d\u201e\u201f\u00ab\u00bb\uff02\u301d\u301e\u301f')
SINGLE_MARKS = frozenset("'\u2018\u2019\u201a\u201b\u2039\u203a")
BRACKET_MARKS = {"\u300c": "\u300d", "\u300e": "\u300f", "\ufe41": "\ufe42", "\ufe43": "\ufe44"}
OPEN_AFTER = frozenset("([{<-/:\u2013\u2014]")  # besides a space and the paragraph start
SPEECH_STARTS = frozenset(".-(\u2026\u2013\u2014") | DOUBLE_MARKS  # besides a letter or digit
SPACED_DASH = " - "  # what normalization makes of a dash
STRONG_CLOSE_AFTER = frozenset(".,!?;:-\u2026\u2013\u2014")
# Words that start with an apostrophe in English prose and dialect: never the start of a single-quoted speech.
ELISIONS = frozenset(
    """tis twas twere twill twould em cause cos coz til till bout round n neath nough gainst fraid
    e er im is ere ow ome ouse ad ave ard alf appen ead eart elp ello un uns s d ll re ve""".split()
)
_ELISION_WORD_RE = re.compile(r"[^\W\d_]+")
_YEAR_RE = re.compile(r"\d\d(?:s\b|\b)")

Kind = str  # "double", "single", or the closing bracket


@dataclass(frozen=True)
class Quote:
    """One top-level quote: ``[start, end)`` from its opening mark to just after its closing mark (or to the end
    of the paragraph where an unclosed quote stops)."""

    start: int
    end: int


def _opens_after(text: str, i: int, paragraph_start: int) -> bool:
    if i == paragraph_start:
        return True
    before = text[i - 1]
    return before.isspace() or before in OPEN_AFTER or before in DOUBLE_MARKS or before in SINGLE_MARKS


def _is_elision(text: str, i: int, end: int) -> bool:
    if _YEAR_RE.match(text, i + 1, end):
        return True
    word = _ELISION_WORD_RE.match(text, i + 1, end)
    if word is None:
        return False
    follows = text[word.end()] if word.end() < end else " "
    return word[0].lower() in ELISIONS and (follows.isspace() or follows in ",.;:!?'\u2019")


def _single_opens(text: str, i: int, paragraph_start: int, end: int) -> bool:
    if text[i] not in SINGLE_MARKS or i + 1 >= end or not _opens_after(text, i, paragraph_start):
        return False
    after = text[i + 1]
    if after.isalnum():
        return not _is_elision(text, i, end)
    return after in SPEECH_STARTS or text.startswith(SPACED_DASH, i + 1)  # '...well' and ' - I proceed'


def _closes(text: str, i: int, end: int) -> bool:
    """A symmetric mark with nothing but a space, punctuation or the paragraph's end after it."""
    return i + 1 >= end or not text[i + 1].isalnum()


def _opening_kind(text: str, i: int, paragraph_start: int, end: int, singles: bool) -> Kind | None:
    mark = text[i]
    if mark in BRACKET_MARKS:
        return BRACKET_MARKS[mark]
    if mark in DOUBLE_MARKS and i + 1 < end and _opens_after(text, i, paragraph_start):
        return "double"
    if singles and _single_opens(text, i, paragraph_start, end):
        return "single"
    return None


def _strong_close_follows(text: str, i: int, paragraph_start: int, end: int) -> bool:
    """Whether a closing single mark after punctuation comes after ``i`` before the next opening single mark."""
    for j in range(i + 1, end):
        if text[j] not in SINGLE_MARKS:
            continue
        if _single_opens(text, j, paragraph_start, end):
            return False
        if _closes(text, j, end) and text[j - 1] in STRONG_CLOSE_AFTER:
            return True
    return False


@dataclass
class _Open:
    start: int
    kind: Kind
    depth: int = 1


def _scan(text: str, start: int, end: int, singles: bool, carried: _Open | None, quotes: list[Quote]) -> _Open | None:
    """Find the quotes of one paragraph ``[start, end)``; returns the quote still open at its end, if any."""
    skipped: set[int] = set()
    while True:
        found: list[Quote] = []
        current = None if carried is None else _Open(carried.start, carried.kind)
        i = start
        if current is not None:  # a continued quote: its reopening mark belongs to it
            i += 1
        while i < end:
            mark = text[i]
            if current is None:
                kind = None if i in skipped else _opening_kind(text, i, start, end, singles)
                if kind is not None:
                    current = _Open(i, kind)
            elif current.kind == "double" and mark in DOUBLE_MARKS:
                if _closes(text, i, end):
                    current.depth -= 1
                elif _opens_after(text, i, start):
                    current.depth += 1
                if current.depth == 0:
                    found.append(Quote(current.start, i + 1))
                    current = None
            elif current.kind == "single" and mark in SINGLE_MARKS and _closes(text, i, end):
                weak = text[i - 1].isalpha()
                if not weak or i + 1 >= end or not _strong_close_follows(text, i, start, end):
                    found.append(Quote(current.start, i + 1))
                    current = None
            elif current.kind == mark:  # a closing bracket
                current.depth -= 1
                if current.depth == 0:
                    found.append(Quote(current.start, i + 1))
                    current = None
            elif current.kind not in ("double", "single") and BRACKET_MARKS.get(mark) == current.kind:
                current.depth += 1
            i += 1
        unclosed_apostrophe = current is not None and current.kind == "single" and current.start > start
        if not unclosed_apostrophe:
            quotes += found
            return current
        assert current is not None
        skipped.add(current.start)  # it was an apostrophe: read the paragraph again without it


def _continues(text: str, paragraph_start: int, kind: Kind) -> bool:
    mark = text[paragraph_start]
    if kind == "double":
        return mark in DOUBLE_MARKS
    if kind == "single":
        return mark in SINGLE_MARKS
    return BRACKET_MARKS.get(mark) == kind


def single_quotes_are_dialogue(text: str) -> bool:
    """Whether ``text`` quotes speech with single marks: more single marks than double marks open a quote."""
    singles = doubles = 0
    for start, end in paragraph_spans(text):
        for i in range(start, end):
            mark = text[i]
            if mark in DOUBLE_MARKS and i + 1 < end and _opens_after(text, i, start) and not _closes(text, i, end):
                doubles += 1
            elif mark in SINGLE_MARKS and _single_opens(text, i, start, end):
                singles += 1
    return singles > doubles


def quote_spans(text: str, *, singles: bool | None = None) -> list[Quote]:
    """The top-level quotes of ``text`` (paragraphs separated by blank lines), in order (module docstring).

    ``singles`` says whether single marks quote speech; by default :func:`single_quotes_are_dialogue` decides.
    """
    if singles is None:
        singles = single_quotes_are_dialogue(text)
    quotes: list[Quote] = []
    current: _Open | None = None
    previous_end = 0
    for start, end in paragraph_spans(text):
        if current is not None and not _continues(text, start, current.kind):
            quotes.append(Quote(current.start, previous_end))
            current = None
        current = _scan(text, start, end, singles, current, quotes)
        previous_end = end
    if current is not None:
        quotes.append(Quote(current.start, previous_end))
    return quotes
