"""Aligning the words heard in a chunk's audio with the text that was sent: which words were heard, and when each
word of the text is said.

The text is known, so nothing is guessed: the heard words (a recognizer's, or a provider's own word timestamps)
are matched to the text's words in order, and each text word takes the time of the heard words it matched.

- **words**: a chunk's words are its text split at whitespace, exactly (so a reader can re-split the text into
  sentences and map words in sequence). For matching, a word is reduced to keys: casefolded runs of letters and
  digits, apostrophes dropped (``"Don't,"`` -> ``dont``; ``well-known`` -> ``well``, ``known``); a text word is
  heard when any of its keys is matched.
- **matching**: the longest common subsequence of the two key sequences (dynamic programming, after their common
  start and end are set aside: a provider's own timestamps match almost word for word, for nothing) gives the
  in-order exact matches; between two of them, keys are still paired in order when their spellings are at least
  :data:`FUZZY_MATCH_RATIO` alike (a recognizer's ``alices`` for ``alice``), within :data:`FUZZY_WINDOW`.
  (:class:`difflib.SequenceMatcher` is not used for this: it takes the first longest block, and a sparse
  recognition is all one-word blocks.)
- **coverage**: heard words over countable words, a countable word being one with a letter (a number such as
  ``1865`` is said as words a recognizer writes out, so it is neither counted nor held against the chunk).
- **times**: a heard text word spans its matched heard words; every run of words not heard gets times interpolated
  by characters between its neighbours (the previous heard word's end, the next one's start, or the ``span``
  of speech at either end of the chunk), so every word has a time and times never go back.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from voxbatch.client.results import WordTime

FUZZY_MATCH_RATIO = 0.8  # two keys this alike (difflib ratio) pair up between exact matches ...
FUZZY_WINDOW = 4  # ... looking this many heard keys ahead (bounds the work in a long stretch heard wrong)
_APOSTROPHES = re.compile(r"['’ʼ`]")
_KEY = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]]*$")

__all__ = ["Alignment", "TimedWord", "align", "coverage_of", "sentence_spans", "text_words", "word_keys"]


@dataclass(frozen=True)
class TimedWord:
    """A word of the text and when it is said, in seconds from the start of its chunk."""

    text: str
    start_s: float
    end_s: float
    heard: bool  # matched to a heard word (else its time is interpolated)


@dataclass(frozen=True)
class Alignment:
    """A chunk's text words, timed, and how many of them were heard."""

    words: tuple[TimedWord, ...]
    countable: int  # words with a letter
    heard: int  # countable words matched to a heard word

    @property
    def coverage(self) -> float:
        """Heard words over countable words (1.0 for a text with none)."""
        return coverage_of(self.heard, self.countable)


def coverage_of(heard: int, countable: int) -> float:
    return heard / countable if countable else 1.0


def text_words(text: str) -> list[str]:
    """The words of a chunk's text: its whitespace-separated tokens, in order."""
    return text.split()


def word_keys(word: str) -> tuple[str, ...]:
    """What a word is matched by: its casefolded runs of letters and digits, apostrophes dropped."""
    return tuple(_KEY.findall(_APOSTROPHES.sub("", word.casefold())))


def _countable(word: str) -> bool:
    return any(ch.isalpha() for ch in word)


def _common_subsequence(a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
    """The index pairs of a longest common subsequence of ``a`` and ``b``, in order."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    inner_a, inner_b = a[head : len(a) - tail], b[head : len(b) - tail]
    n, m = len(inner_a), len(inner_b)
    rows = [[0] * (m + 1) for _ in range(n + 1)]  # rows[i][j]: the LCS length of inner_a[i:] and inner_b[j:]
    for i in range(n - 1, -1, -1):
        key, row, below = inner_a[i], rows[i], rows[i + 1]
        for j in range(m - 1, -1, -1):
            if key == inner_b[j]:
                row[j] = below[j + 1] + 1
            else:
                row[j] = max(below[j], row[j + 1])
    pairs = [(k, k) for k in range(head)]
    i = j = 0
    while i < n and j < m:
        if inner_a[i] == inner_b[j]:
            pairs.append((head + i, head + j))
            i, j = i + 1, j + 1
        elif rows[i + 1][j] >= rows[i][j + 1]:
            i += 1
        else:
            j += 1
    pairs += [(len(a) - tail + k, len(b) - tail + k) for k in range(tail)]
    return pairs


def _pairs(text_keys: Sequence[str], heard_keys: Sequence[str]) -> list[tuple[int, int]]:
    """In-order (text key, heard key) matches: exact ones, then alike ones between them."""
    exact = _common_subsequence(text_keys, heard_keys)
    pairs: list[tuple[int, int]] = []
    previous = (-1, -1)
    for anchor in [*exact, (len(text_keys), len(heard_keys))]:
        b = previous[1] + 1
        for a in range(previous[0] + 1, anchor[0]):
            for candidate in range(b, min(anchor[1], b + FUZZY_WINDOW)):
                if difflib.SequenceMatcher(None, text_keys[a], heard_keys[candidate]).ratio() >= FUZZY_MATCH_RATIO:
                    pairs.append((a, candidate))
                    b = candidate + 1
                    break
        if anchor[0] < len(text_keys):
            pairs.append(anchor)
        previous = anchor
    return pairs


def align(words: Sequence[str], heard: Sequence[WordTime], span: tuple[float, float]) -> Alignment:
    """Time the text ``words`` by the ``heard`` words (times from the chunk's start, in order); ``span`` is where
    speech starts and ends in the chunk (the bounds of interpolation at its edges)."""
    text_owner: list[int] = []
    text_keys: list[str] = []
    for i, word in enumerate(words):
        for key in word_keys(word):
            text_owner.append(i)
            text_keys.append(key)
    heard_owner: list[int] = []
    heard_keys: list[str] = []
    for j, w in enumerate(heard):
        for key in word_keys(w.word):
            heard_owner.append(j)
            heard_keys.append(key)
    times: list[tuple[float, float] | None] = [None] * len(words)
    for a, b in _pairs(text_keys, heard_keys):
        owner, got = text_owner[a], heard[heard_owner[b]]
        known = times[owner]
        times[owner] = (
            (got.start_s, got.end_s) if known is None else (min(known[0], got.start_s), max(known[1], got.end_s))
        )
    heard_flags = [t is not None for t in times]
    timed = _interpolate(words, times, span)
    out = tuple(TimedWord(w, s, e, h) for w, (s, e), h in zip(words, timed, heard_flags, strict=True))
    countable = [_countable(w) for w in words]
    return Alignment(out, sum(countable), sum(c and h for c, h in zip(countable, heard_flags, strict=True)))


def _interpolate(
    words: Sequence[str], times: list[tuple[float, float] | None], span: tuple[float, float]
) -> list[tuple[float, float]]:
    """Every word's time: known ones kept in order (never going back), unknown runs spread by characters over the
    gap between their neighbours."""
    lo_s, hi_s = span[0], max(span[0], span[1])
    out: list[tuple[float, float]] = []
    previous_end_s = lo_s
    i = 0
    while i < len(words):
        known = times[i]
        if known is not None:
            start_s = max(known[0], previous_end_s) if out else known[0]
            end_s = max(known[1], start_s)
            out.append((start_s, end_s))
            previous_end_s = end_s
            i += 1
            continue
        j = i
        while j < len(words) and times[j] is None:
            j += 1
        right = times[j] if j < len(words) else None
        gap_end_s = max(previous_end_s, right[0] if right is not None else hi_s)
        weights = [len(w) + 1 for w in words[i:j]]
        total = sum(weights)
        at = 0
        for weight in weights:
            start_s = previous_end_s + (gap_end_s - previous_end_s) * at / total
            at += weight
            out.append((start_s, previous_end_s + (gap_end_s - previous_end_s) * at / total))
        previous_end_s = gap_end_s
        i = j
    return out


def sentence_spans(words: Sequence[str]) -> list[tuple[int, int]]:
    """``[first, end)`` word ranges of the sentences of a chunk: each ends after a word ending a sentence
    (``. ! ? …``, closing quotes or brackets allowed), the last one at the chunk's end."""
    spans: list[tuple[int, int]] = []
    first = 0
    for i, word in enumerate(words):
        if _SENTENCE_END.search(word):
            spans.append((first, i + 1))
            first = i + 1
    if first < len(words):
        spans.append((first, len(words)))
    return spans
