"""Sentence rules: pysbd's segmenter, with its character spans found by plain string search.

pysbd finds where each of its sentences sits in the input by compiling one regular expression per sentence
(``re.escape(sentence) + r"\\s*"``). Every sentence is a new pattern, so this fills Python's regex cache and
pushes out pysbd's own rule patterns, which are then compiled again for every paragraph: most of the time
chunking a book took. :class:`FastSpanSegmenter` finds the same spans with ``str.find``: the same matches, in
the same order, with the same trailing whitespace (``\\s`` is ``str.isspace`` for ``str`` patterns).
"""

from __future__ import annotations

import itertools
import unicodedata
from typing import Any

import pysbd
from pysbd.languages import LANGUAGE_CODES
from pysbd.utils import TextSpan

FALLBACK_LANGUAGE = "en"  # pysbd rules used for languages pysbd lacks


class FastSpanSegmenter(pysbd.Segmenter):
    """``pysbd.Segmenter(char_span=True)`` with the spans found without a regex per sentence."""

    def sentences_with_char_spans(self, sentences: list[str]) -> list[Any]:
        text: str = self.original_text
        spans = []
        prior_end = 0
        for sentence in sentences:
            position = 0
            while (start := text.find(sentence, position)) >= 0:  # re.finditer's matches, in its order
                end = start + len(sentence)
                while end < len(text) and text[end].isspace():
                    end += 1
                if end > prior_end:
                    spans.append(TextSpan(text[start:end], start, end))
                    prior_end = end
                    break
                position = end if end > start else start + 1  # an empty match: finditer moves on by one
        return spans


def segmenter(language: str) -> FastSpanSegmenter:
    """A fresh segmenter for ``language`` (ISO 639-1; a region suffix is ignored, an unknown language gets
    :data:`FALLBACK_LANGUAGE`'s rules). Fresh because pysbd keeps per-call state: not shared between callers."""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if code not in LANGUAGE_CODES:
        code = FALLBACK_LANGUAGE
    return FastSpanSegmenter(language=code, clean=False, char_span=True)


def sentence_spans(text: str, start: int, end: int, segmenter: FastSpanSegmenter) -> list[tuple[int, int]]:
    """Sentences of the paragraph ``text[start:end]``; pysbd only proposes cut points, so nothing can go missing."""
    try:
        spans = segmenter.segment(text[start:end])
    except Exception:  # a heuristic splitter must not fail a book: the paragraph is then one "sentence"
        spans = []
    cuts = [start]
    for span in spans:
        cut = start + int(span.end)
        while cut < end and text[cut].isspace():
            cut += 1
        if cut <= cuts[-1] or cut >= end:
            continue
        previous = text[cut - 1]
        # Only at a space, or after a wide (CJK) character, which has no spaces: never inside a word.
        if previous.isspace() or unicodedata.east_asian_width(previous) in ("W", "F"):
            cuts.append(cut)
    cuts.append(end)
    sentences = []
    for first, last in itertools.pairwise(cuts):
        stop = last
        while stop > first and text[stop - 1].isspace():
            stop -= 1
        sentences.append((first, stop))
    return sentences
