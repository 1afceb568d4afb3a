"""Pauses: the silences a book holds, written in the text (``[pause: 1.5s]``) or chosen per book.

A pause tag is ``[pause: DURATION]`` (also ``[pause DURATION]`` or ``[pause=DURATION]``, any case), DURATION a
number with an optional unit: ``s`` (the default), ``sec``, ``seconds``, or ``ms``/``milliseconds``. It is never
spoken: the chunk before it ends there and is followed by exactly that silence in the stitch, instead of the
sentence, paragraph or chapter pause that would otherwise follow it (tags at one place add up; tags before the
first words of the book replace the lead-in). Anything else in brackets that starts with the word ``pause``
(``[pause]``, ``[pause: long]``, a duration over :data:`MAX_PAUSE_S`) is a :class:`MarkupError`.

:class:`PauseOptions` holds a book's own pauses after sentences, paragraphs and chapters (``None``: the stitch's
defaults).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from voxbatch.text.markup import TAG_RE, MarkupError, where

MAX_PAUSE_S = 60.0  # one tag; a longer silence is a mistake (a missing "ms"), not an audiobook's pause
MS_PER_S = 1000.0

_PAUSE_WORD_RE = re.compile(r"\s*pause(?=[\s:=.\d]|$)", re.IGNORECASE)
_DURATION_RE = re.compile(
    r"\s*pause\s*[:=]?\s*(?P<value>\d+(?:\.\d*)?|\.\d+)\s*"
    r"(?P<unit>s|secs?|seconds?|ms|msecs?|milliseconds?)?\s*\.?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PauseTag:
    """A ``[pause: ...]`` tag: ``[start, end)`` in the text and the silence it asks for."""

    start: int
    end: int
    seconds: float


@dataclass(frozen=True)
class PauseOptions:
    """Seconds of silence after a sentence, a paragraph and a chapter (``None``: the stitch's own defaults)."""

    sentence_s: float | None = None
    paragraph_s: float | None = None
    chapter_s: float | None = None


def pause_problem(seconds: float) -> str | None:
    """Why ``seconds`` cannot be a pause, or None."""
    if not math.isfinite(seconds) or seconds < 0:
        return f"must be a number of seconds, 0 or more; got {seconds:g}"
    if seconds > MAX_PAUSE_S:
        return f"must be at most {MAX_PAUSE_S:g} s; got {seconds:g}"
    return None


def parse_pause_body(body: str) -> float | None:
    """The seconds of a pause tag's inside (``"pause: 1.5s"``), None when it is not a pause tag at all.

    Raises ``ValueError`` (with the reason) for a pause tag that cannot be obeyed.
    """
    if not _PAUSE_WORD_RE.match(body):
        return None
    match = _DURATION_RE.fullmatch(body)
    if match is None:
        raise ValueError("a pause needs a duration, e.g. [pause: 1.5s] or [pause: 500ms]")
    value = float(match["value"])
    unit = (match["unit"] or "s").lower()
    seconds = value / MS_PER_S if unit.startswith("m") else value
    problem = pause_problem(seconds)
    if problem is not None:
        raise ValueError(f"a pause {problem}")
    return seconds


def find_pause_tags(text: str) -> list[PauseTag]:
    """Every pause tag in ``text``, in order; a tag that cannot be obeyed raises :class:`MarkupError`."""
    tags: list[PauseTag] = []
    for match in TAG_RE.finditer(text):
        try:
            seconds = parse_pause_body(match["body"])
        except ValueError as exc:
            raise MarkupError(f"pause tag {match[0]!r} in {where(text, match.start())}: {exc}") from None
        if seconds is not None:
            tags.append(PauseTag(match.start(), match.end(), seconds))
    return tags
