"""Assemble one audiobook from its chunk files, streaming: bounded numpy blocks into one ffmpeg process.

The book's timeline is ``lead-in silence, chunk 1, pause 1, chunk 2, pause 2, ...``; every pause,
including the one after the last chunk (ACX asks for room tone at the end), is the one named by
the chunk's ``pause_after``, or exactly ``pause_s`` seconds when the piece has one (a pause tag).
Chunks are raw mono s16le files at ``StitchOptions.sample_rate_hz`` (any rate: the book's, 24 kHz for Kokoro,
44.1 kHz for Cartesia; a piece that says it is at another is refused); they are read in blocks of
:data:`BLOCK_SAMPLES`, silence is generated on the fly, and memory does not grow with the length of the book.

Loudness (``normalize_loudness``) takes two passes over the chunk files:

1. measure: RMS over the WHOLE output timeline, inserted silence included (the way ACX measures a
   file, room tone and all; a book with long pauses thus gets a slightly louder voice), the peak,
   and a histogram of |sample|;
2. encode: one gain for the whole book, found from the histogram so that the RMS lands on
   ``target_rms_dbfs`` after the peak limiter (:class:`~voxbatch.audio.loudness.PeakLimiter`, a
   look-ahead limiter in numpy) has held every sample under ``peak_ceiling_dbfs``; for the lossy
   formats the limiter aims :data:`LOSSY_HEADROOM_DB` lower, because decoding overshoots.

Every chunk edge gets a ``fade_ms`` raised-cosine fade, so a join never jumps (no click).

A chunk whose loudness statistics were measured when it was cached (``Piece.levels_path``,
:mod:`voxbatch.audio.chunk_levels`) is not read in pass 1: its statistics are added instead, with exactly the result
reading it would give. A long mp3 or m4b is encoded in segments on every core and joined without re-encoding
(:mod:`voxbatch.audio.segmented`); the other formats, and short books, by one ffmpeg process.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from voxbatch.audio.chunk_levels import BLOCK_SAMPLES, ChunkLevelsError, read_levels
from voxbatch.audio.containers import AUDIO_FORMATS, AudioFormat, CoverError, StreamingEncoder, cover_mime, ffmetadata
from voxbatch.audio.loudness import FloatArray, LevelMeter, PeakLimiter, edge_fade, from_dbfs, normalizing_gain
from voxbatch.audio.segmented import (
    ParallelEncode,
    Segment,
    SegmentedEncodeError,
    Write,
    encode_segmented,
    framing,
    plan_segments,
)
from voxbatch.audio.sidecars import write_chapters_json, write_srt

__all__ = [
    "AudioFormat",
    "BookMeta",
    "ChapterMark",
    "Cue",
    "ParallelEncode",
    "PauseKind",
    "Piece",
    "StitchError",
    "StitchOptions",
    "StitchResult",
    "fade_samples",
    "stitch_book",
    "write_chapters_json",
    "write_srt",
]

PauseKind = Literal["none", "sentence", "paragraph", "chapter"]

log = logging.getLogger(__name__)

LIMITER_HALF_WIDTH_S = 0.005  # gain ramps of ~10 ms around a limited peak
LOSSY_HEADROOM_DB = 1.0  # mp3/aac/opus decode with peaks a little above the PCM they were given
LOSSY_FORMATS: frozenset[AudioFormat] = frozenset({"mp3", "m4b", "opus"})


class StitchError(ValueError):
    """The pieces or options cannot make a book (a missing or odd-length chunk file, a bad cover...)."""


@dataclass(frozen=True)
class Piece:
    pcm_path: Path  # raw s16le mono at StitchOptions.sample_rate_hz
    pause_after: PauseKind
    chapter_index: int
    text: str  # what was spoken (for the .srt cue)
    chapter_title: str  # title of its chapter (for chapter markers)
    pause_s: float | None = None  # exact silence after it (a pause tag), instead of pause_after's
    sample_rate_hz: int | None = None  # the rate its audio is at, when known: must be the book's
    levels_path: Path | None = None  # its loudness statistics (chunk_levels), when measured: pass 1 reads them


@dataclass(frozen=True)
class StitchOptions:
    audio_format: AudioFormat = "mp3"
    sample_rate_hz: int = 24000
    sentence_pause_s: float = 0.3
    paragraph_pause_s: float = 0.8
    chapter_pause_s: float = 2.0  # after the last chunk of a chapter and after the heading chunk
    lead_in_s: float = 0.5  # silence at the very start
    fade_ms: float = 8.0  # fade-in/out at every chunk edge so joins do not click
    normalize_loudness: bool = True  # ACX: RMS between -23 and -18 dBFS (target -20), peak <= -3 dBFS
    target_rms_dbfs: float = -20.0
    peak_ceiling_dbfs: float = -3.0
    bitrate_kbps: int = 64  # mp3/m4b/opus


@dataclass(frozen=True)
class BookMeta:
    title: str
    author: str | None = None
    cover_path: Path | None = None  # JPEG or PNG; not stored in wav


@dataclass(frozen=True)
class ChapterMark:
    title: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Cue:
    index: int  # from 1, as in SubRip
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class StitchResult:
    path: Path
    duration_s: float
    chapters: tuple[ChapterMark, ...]
    cues: tuple[Cue, ...]
    rms_dbfs: float  # measured on the output signal before encoding
    peak_dbfs: float


@dataclass(frozen=True)
class _Slot:
    path: Path
    n_samples: int
    start: int  # sample offset of its audio in the book
    pause: int  # samples of silence after it
    levels_path: Path | None = None


@dataclass(frozen=True)
class _Plan:
    lead_in: int
    slots: tuple[_Slot, ...]
    total: int
    chapters: tuple[ChapterMark, ...]
    cues: tuple[Cue, ...]


def fade_samples(fade_ms: float, sample_rate_hz: int) -> int:
    """The length of every chunk's edge fades, in samples."""
    return round(fade_ms / 1000 * sample_rate_hz)


def _check_options(opts: StitchOptions) -> None:
    if opts.audio_format not in AUDIO_FORMATS:
        raise StitchError(f"unknown audio format {opts.audio_format!r}; expected one of {AUDIO_FORMATS}")
    if opts.sample_rate_hz <= 0 or opts.bitrate_kbps <= 0:
        raise StitchError("sample_rate_hz and bitrate_kbps must be positive")
    durations = (opts.sentence_pause_s, opts.paragraph_pause_s, opts.chapter_pause_s, opts.lead_in_s, opts.fade_ms)
    if any(not math.isfinite(d) or d < 0 for d in durations):
        raise StitchError("pauses, lead-in and fade must be finite and >= 0")
    if opts.normalize_loudness and not opts.target_rms_dbfs < opts.peak_ceiling_dbfs <= 0:
        raise StitchError("need target_rms_dbfs < peak_ceiling_dbfs <= 0")


def _plan(pieces: Sequence[Piece], opts: StitchOptions) -> _Plan:
    """Lay the pieces out on the timeline (in samples, so nothing drifts) and check every file."""
    rate = opts.sample_rate_hz
    pause_s: dict[str, float] = {
        "none": 0.0,
        "sentence": opts.sentence_pause_s,
        "paragraph": opts.paragraph_pause_s,
        "chapter": opts.chapter_pause_s,
    }
    lead_in = round(opts.lead_in_s * rate)
    slots: list[_Slot] = []
    cues: list[Cue] = []
    chapter_starts: list[tuple[int, str, int]] = []  # (chapter_index, title, start sample)
    seen_chapters: set[int] = set()
    position = lead_in
    for number, piece in enumerate(pieces, start=1):
        if piece.pause_after not in get_args(PauseKind):
            raise StitchError(f"piece {number} ({piece.pcm_path}): unknown pause {piece.pause_after!r}")
        if piece.pause_s is not None and not (math.isfinite(piece.pause_s) and piece.pause_s >= 0):
            raise StitchError(f"piece {number} ({piece.pcm_path}): pause_s must be finite and >= 0")
        if piece.sample_rate_hz not in (None, rate):
            raise StitchError(f"piece {number} ({piece.pcm_path}) is at {piece.sample_rate_hz} Hz, the book {rate} Hz")
        try:
            size = piece.pcm_path.stat().st_size
        except FileNotFoundError:
            raise StitchError(f"piece {number}: chunk file {piece.pcm_path} does not exist") from None
        except OSError as exc:
            raise StitchError(f"piece {number}: cannot read chunk file {piece.pcm_path}: {exc}") from exc
        if size % 2:
            raise StitchError(f"piece {number}: chunk file {piece.pcm_path} is odd-length ({size} bytes), not s16le")
        if not chapter_starts or chapter_starts[-1][0] != piece.chapter_index:
            if piece.chapter_index in seen_chapters:
                raise StitchError(f"piece {number}: chapter {piece.chapter_index} resumes after another chapter")
            seen_chapters.add(piece.chapter_index)
            # The first chapter starts at 0: the lead-in belongs to it.
            chapter_starts.append((piece.chapter_index, piece.chapter_title, position if slots else 0))
        pause = pause_s[piece.pause_after] if piece.pause_s is None else piece.pause_s
        slot = _Slot(piece.pcm_path, size // 2, position, round(pause * rate), piece.levels_path)
        slots.append(slot)
        cues.append(Cue(number, slot.start / rate, (slot.start + slot.n_samples) / rate, piece.text))
        position += slot.n_samples + slot.pause
    bounds = [start for _, _, start in chapter_starts] + [position]
    chapters = tuple(
        ChapterMark(title, bounds[i] / rate, bounds[i + 1] / rate) for i, (_, title, _) in enumerate(chapter_starts)
    )
    return _Plan(lead_in, tuple(slots), position, chapters, tuple(cues))


def _chunk_blocks(slot: _Slot, fade_samples: int) -> Iterator[FloatArray]:
    """The chunk's samples as float64 blocks, edges faded."""
    try:
        with slot.path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size != 2 * slot.n_samples:
                raise StitchError(f"chunk file {slot.path} changed size while the book was being stitched")
            for start in range(0, slot.n_samples, BLOCK_SAMPLES):
                length = min(BLOCK_SAMPLES, slot.n_samples - start)
                data = fh.read(2 * length)
                if len(data) != 2 * length:
                    raise StitchError(f"chunk file {slot.path} was cut short while being read")
                block = np.frombuffer(data, dtype="<i2").astype(np.float64)
                envelope = edge_fade(slot.n_samples, fade_samples, start, length)
                yield block if envelope is None else block * envelope
    except OSError as exc:
        raise StitchError(f"cannot read chunk file {slot.path}: {exc}") from exc


def _silence_blocks(n_samples: int) -> Iterator[FloatArray]:
    for start in range(0, n_samples, BLOCK_SAMPLES):
        yield np.zeros(min(BLOCK_SAMPLES, n_samples - start))


def _timeline(plan: _Plan, fade_samples: int, start: int = 0, end: int | None = None) -> Iterator[FloatArray]:
    """The faded timeline's samples ``[start, end)`` (the whole book by default) as float64 blocks."""
    end = plan.total if end is None else end
    position = 0
    spans = [(None, plan.lead_in)] + [
        span for slot in plan.slots for span in ((slot, slot.n_samples), (None, slot.pause))
    ]
    for slot, length in spans:
        low, high = max(start, position), min(end, position + length)
        if low < high:
            if slot is None:
                yield from _silence_blocks(high - low)
            else:
                offset = position
                for block in _chunk_blocks(slot, fade_samples):
                    lo, hi = max(low, offset), min(high, offset + len(block))
                    if lo < hi:
                        yield block[lo - offset : hi - offset]
                    offset += len(block)
        position += length
        if position >= end:
            break


def _slot_levels(slot: _Slot, fade_samples: int, meter: LevelMeter) -> bool:
    """Add the chunk's stored levels to ``meter``; False when it has none that fit (then read its audio)."""
    if slot.levels_path is None:
        return False
    try:
        levels = read_levels(slot.levels_path)
    except ChunkLevelsError as exc:
        log.debug("%s", exc)
        return False
    if not levels.fits(slot.n_samples, fade_samples):
        return False
    levels.add_to(meter)
    return True


def _measure(plan: _Plan, fade_samples: int) -> LevelMeter:
    """Pass 1: RMS, peak and |sample| histogram of the faded timeline; silence is only counted."""
    meter = LevelMeter(histogram=True)
    meter.add_silence(plan.lead_in)
    for slot in plan.slots:
        if not _slot_levels(slot, fade_samples, meter):
            for block in _chunk_blocks(slot, fade_samples):
                meter.add(block)
        meter.add_silence(slot.pause)
    return meter


def _silences(plan: _Plan) -> list[tuple[int, int]]:
    """The pauses of the timeline: runs of digital silence, ``[start, end)``."""
    return [(s.start + s.n_samples, s.start + s.n_samples + s.pause) for s in plan.slots if s.pause]


@dataclass(frozen=True)
class _Render:
    """Pass 2 for any stretch of the book: gain, peak limiter (a fresh one per stretch), int16."""

    plan: _Plan
    fade_samples: int
    gain: float
    limiter: Callable[[], PeakLimiter] | None

    def __call__(self, start: int, end: int, write: Write) -> LevelMeter:
        output = LevelMeter()
        limiter = self.limiter() if self.limiter is not None else None

        def emit(block: FloatArray) -> None:
            if len(block):
                pcm = np.clip(np.rint(block), -32768, 32767).astype(np.int16)
                output.add(pcm)
                write(pcm)

        for block in _timeline(self.plan, self.fade_samples, start, end):
            scaled = block * self.gain if self.gain != 1.0 else block
            emit(limiter.process(scaled) if limiter is not None else scaled)
        if limiter is not None:
            emit(limiter.flush())
        return output


def _tee(start: int, write: Write, on_pcm: Callable[[int, np.ndarray], None] | None) -> Write:
    """``write``, also handing every block to ``on_pcm`` with its place on the timeline (a stretch from ``start``)."""
    if on_pcm is None:
        return write
    position = start

    def both(pcm: np.ndarray) -> None:
        nonlocal position
        on_pcm(position, pcm)
        position += len(pcm)
        write(pcm)

    return both


def _segments(plan: _Plan, opts: StitchOptions, parallel: ParallelEncode) -> list[Segment]:
    """How to cut the book for parallel encoders: one segment when it is short, or its format is not cut."""
    plan_framing = framing(opts.audio_format, opts.sample_rate_hz)
    workers = parallel.worker_count()
    count = min(
        workers * parallel.segments_per_worker, int(plan.total / (parallel.min_segment_s * opts.sample_rate_hz))
    )
    if plan_framing is None or workers < 2 or count < 2:
        return []
    # Zeros either side of a cut: the limiter's look-ahead window, and two frames for the encoders' overlap.
    guard = 4 * round(LIMITER_HALF_WIDTH_S * opts.sample_rate_hz) + 2 * plan_framing.frame_samples
    segments = plan_segments(_silences(plan), plan.total, plan_framing, guard, count)
    return segments if len(segments) > 1 else []


def _merge(meters: Sequence[LevelMeter], total: int) -> LevelMeter:
    """The segments' output levels as the book's: the samples left out at the joins are its silence."""
    merged = LevelMeter()
    for meter in meters:
        merged.sum_squares += meter.sum_squares
        merged.peak = max(merged.peak, meter.peak)
    merged.samples = total
    return merged


def stitch_book(
    pieces: Sequence[Piece],
    out_path: Path,
    meta: BookMeta,
    opts: StitchOptions = StitchOptions(),
    parallel: ParallelEncode = ParallelEncode(),
    *,
    on_pcm: Callable[[int, np.ndarray], None] | None = None,
) -> StitchResult:
    """Stitch ``pieces`` into one audiobook file at ``out_path`` (written atomically) and describe it.

    ``on_pcm`` sees every int16 block of the finished signal with its first sample's place in the book, as it goes
    to an encoder (in order within a segment; segments encoded in parallel interleave), e.g.
    :meth:`voxbatch.audio.loudness_series.LoudnessCollector.add_at`."""
    _check_options(opts)
    if not pieces:
        raise StitchError("no pieces to stitch")
    if meta.cover_path is not None:
        try:
            cover_mime(meta.cover_path)
        except CoverError as exc:
            raise StitchError(str(exc)) from exc
    plan = _plan(pieces, opts)
    rate = opts.sample_rate_hz
    fade = fade_samples(opts.fade_ms, rate)

    gain = 1.0
    limiter: Callable[[], PeakLimiter] | None = None
    if opts.normalize_loudness:
        headroom = LOSSY_HEADROOM_DB if opts.audio_format in LOSSY_FORMATS else 0.0
        # One sample of margin so rounding to int16 cannot step over the ceiling.
        threshold = math.floor(from_dbfs(opts.peak_ceiling_dbfs - headroom)) - 1.0
        gain = normalizing_gain(_measure(plan, fade), from_dbfs(opts.target_rms_dbfs), threshold)

        def limiter() -> PeakLimiter:
            return PeakLimiter(threshold, round(LIMITER_HALF_WIDTH_S * rate))

    render = _Render(plan, fade, gain, limiter)
    chapter_rows = [(c.title, c.start_s, c.end_s) for c in plan.chapters]
    metadata = ffmetadata(opts.audio_format, meta.title, meta.author, chapter_rows, meta.cover_path)
    output: LevelMeter | None = None
    segments = _segments(plan, opts, parallel)
    if segments:
        meters: dict[int, LevelMeter] = {}

        def render_segment(start: int, end: int, write: Write) -> None:
            meters[start] = render(start, end, _tee(start, write, on_pcm))

        try:
            encode_segmented(
                segments,
                render_segment,
                out_path,
                opts.audio_format,
                rate,
                opts.bitrate_kbps,
                metadata,
                meta.cover_path,
                parallel.worker_count(),
            )
            output = _merge([meters[start] for start in sorted(meters)], plan.total)
        except SegmentedEncodeError as exc:
            log.warning("%s: encoding in one piece instead of in segments (%s)", out_path.name, exc)
    if output is None:
        with StreamingEncoder(out_path, opts.audio_format, rate, metadata, meta.cover_path, opts.bitrate_kbps) as enc:
            output = render(0, plan.total, _tee(0, enc.write, on_pcm))
            enc.finish()
    return StitchResult(
        path=out_path,
        duration_s=plan.total / rate,
        chapters=plan.chapters,
        cues=plan.cues,
        rms_dbfs=output.rms_dbfs,
        peak_dbfs=output.peak_dbfs,
    )
