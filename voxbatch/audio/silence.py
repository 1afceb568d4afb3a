"""Finding silences in hours of audio: one level per short frame, streamed, then runs of quiet frames.

Levels are RMS in dBFS relative to int16 full scale (the convention of :mod:`voxbatch.audio.loudness`
and of pydub: a full-scale sine reads -3 dBFS). A 10-hour file at 10 ms frames is 3.6 M levels
(14 MB of float32); the PCM itself is never held, only one decoded block at a time. Everything after
decoding is vectorized numpy: no per-frame or per-millisecond Python loop.

The threshold is absolute when given, else adaptive: the 10th percentile of the file's frame levels
(its quiet floor: room tone or hiss between words) plus a margin, capped so that a file with little
silence cannot make quiet speech count as silence. Digitally silent frames (exact zeros, as in padding)
are left out of the percentile; they are below any threshold anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxbatch.audio.pcm import INT16_FULL_SCALE
from voxbatch.audio.silence_options import SilenceOptions
from voxbatch.audio.stream import SAMPLE_RATE_HZ, decode_stream

__all__ = [
    "LevelScan",
    "Silence",
    "SilenceOptions",
    "detect_silences",
    "find_silences",
    "frame_levels_dbfs",
    "scan_levels",
    "threshold_for",
]

FloatLevels = npt.NDArray[np.float32]

FLOOR_DBFS = -100.0  # the level given to a digitally silent frame (log10(0) would be -inf)
FLOOR_POWER = (INT16_FULL_SCALE * 10.0 ** (FLOOR_DBFS / 20.0)) ** 2  # mean square at FLOOR_DBFS: ~1.07e-1
QUIET_PERCENTILE = 10.0  # the adaptive threshold starts from this percentile of the frame levels


@dataclass(frozen=True, eq=False)
class LevelScan:
    """The level of every frame of one file: ``levels_dbfs[i]`` covers samples ``[i * frame_samples, ...)``.

    The last frame may be partial (``samples`` is the exact decoded length).
    """

    sample_rate_hz: int
    frame_samples: int
    samples: int
    levels_dbfs: FloatLevels

    @property
    def duration_s(self) -> float:
        return self.samples / self.sample_rate_hz

    @property
    def frame_s(self) -> float:
        return self.frame_samples / self.sample_rate_hz


@dataclass(frozen=True)
class Silence:
    """A run of quiet frames: samples ``[start_sample, end_sample)`` at ``sample_rate_hz``."""

    start_sample: int
    end_sample: int
    sample_rate_hz: int = SAMPLE_RATE_HZ

    @property
    def middle_sample(self) -> int:
        return (self.start_sample + self.end_sample) // 2

    @property
    def start_s(self) -> float:
        return self.start_sample / self.sample_rate_hz

    @property
    def end_s(self) -> float:
        return self.end_sample / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        return (self.end_sample - self.start_sample) / self.sample_rate_hz


def frame_levels_dbfs(pcm: npt.NDArray[np.int16], frame_samples: int) -> FloatLevels:
    """RMS level in dBFS of each ``frame_samples``-long frame of ``pcm``, the last partial frame included."""
    if frame_samples <= 0:
        raise ValueError(f"frame_samples must be positive, got {frame_samples}")
    whole = len(pcm) // frame_samples
    signal = pcm.astype(np.float64)
    frames = signal[: whole * frame_samples].reshape(whole, frame_samples)
    power = np.einsum("ij,ij->i", frames, frames) / frame_samples
    if len(pcm) > whole * frame_samples:
        tail = signal[whole * frame_samples :]
        power = np.append(power, np.dot(tail, tail) / len(tail))
    levels = 10.0 * np.log10(np.maximum(power, FLOOR_POWER) / INT16_FULL_SCALE**2)
    return levels.astype(np.float32)


def scan_levels(
    path: Path, options: SilenceOptions = SilenceOptions(), sample_rate_hz: int = SAMPLE_RATE_HZ
) -> LevelScan:
    """Decode ``path`` as a stream (mono, ``sample_rate_hz``) and measure the level of every frame.

    Memory is one decoded block plus the levels (4 bytes per frame), never the whole signal.
    """
    frame_samples = options.frame_samples(sample_rate_hz)
    parts: list[FloatLevels] = []
    carry = np.zeros(0, dtype=np.int16)  # the samples of a frame that a block boundary cut in two
    samples = 0
    for block in decode_stream(path, sample_rate_hz):
        samples += len(block)
        pcm = np.concatenate((carry, block)) if len(carry) else block
        whole = len(pcm) - len(pcm) % frame_samples
        if whole:
            parts.append(frame_levels_dbfs(pcm[:whole], frame_samples))
        carry = pcm[whole:]
    if len(carry):
        parts.append(frame_levels_dbfs(carry, frame_samples))
    levels = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    levels.flags.writeable = False
    return LevelScan(sample_rate_hz, frame_samples, samples, levels)


def threshold_for(scan: LevelScan, options: SilenceOptions) -> float:
    """The level in dBFS under which a frame is quiet: absolute if set, else adaptive (see the module doc)."""
    if options.threshold_dbfs is not None:
        return options.threshold_dbfs
    sounding = scan.levels_dbfs[scan.levels_dbfs > FLOOR_DBFS]
    if not len(sounding):
        return options.max_threshold_dbfs
    floor = float(np.percentile(sounding, QUIET_PERCENTILE))
    return min(floor + options.adaptive_margin_db, options.max_threshold_dbfs)


def find_silences(scan: LevelScan, options: SilenceOptions) -> list[Silence]:
    """Every run of quiet frames at least ``options.min_silence_ms`` long, in order."""
    quiet = scan.levels_dbfs < threshold_for(scan, options)
    edges = np.diff(np.concatenate(([False], quiet, [False])).view(np.int8))
    starts = np.flatnonzero(edges == 1) * scan.frame_samples
    ends = np.minimum(np.flatnonzero(edges == -1) * scan.frame_samples, scan.samples)
    min_samples = scan.sample_rate_hz * options.min_silence_ms // 1000
    keep = ends - starts >= min_samples
    return [
        Silence(int(start), int(end), scan.sample_rate_hz)
        for start, end in zip(starts[keep].tolist(), ends[keep].tolist(), strict=True)
    ]


def detect_silences(path: Path, options: SilenceOptions = SilenceOptions()) -> tuple[LevelScan, list[Silence]]:
    """Scan ``path`` at the analysis rate and find its silences."""
    scan = scan_levels(path, options)
    return scan, find_silences(scan, options)
