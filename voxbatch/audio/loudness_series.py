"""A book's level along its length: RMS and peak per window of the encoded signal, collected while it is stitched.

:class:`LoudnessCollector` is fed every int16 block the stitcher hands the encoder (``stitch_book(...,
on_pcm=collector.add)``), so it costs one pass of numpy over samples already in memory and no decode of the
finished file. :meth:`LoudnessCollector.series` gives a :class:`LoudnessSeries`: per-window mean square and peak,
the book's chapter starts and the levels the book was normalized to, which
:mod:`voxbatch.charts.loudness_chart` draws. Levels are dBFS as in :mod:`voxbatch.audio.loudness` (RMS, the
ACX convention, not K-weighted LUFS).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voxbatch.audio.loudness import to_dbfs

WINDOW_S = 1.0  # one point per second of the book; a chart of a long book bins them (LoudnessSeries.binned)


@dataclass(frozen=True)
class LoudnessSeries:
    """RMS and peak per window of a book, its chapter starts and the levels it was normalized to."""

    window_s: float
    mean_square: tuple[float, ...]  # per window, int16 units squared (the last window may be shorter)
    peak: tuple[float, ...]  # per window, |sample| in int16 units
    chapters: tuple[tuple[str, float], ...] = ()  # (title, start second)
    target_rms_dbfs: float | None = None  # None: the book was not normalized
    peak_ceiling_dbfs: float | None = None

    @property
    def rms_dbfs(self) -> tuple[float, ...]:
        """Per window; ``-inf`` for digital silence."""
        return tuple(to_dbfs(math.sqrt(value)) for value in self.mean_square)

    @property
    def peak_dbfs(self) -> tuple[float, ...]:
        return tuple(to_dbfs(value) for value in self.peak)

    @property
    def starts_s(self) -> tuple[float, ...]:
        """Each window's start on the book's timeline."""
        return tuple(index * self.window_s for index in range(len(self.mean_square)))

    def binned(self, max_points: int) -> LoudnessSeries:
        """At most ``max_points`` windows: runs of consecutive windows merged (energy averaged, peak the highest)."""
        if max_points < 1:
            raise ValueError(f"max_points must be at least 1, got {max_points}")
        factor = math.ceil(len(self.mean_square) / max_points)
        if factor <= 1:
            return self
        squares = np.asarray(self.mean_square, dtype=np.float64)
        peaks = np.asarray(self.peak, dtype=np.float64)
        starts = np.arange(0, len(squares), factor)
        counts = np.diff(np.append(starts, len(squares)))  # the last run may be shorter
        return LoudnessSeries(
            window_s=self.window_s * factor,
            mean_square=tuple((np.add.reduceat(squares, starts) / counts).tolist()),
            peak=tuple(np.maximum.reduceat(peaks, starts).tolist()),
            chapters=self.chapters,
            target_rms_dbfs=self.target_rms_dbfs,
            peak_ceiling_dbfs=self.peak_ceiling_dbfs,
        )


class LoudnessCollector:
    """Per-window sums of squares and peaks of int16 blocks placed on the book's timeline: in order (:meth:`add`) or
    at any sample offset, in any order and from any thread (:meth:`add_at`, for segments encoded in parallel)."""

    def __init__(self, sample_rate_hz: int, window_s: float = WINDOW_S) -> None:
        if sample_rate_hz <= 0 or not (math.isfinite(window_s) and window_s > 0):
            raise ValueError("sample_rate_hz and window_s must be positive")
        self.window_s = window_s
        self.window = max(1, round(window_s * sample_rate_hz))  # samples per window
        self._sums = np.zeros(0, dtype=np.float64)  # per window: its sum of squares so far
        self._peaks = np.zeros(0, dtype=np.float64)
        self._end = 0  # one past the last sample seen
        self._next = 0  # where :meth:`add` places its block
        self._lock = threading.Lock()

    def add(self, block: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> None:
        """The next samples of the stream."""
        self.add_at(self._next, block)

    def add_at(self, offset: int, block: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> None:
        """The samples ``block`` of the timeline, from sample ``offset`` on."""
        if not len(block):
            return
        first = offset // self.window
        head = min(len(block), -offset % self.window)  # up to the next window's start
        whole = (len(block) - head) // self.window * self.window
        parts = [block[:head]] if head else []
        if whole:
            parts.append(block[head : head + whole].reshape(-1, self.window))
        if head + whole < len(block):
            parts.append(block[head + whole :])
        rows = [part if part.ndim == 2 else part.reshape(1, -1) for part in parts]
        sums = np.concatenate([_sums_of_squares(row) for row in rows])
        peaks = np.concatenate([_peaks(row) for row in rows])
        with self._lock:
            needed = first + len(sums)
            if needed > len(self._sums):
                grow = needed - len(self._sums)
                self._sums = np.concatenate([self._sums, np.zeros(grow)])
                self._peaks = np.concatenate([self._peaks, np.zeros(grow)])
            self._sums[first:needed] += sums
            np.maximum(self._peaks[first:needed], peaks, out=self._peaks[first:needed])
            self._end = max(self._end, offset + len(block))
            self._next = offset + len(block)

    def series(
        self,
        chapters: Sequence[tuple[str, float]] = (),
        target_rms_dbfs: float | None = None,
        peak_ceiling_dbfs: float | None = None,
    ) -> LoudnessSeries:
        """What was collected so far (a last, shorter window included: its mean is over its own samples)."""
        with self._lock:
            count = -(-self._end // self.window)
            sizes = np.full(count, float(self.window))
            if count and self._end % self.window:
                sizes[-1] = self._end % self.window
            squares = (self._sums[:count] / sizes).tolist()
            peaks = self._peaks[:count].tolist()
        return LoudnessSeries(
            self.window_s, tuple(squares), tuple(peaks), tuple(chapters), target_rms_dbfs, peak_ceiling_dbfs
        )


def _sums_of_squares(windows: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per row. einsum: one pass, no squared temporary (and not np.dot, which goes to a threaded BLAS)."""
    as_float = windows.astype(np.float64, copy=False)
    return np.einsum("ij,ij->i", as_float, as_float)


def _peaks(windows: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per row: the largest |sample|, from max and min (no abs temporary; -(-32768) does not fit in int16)."""
    return np.maximum(windows.max(axis=1).astype(np.float64), -windows.min(axis=1).astype(np.float64))
