"""Markup: what in a manuscript is an instruction to the reader rather than text to read.

An instruction is a tag in square brackets on one line: ``[pause: 1.5s]`` (:mod:`voxbatch.text.pauses`) or a
speaker tag such as ``[Alice]`` (:mod:`voxbatch.text.cast`). A tag is never spoken. A tag that looks like an
instruction but cannot be obeyed (a pause without a duration, a speaker missing from the cast) is a
:class:`MarkupError`, raised before anything is billed, never read aloud by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TAG_CHARS = 60  # inside the brackets; a longer bracketed passage is prose, not an instruction
TAG_RE = re.compile(rf"\[(?P<body>[^\[\]\n]{{1,{MAX_TAG_CHARS}}})\]")
_EXCERPT_CHARS = 40


class MarkupError(ValueError):
    """A tag in the text that cannot be obeyed; the message names the tag and where it is."""


def where(text: str, position: int) -> str:
    """A short description of ``position`` for an error: its paragraph number and the words around it."""
    paragraph = text.count("\n\n", 0, position) + 1
    excerpt = " ".join(text[max(0, position - _EXCERPT_CHARS // 2) : position + _EXCERPT_CHARS].split())
    return f"paragraph {paragraph} (near {excerpt!r})"


def blank_out(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with every span replaced by as many spaces: offsets stay, the tags are gone."""
    parts: list[str] = []
    position = 0
    for start, end in sorted(spans):
        parts += [text[position:start], " " * (end - start)]
        position = end
    parts.append(text[position:])
    return "".join(parts)
