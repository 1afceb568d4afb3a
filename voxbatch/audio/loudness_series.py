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
    """Per-window sums of squares and peaks of a stream of int16 blocks of any lengths (not thread-safe)."""

    def __init__(self, sample_rate_hz: int, window_s: float = WINDOW_S) -> None:
        if sample_rate_hz <= 0 or not (math.isfinite(window_s) and window_s > 0):
            raise ValueError("sample_rate_hz and window_s must be positive")
        self.window_s = window_s
        self.window = max(1, round(window_s * sample_rate_hz))  # samples per window
        self._squares: list[npt.NDArray[np.float64]] = []  # per finished window: its sum of squares
        self._peaks: list[npt.NDArray[np.float64]] = []
        self._open_sum, self._open_peak, self._open_n = 0.0, 0.0, 0  # the window being filled

    def add(self, block: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> None:
        """The next samples of the stream."""
        start = 0
        if self._open_n:
            start = min(self.window - self._open_n, len(block))
            self._fill(block[:start])
            if self._open_n == self.window:
                self._close()
        whole = (len(block) - start) // self.window * self.window
        if whole:
            windows = block[start : start + whole].reshape(-1, self.window)
            self._squares.append(_sums_of_squares(windows))
            self._peaks.append(_peaks(windows))
        if start + whole < len(block):
            self._fill(block[start + whole :])

    def series(
        self,
        chapters: Sequence[tuple[str, float]] = (),
        target_rms_dbfs: float | None = None,
        peak_ceiling_dbfs: float | None = None,
    ) -> LoudnessSeries:
        """What was collected so far (a last, shorter window included: its mean is over its own samples)."""
        squares = [float(x) / self.window for part in self._squares for x in part]
        peaks = [float(x) for part in self._peaks for x in part]
        if self._open_n:
            squares.append(self._open_sum / self._open_n)
            peaks.append(self._open_peak)
        return LoudnessSeries(
            self.window_s, tuple(squares), tuple(peaks), tuple(chapters), target_rms_dbfs, peak_ceiling_dbfs
        )

    def _fill(self, samples: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> None:
        if len(samples):
            row = samples.reshape(1, -1)
            self._open_sum += float(_sums_of_squares(row)[0])
            self._open_peak = max(self._open_peak, float(_peaks(row)[0]))
            self._open_n += len(samples)

    def _close(self) -> None:
        self._squares.append(np.array([self._open_sum]))
        self._peaks.append(np.array([self._open_peak]))
        self._open_sum, self._open_peak, self._open_n = 0.0, 0.0, 0


def _sums_of_squares(windows: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per row. einsum: one pass, no squared temporary (and not np.dot, which goes to a threaded BLAS)."""
    as_float = windows.astype(np.float64, copy=False)
    return np.einsum("ij,ij->i", as_float, as_float)


def _peaks(windows: npt.NDArray[np.int16] | npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per row: the largest |sample|, from max and min (no abs temporary; -(-32768) does not fit in int16)."""
    return np.maximum(windows.max(axis=1).astype(np.float64), -windows.min(axis=1).astype(np.float64))
