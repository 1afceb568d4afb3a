"""Word timings from espeak-ng's word events: which span of the input each event is, and when it sounds.

espeak-ng's events do not line up with written words (numbers give overlapping events, apostrophes
split words, some CJK characters get none), so events are merged and grown into whole written words,
and each word's end is trimmed back to its last audible sample.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SILENCE_THRESHOLD_INT16 = 200  # |sample| at or below this counts as silence when trimming word ends


@dataclass(frozen=True)
class WordTiming:
    """One written word of the input and when it is heard."""

    word: str  # the word as it appears in the input text
    start_s: float
    end_s: float


# Characters that join the parts of one written word ("don't", "l'été", "U.S.A", "2024-01-05", "1,234").
_WORD_JOINERS = frozenset("'’ʼ-‐‑.,:/")


def _is_word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char).startswith("M")  # M: combining accents


def _word_spans(text: str, events: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """(char start, char end, audio ms) per written word, from espeak's WORD events.

    The events' character spans are only approximately the written words: a number read out as several
    words gives several overlapping spans ("1," ",2" "234" "34 " for "1,234"), a word is cut at an
    apostrophe ("don" for "don't"), a word in curly quotes can have length 0, and in Chinese some
    characters get no event of their own. So: merge overlapping spans (keeping the first event's time),
    then grow each span through word characters and joiners up to the next word's start.
    """
    groups: list[list[int]] = []  # [char start, char end, audio ms]
    for position, length, audio_ms in events:
        start_char = min(max(position - 1, 0), len(text))
        end_char = min(start_char + max(length, 0), len(text))
        if groups and start_char < groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], end_char)
        else:
            groups.append([start_char, end_char, audio_ms])
    spans: list[tuple[int, int, int]] = []
    for index, (start_char, end_char, audio_ms) in enumerate(groups):
        limit = groups[index + 1][0] if index + 1 < len(groups) else len(text)
        while end_char < limit and (
            _is_word_char(text[end_char])
            or (text[end_char] in _WORD_JOINERS and end_char + 1 < limit and _is_word_char(text[end_char + 1]))
        ):
            end_char += 1
        word = text[start_char:end_char].strip()
        # Merged number spans overshoot onto separators ("05," in "2024-01-05,"); espeak's own spans never
        # include edge punctuation, so trim it - unless the word is nothing but punctuation ("&").
        trimmed = word.strip("".join(char for char in word if unicodedata.category(char).startswith("P")))
        if trimmed or word:
            start_char += text[start_char:end_char].find(trimmed or word)
            spans.append((start_char, start_char + len(trimmed or word), audio_ms))
    return spans


def word_timings(
    text: str, events: list[tuple[int, int, int]], pcm: npt.NDArray[np.int16], sample_rate_hz: int
) -> tuple[WordTiming, ...]:
    """Turn WORD events into timings; each word ends at its last audible sample before the next word."""
    n_samples = len(pcm)
    starts: list[int] = []
    for _, _, audio_ms in (spans := _word_spans(text, events)):
        start_sample = min(max(round(audio_ms * sample_rate_hz / 1000), 0), n_samples)
        starts.append(max(start_sample, starts[-1]) if starts else start_sample)  # keep starts monotonic

    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > SILENCE_THRESHOLD_INT16)
    words: list[WordTiming] = []
    for index, ((start_char, end_char, _), start_sample) in enumerate(zip(spans, starts, strict=True)):
        if start_sample >= n_samples:
            break
        limit = starts[index + 1] if index + 1 < len(starts) else n_samples
        # End at the last audible sample before the next word starts, if it lies within this word.
        last_loud = np.searchsorted(loud, limit) - 1
        end_sample = int(loud[last_loud]) + 1 if last_loud >= 0 and loud[last_loud] >= start_sample else limit
        end_sample = min(max(end_sample, start_sample + 1), n_samples)
        words.append(
            WordTiming(
                word=text[start_char:end_char],
                start_s=start_sample / sample_rate_hz,
                end_s=end_sample / sample_rate_hz,
            )
        )
    return tuple(words)
