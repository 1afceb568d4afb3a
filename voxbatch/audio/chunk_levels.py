"""A chunk's share of the book's loudness measurement, measured once and kept beside it in the cache.

The stitcher's measuring pass (:mod:`voxbatch.audio.stitch`, pass 1) needs, for every chunk, its edge-faded samples'
sum of squares, peak and histogram of ``|sample|``. :func:`measure_chunk` computes exactly what that pass would add
to its :class:`~voxbatch.audio.loudness.LevelMeter` for the chunk (the same blocks, the same fade, the same float
operations), and :meth:`ChunkLevels.add_to` adds it: the sum of squares block by block in the same order, so the
book's RMS, and hence its gain, is bit-for-bit what reading the audio gives. A book whose chunks all carry their
levels is measured without reading a sample of audio.

The levels depend on the fade the stitcher applies (``fade_samples``); levels measured with another fade, or for
a file of another length, are not used (:meth:`ChunkLevels.fits`). On disk they are a few kilobytes of little-endian
binary (:data:`LEVELS_MAGIC`, a fixed header, then the arrays): the histogram is stored sparse, as the levels that
occur and their counts. Not ``.npz``: ``np.load`` parses each array's header with ``ast.literal_eval``, and on
CPython 3.11 two threads parsing at once can fail with ``SystemError: AST constructor recursion depth mismatch``
(python/cpython#106905 and later reports); books are assembled side by side in threads, and it failed a book here
(3.11.7).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxbatch.audio.loudness import INT16_LEVELS, FloatArray, LevelMeter, edge_fade

BLOCK_SAMPLES = 1 << 16  # the stitcher's read block (~2.7 s at 24 kHz, 512 KiB as float64)
LEVELS_VERSION = 2  # bump when what is stored (or how the stitcher measures) changes (1 was .npz)
LEVELS_MAGIC = b"VXLV"
# version, fade_samples, n_samples, blocks, levels that occur (int64 each), peak (float64); then the block sums
# (float64), the levels (uint16) and their counts (int64); last the CRC-32 of all before it (uint32)
_HEADER = struct.Struct("<4s5qd")
_CRC = struct.Struct("<I")

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
        header = _HEADER.pack(
            LEVELS_MAGIC,
            LEVELS_VERSION,
            self.fade_samples,
            self.n_samples,
            len(self.block_sum_squares),
            len(self.levels),
            self.peak,
        )
        body = b"".join(
            (
                header,
                np.asarray(self.block_sum_squares, dtype="<f8").tobytes(),
                np.asarray(self.levels, dtype="<u2").tobytes(),
                np.asarray(self.counts, dtype="<i8").tobytes(),
            )
        )
        return body + _CRC.pack(zlib.crc32(body))

    @classmethod
    def from_bytes(cls, data: bytes) -> ChunkLevels:
        if len(data) < _HEADER.size:
            raise ChunkLevelsError(f"unreadable chunk levels: {len(data)} bytes, shorter than their header")
        magic, version, fade_samples, n_samples, n_blocks, n_levels, peak = _HEADER.unpack_from(data)
        if magic != LEVELS_MAGIC:
            raise ChunkLevelsError("unreadable chunk levels: not a levels file")
        if version != LEVELS_VERSION:
            raise ChunkLevelsError(f"chunk levels of version {version}, expected {LEVELS_VERSION}")
        if min(n_blocks, n_levels) < 0 or len(data) != _HEADER.size + 8 * n_blocks + 10 * n_levels + _CRC.size:
            raise ChunkLevelsError(f"unreadable chunk levels: {len(data)} bytes do not hold what their header says")
        if _CRC.unpack_from(data, len(data) - _CRC.size)[0] != zlib.crc32(data[: -_CRC.size]):
            raise ChunkLevelsError("unreadable chunk levels: their checksum does not match (damaged)")
        offset = _HEADER.size
        sums = tuple(float(v) for v in np.frombuffer(data, dtype="<f8", count=n_blocks, offset=offset))
        offset += 8 * n_blocks
        levels = np.frombuffer(data, dtype="<u2", count=n_levels, offset=offset).astype(np.int64)
        counts = np.frombuffer(data, dtype="<i8", count=n_levels, offset=offset + 2 * n_levels).astype(np.int64)
        blocks = -(-n_samples // BLOCK_SAMPLES)
        if (
            min(n_samples, fade_samples) < 0
            or len(sums) != blocks
            or not all(math.isfinite(v) and v >= 0 for v in (peak, *sums))
            or (len(counts) and counts.min() <= 0)
            or int(counts.sum(dtype=np.float64)) != n_samples  # (float: crafted counts cannot wrap around)
            or (len(levels) and (levels.max() >= INT16_LEVELS or bool(np.any(np.diff(levels) <= 0))))
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
