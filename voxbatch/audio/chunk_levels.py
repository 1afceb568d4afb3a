"""A chunk's share of the book's loudness measurement, measured once and kept beside it in the cache.

The stitcher's measuring pass (:mod:`voxbatch.audio.stitch`, pass 1) needs, for every chunk, its edge-faded samples'
sum of squares, peak and histogram of ``|sample|``. :func:`measure_chunk` computes exactly what that pass would add
to its :class:`~voxbatch.audio.loudness.LevelMeter` for the chunk (the same blocks, the same fade, the same float
operations), and :meth:`ChunkLevels.add_to` adds it: the sum of squares block by block in the same order, so the
book's RMS, and hence its gain, is bit-for-bit what reading the audio gives. A book whose chunks all carry their
levels is measured without reading a sample of audio.

The levels depend on the fade the stitcher applies (``fade_samples``); levels measured with another fade, or for
a file of another length, are not used (:meth:`ChunkLevels.fits`). On disk they are a small ``.npz`` (uncompressed,
no pickles): the histogram is stored sparse, as the levels that occur and their counts.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxbatch.audio.loudness import INT16_LEVELS, FloatArray, LevelMeter, edge_fade

BLOCK_SAMPLES = 1 << 16  # the stitcher's read block (~2.7 s at 24 kHz, 512 KiB as float64)
LEVELS_VERSION = 1  # bump when what is stored (or how the stitcher measures) changes

IntArray = npt.NDArray[np.int64]


class ChunkLevelsError(ValueError):
    """A stored levels file cannot be read (truncated, another version, inconsistent)."""


def faded_blocks(samples: npt.NDArray[np.int16], fade_samples: int) -> Iterator[FloatArray]:
    """A chunk's samples as float64 blocks of :data:`BLOCK_SAMPLES`, edges faded: what the stitcher reads."""
    n_samples = len(samples)
    for start in range(0, n_samples, BLOCK_SAMPLES):
        length = min(BLOCK_SAMPLES, n_samples - start)
        block = samples[start : start + length].astype(np.float64)
        envelope = edge_fade(n_samples, fade_samples, start, length)
        yield block if envelope is None else block * envelope


@dataclass(frozen=True, eq=False)
class ChunkLevels:
    """What one chunk adds to the book's measuring :class:`LevelMeter`."""

    fade_samples: int
    n_samples: int
    block_sum_squares: tuple[float, ...]  # one per block, in order: replayed so the float sum matches exactly
    peak: float
    levels: IntArray  # the |sample| histogram bins that are not empty, ascending
    counts: IntArray  # their counts

    def fits(self, n_samples: int, fade_samples: int) -> bool:
        """Were these measured for a chunk of ``n_samples`` with this fade?"""
        return self.n_samples == n_samples and self.fade_samples == fade_samples

    def add_to(self, meter: LevelMeter) -> None:
        """Add the chunk to ``meter`` exactly as :meth:`LevelMeter.add` of each of its blocks would."""
        for start, block_sum in zip(range(0, self.n_samples, BLOCK_SAMPLES), self.block_sum_squares, strict=True):
            meter.samples += min(BLOCK_SAMPLES, self.n_samples - start)
            meter.sum_squares += block_sum
        meter.peak = max(meter.peak, self.peak)
        if meter.histogram is not None and len(self.levels):
            meter.histogram[self.levels] += self.counts

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        header = np.array([LEVELS_VERSION, self.fade_samples, self.n_samples], dtype=np.int64)
        np.savez(
            buf,
            header=header,
            block_sum_squares=np.array(self.block_sum_squares, dtype=np.float64),
            peak=np.array([self.peak], dtype=np.float64),
            levels=self.levels.astype(np.uint16),
            counts=self.counts.astype(np.int64),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ChunkLevels:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                version, fade_samples, n_samples = (int(v) for v in npz["header"])
                sums = tuple(float(v) for v in npz["block_sum_squares"])
                peak = float(npz["peak"][0])
                levels = npz["levels"].astype(np.int64)
                counts = npz["counts"].astype(np.int64)
        except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as exc:
            raise ChunkLevelsError(f"unreadable chunk levels: {exc}") from exc
        if version != LEVELS_VERSION:
            raise ChunkLevelsError(f"chunk levels of version {version}, expected {LEVELS_VERSION}")
        blocks = -(-n_samples // BLOCK_SAMPLES)
        if (
            len(sums) != blocks
            or len(levels) != len(counts)
            or int(counts.sum()) != n_samples
            or (len(levels) and (levels.min() < 0 or levels.max() >= INT16_LEVELS))
        ):
            raise ChunkLevelsError("chunk levels are inconsistent")
        return cls(fade_samples, n_samples, sums, peak, levels, counts)


def measure_chunk(samples: npt.NDArray[np.int16], fade_samples: int) -> ChunkLevels:
    """The levels of one chunk of mono int16 samples, faded at its edges by ``fade_samples``."""
    meter = LevelMeter(histogram=True)
    sums = []
    for block in faded_blocks(samples, fade_samples):
        before = meter.sum_squares
        meter.sum_squares = 0.0
        meter.add(block)
        sums.append(meter.sum_squares)  # this block's own sum, as LevelMeter.add computed it
        meter.sum_squares = before
    assert meter.histogram is not None
    levels = np.flatnonzero(meter.histogram)
    return ChunkLevels(fade_samples, len(samples), tuple(sums), meter.peak, levels, meter.histogram[levels])


def measure_pcm_file(path: Path, fade_samples: int) -> ChunkLevels:
    """The levels of a raw s16le chunk file."""
    return measure_chunk(np.fromfile(path, dtype="<i2").astype(np.int16), fade_samples)


def read_levels(path: Path) -> ChunkLevels:
    """Levels stored by :meth:`ChunkLevels.to_bytes` (:class:`ChunkLevelsError` when unreadable)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ChunkLevelsError(f"cannot read chunk levels {path}: {exc}") from exc
    return ChunkLevels.from_bytes(data)
