"""A stand-in recognizer for tests: one made-up word per loud stretch of the audio, at its true time.

``LocalServer(ServerOptions(recognizer="fake"))`` answers transcriptions with it instead of pocketsphinx:
the same request handling, limits, faults, billing and answer shapes over real HTTP, without the
recognition cost (a few numpy passes, milliseconds per minute of audio, no worker process). Tests whose
point is recognition itself (word error rates, round trips) keep the real recognizer.

What it hears is a pure function of the samples, so tests can predict it (:func:`recognize_stand_in`):

- a *word* is a stretch where the mean power over a centred ``ENERGY_WINDOW_S`` window is above
  ``LOUD_DBFS``; stretches closer than ``WORD_GAP_S`` are one word, words shorter than ``MIN_WORD_S`` are
  dropped. Power is summed exactly (int64), so a stretch reads the same, with the same times, in the whole
  recording and in any chunk cut from it that holds it and the window around it;
- its text is made of syllables that spell the stretch's length (10 ms steps) and loudness (2 dB steps):
  the same stretch, the same word; neighbouring words rarely share both;
- a *segment* is a run of words with gaps shorter than ``SEGMENT_GAP_S``.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import numpy.typing as npt

from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ, Recognition, RecognizedSegment, RecognizedWord

LOUD_DBFS = -30.0  # louder than room tone and jfk.flac's crowd hiss (-42 dBFS), quieter than its words
ENERGY_WINDOW_S = 0.02
WORD_GAP_S = 0.05
MIN_WORD_S = 0.06
SEGMENT_GAP_S = 0.3
LENGTH_STEP_S = 0.01  # a word's length, in these steps, picks its syllables
LOUDNESS_STEP_DB = 2.0
BLOCK_SAMPLES = 1 << 20  # power is summed a block at a time: memory stays bounded for hours of audio
FULL_SCALE = 32768.0
CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
SYLLABLES = tuple(c + v for c in CONSONANTS for v in VOWELS)

__all__ = ["recognize", "recognize_stand_in"]


def _loud(pcm: npt.NDArray[np.int16], window: int) -> npt.NDArray[np.bool_]:
    """For each sample: whether the window centred on it (zeros beyond the ends) is louder than LOUD_DBFS."""
    half = window // 2
    threshold = int((10 ** (LOUD_DBFS / 20) * FULL_SCALE) ** 2 * window)
    n = len(pcm)
    out = np.zeros(n, dtype=bool)
    for start in range(0, n, BLOCK_SAMPLES):
        end = min(start + BLOCK_SAMPLES, n)
        lo, hi = max(start - half, 0), min(end + half, n)
        power = np.concatenate(([0], np.cumsum(pcm[lo:hi].astype(np.int64) ** 2)))
        at = np.arange(start, end)
        out[start:end] = power[np.minimum(at + half, n) - lo] - power[np.maximum(at - half, 0) - lo] > threshold
    return out


def _stretches(loud: npt.NDArray[np.bool_], sample_rate_hz: int) -> list[tuple[int, int]]:
    """Loud stretches as ``[start, end)`` sample ranges, short gaps closed and short stretches dropped."""
    edges = np.diff(np.concatenate(([0], loud.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    gap, shortest = round(WORD_GAP_S * sample_rate_hz), round(MIN_WORD_S * sample_rate_hz)
    joined: list[tuple[int, int]] = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        if joined and start - joined[-1][1] < gap:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return [(start, end) for start, end in joined if end - start >= shortest]


def _spelling(pcm: npt.NDArray[np.int16], start: int, end: int, sample_rate_hz: int) -> str:
    """The made-up word for ``pcm[start:end]``: syllables for its length, then one for its loudness."""
    steps = int((end - start) // round(LENGTH_STEP_S * sample_rate_hz))
    power = float(np.mean(pcm[start:end].astype(np.float64) ** 2))
    loudness = int(-10 * np.log10(max(power, 1.0) / FULL_SCALE**2) // LOUDNESS_STEP_DB)
    length = SYLLABLES[steps % len(SYLLABLES)] + (SYLLABLES[steps // len(SYLLABLES)] if steps >= len(SYLLABLES) else "")
    return length + SYLLABLES[loudness % len(SYLLABLES)]


def recognize_stand_in(pcm: npt.NDArray[np.int16], sample_rate_hz: int = SPHINX_SAMPLE_RATE_HZ) -> Recognition:
    """What the stand-in hears in mono int16 ``pcm``: words and segments with true times."""
    samples = np.asarray(pcm, dtype=np.int16)
    words = [
        RecognizedWord(_spelling(samples, start, end, sample_rate_hz), start / sample_rate_hz, end / sample_rate_hz)
        for start, end in _stretches(_loud(samples, round(ENERGY_WINDOW_S * sample_rate_hz)), sample_rate_hz)
    ]
    groups: list[list[RecognizedWord]] = []
    for word in words:
        if groups and word.start_s - groups[-1][-1].end_s < SEGMENT_GAP_S:
            groups[-1].append(word)
        else:
            groups.append([word])
    segments = tuple(
        RecognizedSegment(g[0].start_s, g[-1].end_s, " ".join(w.word for w in g), tuple(g)) for g in groups
    )
    return Recognition(len(samples) / sample_rate_hz, segments)


async def recognize(
    pcm: npt.NDArray[np.int16], sample_rate_hz: int = SPHINX_SAMPLE_RATE_HZ, cancel: threading.Event | None = None
) -> Recognition:
    """:func:`recognize_stand_in` off the event loop; same signature as the real recognizer's (``cancel`` is
    not needed: it finishes in milliseconds)."""
    return await asyncio.to_thread(recognize_stand_in, pcm, sample_rate_hz)
