"""Streaming level measurement, gain finding, edge fades and a look-ahead peak limiter, in numpy.

Levels are in dBFS relative to int16 full scale (32768), i.e. ``20 * log10(rms / 32768)``, the
convention ACX and Audacity use (a full-scale sine reads -3 dBFS RMS). Every function works on
bounded blocks so a whole book never has to be in memory.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from voxbatch.audio.pcm import INT16_FULL_SCALE

FloatArray = npt.NDArray[np.float64]

INT16_LEVELS = 32769  # |sample| of int16 PCM is 0..32768
GAIN_SEARCH_STEPS = 60  # bisection steps on log(gain): far finer than a 0.01 dB step
MAX_GAIN_DB = 40.0  # never lift a (nearly) silent book by more than this
MERGE_GAP_SAMPLES = 4096  # the limiter works on stretches around peaks; closer ones share one stretch


def to_dbfs(amplitude: float) -> float:
    """Sample amplitude (int16 units) as dBFS; ``-inf`` for silence."""
    return 20.0 * math.log10(amplitude / INT16_FULL_SCALE) if amplitude > 0 else -math.inf


def from_dbfs(level_dbfs: float) -> float:
    """dBFS as a sample amplitude in int16 units."""
    return INT16_FULL_SCALE * 10.0 ** (level_dbfs / 20.0)


class LevelMeter:
    """Running RMS and peak of a stream of blocks; optionally a histogram of |sample| for :func:`normalizing_gain`."""

    def __init__(self, histogram: bool = False) -> None:
        self.samples = 0
        self.sum_squares = 0.0
        self.peak = 0.0
        self.histogram: npt.NDArray[np.int64] | None = np.zeros(INT16_LEVELS, np.int64) if histogram else None

    def add(self, block: npt.NDArray[np.float64] | npt.NDArray[np.int16]) -> None:
        if len(block) == 0:
            return
        as_float = block.astype(np.float64, copy=False)
        self.samples += len(block)
        # Not np.dot: that goes to a threaded BLAS, ~100x slower on a busy 2-core machine.
        self.sum_squares += float(np.square(as_float).sum())
        magnitude = np.abs(as_float)
        self.peak = max(self.peak, float(magnitude.max()))
        if self.histogram is not None:
            levels = np.minimum(magnitude + 0.5, INT16_LEVELS - 1).astype(np.int64)  # round half up, >= 0
            self.histogram += np.bincount(levels, minlength=INT16_LEVELS)

    def add_silence(self, n_samples: int) -> None:
        """Digital silence: it only counts samples (and the zero bin of the histogram)."""
        self.samples += n_samples
        if self.histogram is not None:
            self.histogram[0] += n_samples

    @property
    def rms(self) -> float:
        return math.sqrt(self.sum_squares / self.samples) if self.samples else 0.0

    @property
    def rms_dbfs(self) -> float:
        return to_dbfs(self.rms)

    @property
    def peak_dbfs(self) -> float:
        return to_dbfs(self.peak)


def normalizing_gain(meter: LevelMeter, target_rms: float, limit: float) -> float:
    """The one gain that brings the stream's RMS to ``target_rms`` after peaks are limited to ``limit``.

    The limiter removes some energy from the loudest samples, so the plain ratio ``target / rms``
    would land low on a stream with hot peaks. The meter's histogram models the limiter as a hard
    clip at ``limit`` and the gain is found by bisection on that model (the real limiter also turns
    down a few ms around each peak, so the result can sit a little under the target).
    """
    if meter.histogram is None:
        raise ValueError("normalizing_gain needs a LevelMeter(histogram=True)")
    if meter.rms == 0:
        return 1.0
    max_gain = 10.0 ** (MAX_GAIN_DB / 20.0)
    plain = min(target_rms / meter.rms, max_gain)
    levels = np.arange(INT16_LEVELS, dtype=np.float64)
    counts = meter.histogram.astype(np.float64)
    wanted = target_rms**2 * meter.samples

    def energy(gain: float) -> float:
        return float((counts * np.minimum(levels * gain, limit) ** 2).sum())

    if energy(plain) >= wanted:
        return plain
    if energy(max_gain) <= wanted:
        return max_gain
    low, high = math.log(plain), math.log(max_gain)
    for _ in range(GAIN_SEARCH_STEPS):
        mid = (low + high) / 2
        low, high = (mid, high) if energy(math.exp(mid)) < wanted else (low, mid)
    return math.exp(high)


def edge_fade(n_samples: int, fade_samples: int, start: int, length: int) -> FloatArray | None:
    """Gains for samples ``[start, start + length)`` of a chunk of ``n_samples`` with raised-cosine edge fades.

    ``None`` when that span is untouched by either fade. Chunks shorter than two fades get
    proportionally shorter fades, so every chunk starts and ends near zero.
    """
    fade = min(fade_samples, n_samples // 2)
    if fade == 0 or (start >= fade and start + length <= n_samples - fade):
        return None
    index = np.arange(start, start + length)
    envelope = np.ones(length)
    head = index < fade
    tail = index >= n_samples - fade
    envelope[head] = 0.5 - 0.5 * np.cos(np.pi * (index[head] + 0.5) / fade)
    envelope[tail] *= 0.5 - 0.5 * np.cos(np.pi * (n_samples - index[tail] - 0.5) / fade)
    return envelope


def sliding_min(values: FloatArray, width: int) -> FloatArray:
    """``out[i] = min(values[i : i + width])`` for every full window, in O(n) (van Herk / Gil-Werman)."""
    n = len(values)
    if n < width:
        return np.empty(0)
    padded = np.concatenate([values, np.full(-n % width, np.inf)]).reshape(-1, width)
    prefix = np.minimum.accumulate(padded, axis=1).ravel()
    suffix = np.minimum.accumulate(padded[:, ::-1], axis=1)[:, ::-1].ravel()
    return np.minimum(suffix[: n - width + 1], prefix[width - 1 : n])


class PeakLimiter:
    """A streaming look-ahead brick-wall limiter: no output sample exceeds ``threshold`` (int16 units).

    The wanted gain ``min(1, threshold / |x|)`` is eroded with a min filter of ``2h + 1`` samples
    and smoothed with a moving average of the same width, so gain changes are ramps of about
    ``2h`` samples that are already at their floor when the peak arrives. The output is delayed
    internally by ``2h`` samples; :meth:`flush` returns the rest, so samples in == samples out.
    Blocks with no sample over the threshold pass through untouched.
    """

    def __init__(self, threshold: float, half_width: int) -> None:
        if threshold <= 0:
            raise ValueError("limiter threshold must be positive")
        self.threshold = threshold
        self._h = max(1, half_width)
        self._history: FloatArray = np.zeros(2 * self._h)  # the 2h input samples before the pending ones
        self._pending: FloatArray = np.zeros(0)  # input not yet output (waiting for look-ahead)

    def process(self, block: FloatArray) -> FloatArray:
        context = 2 * self._h
        pending = np.concatenate([self._pending, block])
        n_out = len(pending) - context
        if n_out <= 0:
            self._pending = pending
            return np.zeros(0)
        window = np.concatenate([self._history, pending])
        out = self._limit(window, n_out)
        self._history = window[n_out : n_out + context]
        self._pending = pending[n_out:]
        return out

    def flush(self) -> FloatArray:
        out = self.process(np.zeros(2 * self._h))
        self._pending = np.zeros(0)
        self._history = np.zeros(2 * self._h)
        return out

    def _limit(self, window: FloatArray, n_out: int) -> FloatArray:
        context, width = 2 * self._h, 2 * self._h + 1
        centre = window[context : context + n_out]
        out = centre.copy()
        over = np.flatnonzero(np.abs(window) > self.threshold)
        if not len(over):
            return out
        # Output sample i is turned down only if a sample over the threshold lies in window[i : i + 2 * context + 1]:
        # work on those stretches alone (peaks are rare), merged when they are close. Everywhere else the gain is
        # exactly 1 and the samples pass bit-exact.
        starts, ends = over - 2 * context, over
        breaks = np.flatnonzero(starts[1:] > ends[:-1] + MERGE_GAP_SAMPLES)
        for first, last in zip(
            np.concatenate([[starts[0]], starts[breaks + 1]]), np.concatenate([ends[breaks], [ends[-1]]]), strict=True
        ):
            a, b = max(int(first), 0), min(int(last), n_out - 1)
            if a > b:
                continue
            stretch = np.abs(window[a : b + 2 * context + 1])
            wanted = self.threshold / np.maximum(stretch, self.threshold)
            # Average the gain REDUCTION (1 - gain): where the stretch holds no reduction the cumulative sum is
            # flat and the difference exactly 0.
            reduction = 1.0 - sliding_min(wanted, width)
            sums = np.concatenate([[0.0], np.cumsum(reduction)])
            smooth = 1.0 - (sums[width:] - sums[:-width]) / width
            # An average of gains that are each <= wanted[centre] cannot exceed it; the min() only absorbs the
            # rounding of the cumulative sum.
            out[a : b + 1] = centre[a : b + 1] * np.minimum(smooth, wanted[context : context + b - a + 1])
        return out
