"""Which words of a chunk's text the timed words are, and when any point of that text is spoken.

The timed words of a chunk are its text's words in order, but not always spelled as the text has them: a provider
may split ``don't`` in two, drop punctuation, or speak a lexicon's rewrite of a word the text shows as written. So
words are matched by their letters and digits only (case folded), in order, each searched for a little way past the
previous match; a word that is not found there is left out, and the text keeps going. A text token (a run of
non-space characters) takes the time of the first word matched inside it.

:class:`ChunkClock` answers when a character of the chunk's text is spoken: exactly at a matched word's start, and
elsewhere by linear interpolation between the nearest known points (the chunk's own start and end included), so a
sentence whose words were not matched still gets a place in time.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from voxbatch.readalong.timing import TimedWord

MATCH_WINDOW_CHARS = 40  # letters a word may lie past the previous match (the words the provider left out)
_TOKEN_RE = re.compile(r"\S+")


@dataclass(frozen=True)
class Token:
    """A run of non-space characters of the text, ``[start, end)``, and when it starts (None: no word matched)."""

    start: int
    end: int
    start_s: float | None

    def is_word(self, text: str) -> bool:
        """Whether it holds a letter or digit (a lone dash or quote is no word to speak)."""
        return any(char.isalnum() for char in text[self.start : self.end])


def _fold(text: str) -> str:
    return "".join(char.lower() for char in text if char.isalnum())


def _folded_with_positions(text: str) -> tuple[str, list[int]]:
    letters: list[str] = []
    positions: list[int] = []
    for at, char in enumerate(text):
        if char.isalnum():
            for folded in char.lower():
                letters.append(folded)
                positions.append(at)
    return "".join(letters), positions


def align_words(text: str, words: Sequence[TimedWord]) -> list[Token]:
    """The tokens of ``text`` in order, each with the start of the first timed word matched inside it."""
    spans = [match.span() for match in _TOKEN_RE.finditer(text)]
    token_at = [-1] * len(text)
    for number, (start, end) in enumerate(spans):
        token_at[start:end] = [number] * (end - start)
    folded, positions = _folded_with_positions(text)
    starts: list[float | None] = [None] * len(spans)
    cursor = 0
    for word in words:
        key = _fold(word.text)
        if not key:
            continue
        found = folded.find(key, cursor, cursor + len(key) + MATCH_WINDOW_CHARS)
        if found < 0:
            continue
        token = token_at[positions[found]]
        if starts[token] is None:
            starts[token] = word.start_s
        cursor = found + len(key)
    return [Token(start, end, start_s) for (start, end), start_s in zip(spans, starts, strict=True)]


class ChunkClock:
    """When each character of a chunk's text is spoken, from its matched words and its own start and end."""

    def __init__(self, text: str, start_s: float, end_s: float, tokens: Sequence[Token]) -> None:
        points = [(0, start_s)]
        points += [(token.start, token.start_s) for token in tokens if token.start_s is not None]
        points.append((len(text), max(end_s, start_s)))
        points.sort(key=lambda point: point[0])
        self._chars: list[int] = []
        self._times: list[float] = []
        latest = start_s
        for char, time_s in points:
            latest = max(latest, time_s)  # never back in time, whatever the words say
            self._chars.append(char)
            self._times.append(latest)

    def time_at(self, char: int) -> float:
        """Seconds into the book at which character ``char`` of the text is spoken."""
        right = bisect.bisect_right(self._chars, char)
        if right and self._chars[right - 1] == char:
            return self._times[right - 1]  # a known point (the last of several at one character)
        if right == 0:
            return self._times[0]
        if right == len(self._chars):
            return self._times[-1]
        left = right - 1
        share = (char - self._chars[left]) / (self._chars[right] - self._chars[left])
        return self._times[left] + share * (self._times[right] - self._times[left])
