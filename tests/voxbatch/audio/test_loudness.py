"""The peak limiter works only around peaks: the same output as turning every window's gain, far less work."""

from __future__ import annotations

import numpy as np

from voxbatch.audio.loudness import PeakLimiter, sliding_min


def whole_window_limiter(signal: np.ndarray, threshold: float, h: int) -> np.ndarray:
    """The reference: every sample's gain from the full look-ahead window, computed everywhere at once."""
    context, width = 2 * h, 2 * h + 1
    padded = np.concatenate([np.zeros(context), signal, np.zeros(context)])
    wanted = threshold / np.maximum(np.abs(padded), threshold)
    reduction = 1.0 - sliding_min(wanted, width)
    sums = np.concatenate([[0.0], np.cumsum(reduction)])
    smooth = 1.0 - (sums[width:] - sums[:-width]) / width
    return signal * np.minimum(smooth, wanted[context : context + len(signal)])


def test_limiting_only_around_peaks_gives_the_whole_window_result() -> None:
    rng = np.random.default_rng(5)
    signal = rng.normal(0, 4000, 200_000)
    signal[rng.integers(0, len(signal), 300)] *= 8  # sparse peaks, some close together, some alone
    threshold, h = 20000.0, 120
    limiter = PeakLimiter(threshold, h)
    blocks = [limiter.process(signal[at : at + 65536]) for at in range(0, len(signal), 65536)]
    out = np.concatenate([*blocks, limiter.flush()])
    reference = whole_window_limiter(signal, threshold, h)
    np.testing.assert_allclose(out, reference, rtol=0, atol=1e-6)
    untouched = reference == signal
    assert untouched.mean() > 0.5 and np.array_equal(out[untouched], signal[untouched])  # bit-exact elsewhere
    assert np.abs(out).max() <= threshold * (1 + 1e-12)
