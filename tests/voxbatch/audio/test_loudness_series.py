"""The loudness series: per-window RMS and peak of a stream fed in blocks of any size, binning for long books, and
the stitcher feeding it every block it encodes (``stitch_book(on_pcm=...)``)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from voxbatch.audio.loudness import to_dbfs
from voxbatch.audio.loudness_series import LoudnessCollector, LoudnessSeries
from voxbatch.audio.stitch import BookMeta, Piece, StitchOptions, stitch_book

RATE_HZ = 8000


def _signal(seconds: float, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(int(seconds * RATE_HZ)) * 2000).astype(np.int16)
    samples[RATE_HZ : 2 * RATE_HZ] = 0  # second 2 is silence
    return samples


def test_windows_match_a_direct_computation_whatever_the_block_sizes() -> None:
    signal = _signal(5.5)
    collector = LoudnessCollector(RATE_HZ)
    sizes = np.random.default_rng(1).integers(1, 3 * RATE_HZ, 50)
    start = 0
    for size in sizes:
        collector.add(signal[start : start + size])
        start += int(size)
    collector.add(signal[start:])
    series = collector.series()
    assert len(series.mean_square) == 6  # five whole seconds and a half one
    as_float = signal.astype(np.float64)
    for window in range(6):
        part = as_float[window * RATE_HZ : (window + 1) * RATE_HZ]
        assert series.mean_square[window] == pytest.approx(float(np.mean(part**2)))
        assert series.peak[window] == float(np.max(np.abs(part)))
    assert series.rms_dbfs[1] == -math.inf and series.peak_dbfs[1] == -math.inf
    assert series.starts_s == (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)


def test_the_lowest_int16_sample_is_a_full_scale_peak() -> None:
    collector = LoudnessCollector(RATE_HZ)
    collector.add(np.array([5, -32768, 7], dtype=np.int16))
    collector.add(np.full(RATE_HZ, -32768, dtype=np.int16))  # completes the first window, opens a second
    assert collector.series().peak == (32768.0, 32768.0)


def test_binning_averages_energy_and_keeps_the_highest_peak() -> None:
    series = LoudnessSeries(1.0, (1.0, 3.0, 5.0, 7.0, 9.0), (1.0, 4.0, 2.0, 8.0, 3.0))
    binned = series.binned(2)
    assert binned.window_s == 3.0
    assert binned.mean_square == (3.0, 8.0) and binned.peak == (4.0, 8.0)
    assert series.binned(5) is series
    with pytest.raises(ValueError):
        series.binned(0)


def test_blocks_placed_in_any_order_make_the_series_of_the_stream() -> None:
    signal = _signal(3.7, seed=3)
    in_order, shuffled = LoudnessCollector(RATE_HZ), LoudnessCollector(RATE_HZ)
    cuts = [0, 1, 5000, RATE_HZ, RATE_HZ + 7, 2 * RATE_HZ + 11, len(signal)]
    for start, end in itertools.pairwise(cuts):
        in_order.add(signal[start:end])
    for start, end in reversed(list(itertools.pairwise(cuts))):
        shuffled.add_at(start, signal[start:end])
    assert shuffled.series() == in_order.series()
    assert len(in_order.series().mean_square) == 4


def test_the_stitcher_hands_every_encoded_block_to_on_pcm(tmp_path: Path) -> None:
    pieces = []
    for n in range(2):
        path = tmp_path / f"chunk{n}.pcm"
        path.write_bytes(_signal(1.5, seed=n).astype("<i2").tobytes())
        pieces.append(Piece(path, "chapter", n, f"piece {n}", f"Chapter {n + 1}"))
    collector = LoudnessCollector(RATE_HZ)
    options = StitchOptions(audio_format="wav", sample_rate_hz=RATE_HZ)
    result = stitch_book(pieces, tmp_path / "book.wav", BookMeta("Book"), options, on_pcm=collector.add_at)
    series = collector.series()
    assert len(series.mean_square) == math.ceil(result.duration_s)
    samples = round(result.duration_s * RATE_HZ)
    weights = [RATE_HZ] * (len(series.mean_square) - 1) + [samples - RATE_HZ * (len(series.mean_square) - 1)]
    energy = sum(w * m for w, m in zip(weights, series.mean_square, strict=True)) / samples
    assert to_dbfs(math.sqrt(energy)) == pytest.approx(result.rms_dbfs, abs=1e-9)  # the whole book, block by block
    assert to_dbfs(max(series.peak)) == pytest.approx(result.peak_dbfs)
