"""Sentences of a paragraph, cut exactly as the chunker cuts them (pysbd, never inside a word).

The read-along EPUB (:mod:`voxbatch.readalong`) splits each chunk's text into the sentences it highlights; using
the chunker's own rules means a sentence boundary there is one the chunker could have cut at too.
"""

from __future__ import annotations

from collections.abc import Callable

from voxbatch.text.sentence_rules import segmenter, sentence_spans

SentenceSplitter = Callable[[str], list[tuple[int, int]]]


def sentence_splitter(language: str) -> SentenceSplitter:
    """A function from one paragraph to its sentences, ``[start, end)`` pairs without surrounding whitespace, that
    tile its non-space text in order; ``language`` picks pysbd's rules as :func:`~voxbatch.text.chunking.chunk_text`
    does. One splitter is not shared between threads (pysbd keeps per-call state)."""
    rules = segmenter(language)

    def split(paragraph: str) -> list[tuple[int, int]]:
        if not paragraph.strip():
            return []
        spans = []
        for start, end in sentence_spans(paragraph, 0, len(paragraph), rules):
            while start < end and paragraph[start].isspace():
                start += 1
            if end > start:
                spans.append((start, end))
        return spans

    return split
