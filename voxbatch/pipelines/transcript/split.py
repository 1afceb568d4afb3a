"""Splitting a long recording for upload: where to cut (:func:`plan_spans`) and each piece as FLAC.

A file is split when it is longer than ``split_above_s`` or bigger than the provider's upload limit
(:func:`needs_split`). Cuts aim at every ``target_chunk_s`` and land in the middle of the longest
silence within ``search_window_s`` of the aim, so no word is cut and the transcript's pieces join at a
pause. Where the window holds no silence (music, crosstalk, one long breathless sentence), the cut is
hard, at the aim, and the next chunk starts ``overlap_s`` earlier: a word the cut splits is then whole
in one of the two chunks, and merging drops the words the overlap repeats.

Every chunk is at most ``target_chunk_s + search_window_s`` long (which validation keeps within
``max_chunk_s``), and the last chunk is at least ``min_chunk_s`` unless the whole file is shorter.
Chunks are encoded as 16 kHz mono FLAC from one streaming decode of the source (:func:`iter_chunk_flac`);
memory follows the chunk length, not the file's.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voxbatch.audio.ffmpeg import FFMPEG_TIMEOUT_S, STDERR_TAIL_CHARS, AudioDecodeError, AudioEncodeError, ffmpeg_exe
from voxbatch.audio.silence import Silence
from voxbatch.audio.stream import decode_stream
from voxbatch.pipelines.transcript.spans import ANALYSIS_RATE_HZ, ChunkSpan
from voxbatch.pipelines.transcript.split_options import EMBEDDED_SPLIT, SplitOptions

__all__ = ["EMBEDDED_SPLIT", "SplitOptions", "encode_flac", "iter_chunk_flac", "needs_split", "plan_spans"]


def needs_split(duration_s: float, size_bytes: int, options: SplitOptions, max_upload_bytes: int) -> bool:
    """Whether a recording must be split: longer than ``options.split_above_s`` or too big to upload."""
    return duration_s > options.split_above_s or size_bytes > max_upload_bytes


def _quiet_cut(silences: Sequence[Silence], ends: Sequence[int], low: int, high: int, aim: int) -> int | None:
    """Where to cut in ``[low, high]``: the middle of the longest stretch of silence inside that window.

    A silence longer than the window (an hour of room tone) counts only with its part inside the window, so
    the cut lands near the aim rather than at the middle of the whole silence. Ties go to the stretch nearest
    ``aim``. None when no silence reaches into the window.
    """
    best: tuple[int, int] | None = None
    best_key: tuple[int, int] | None = None
    for silence in silences[bisect.bisect_right(ends, low) :]:
        if silence.start_sample >= high:
            break
        start, end = max(silence.start_sample, low), min(silence.end_sample, high)
        if end <= start:
            continue
        key = (end - start, -abs((start + end) // 2 - aim))
        if best_key is None or key > best_key:
            best, best_key = (start, end), key
    return None if best is None else (best[0] + best[1]) // 2


def plan_spans(
    total_samples: int, silences: Sequence[Silence], options: SplitOptions, sample_rate_hz: int = ANALYSIS_RATE_HZ
) -> tuple[ChunkSpan, ...]:
    """Where to cut a recording of ``total_samples``: spans covering ``[0, total_samples)`` in order.

    Walking from the start, each cut aims at ``start + target_chunk_s`` and takes the middle of the
    longest stretch of silence within ``search_window_s`` of the aim (only the part of a silence inside
    the window counts; ties: nearest the aim); no silence there means a hard cut at the aim, and the
    next span starts ``overlap_s`` before it (its ``overlap_samples``). A remainder of at most
    ``target_chunk_s + search_window_s`` is the last span. A recording that short is one span.

    Parameters
    ----------
    total_samples
        Length of the decoded recording, in samples at ``sample_rate_hz``.
    silences
        Its silences (:func:`voxbatch.audio.silence.find_silences`) at the same rate.
    sample_rate_hz
        Must be :data:`~voxbatch.pipelines.transcript.spans.ANALYSIS_RATE_HZ`: a :class:`ChunkSpan` counts samples
        at that rate, and its times would be wrong otherwise.
    """
    if sample_rate_hz != ANALYSIS_RATE_HZ:
        raise ValueError(f"spans count samples at {ANALYSIS_RATE_HZ} Hz, not {sample_rate_hz} Hz")
    if total_samples <= 0:
        raise ValueError(f"nothing to split: {total_samples} samples")
    if any(s.sample_rate_hz != sample_rate_hz for s in silences):
        raise ValueError(f"silences must be counted at {sample_rate_hz} Hz")
    target, window, overlap, min_chunk = (
        round(seconds * sample_rate_hz)
        for seconds in (options.target_chunk_s, options.search_window_s, options.overlap_s, options.min_chunk_s)
    )
    ordered = sorted(silences, key=lambda s: s.start_sample)
    ends = [s.end_sample for s in ordered]
    spans: list[ChunkSpan] = []
    start, start_overlap = 0, 0
    while total_samples - start > target + window:
        aim = start + target
        # Never cut closer than min_chunk to the end: the last chunk would be a sliver.
        quiet = _quiet_cut(ordered, ends, aim - window, min(aim + window, total_samples - min_chunk), aim)
        cut, next_overlap = (aim, overlap) if quiet is None else (quiet, 0)
        spans.append(ChunkSpan(len(spans), start, cut, start_overlap))
        start, start_overlap = cut - next_overlap, next_overlap
    spans.append(ChunkSpan(len(spans), start, total_samples, start_overlap))
    return tuple(spans)


def encode_flac(pcm: npt.NDArray[np.int16], sample_rate_hz: int = ANALYSIS_RATE_HZ) -> bytes:
    """Mono int16 PCM as a FLAC file, lossless, with its length and MD5 in the header.

    ffmpeg writes FLAC to a temporary file rather than a pipe: only a seekable output gets the header
    rewritten at the end, and a piped FLAC says "0 samples, duration unknown".
    """
    with tempfile.TemporaryDirectory(prefix="voxbatch-flac-") as scratch:
        out = Path(scratch) / "chunk.flac"
        argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "s16le"]
        argv += ["-ar", str(sample_rate_hz), "-ac", "1", "-i", "pipe:0", "-c:a", "flac", "-f", "flac", str(out)]
        try:
            subprocess.run(
                argv,
                input=np.ascontiguousarray(pcm, dtype="<i2").tobytes(),
                capture_output=True,
                check=True,
                timeout=FFMPEG_TIMEOUT_S,
            )
        except subprocess.CalledProcessError as exc:
            tail = exc.stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL_CHARS:]
            raise AudioEncodeError(f"ffmpeg could not encode FLAC: {tail}") from exc
        return out.read_bytes()


def _check_order(spans: Sequence[ChunkSpan]) -> None:
    for span in spans:
        if not 0 <= span.start_sample < span.end_sample:
            raise ValueError(f"span {span.index} is empty or negative: [{span.start_sample}, {span.end_sample})")
    for before, span in itertools.pairwise(spans):
        if span.start_sample < before.start_sample or span.end_sample < before.end_sample:
            raise ValueError(f"span {span.index} starts or ends before span {before.index}: spans must be in order")


def _drop_before(blocks: list[npt.NDArray[np.int16]], blocks_start: int, sample: int) -> int:
    """Forget the buffered samples before ``sample``; returns the new position of ``blocks[0][0]``."""
    while blocks and blocks_start + len(blocks[0]) <= sample:
        blocks_start += len(blocks.pop(0))
    if blocks and blocks_start < sample:
        blocks[0] = blocks[0][sample - blocks_start :]
        blocks_start = sample
    return blocks_start


def iter_chunk_flac(
    path: Path, spans: Sequence[ChunkSpan], sample_rate_hz: int = ANALYSIS_RATE_HZ, only: set[int] | None = None
) -> Iterator[tuple[ChunkSpan, bytes]]:
    """Each span's audio as FLAC (16 kHz mono s16), in order, from one streaming decode of ``path``.

    Sample-exact: span ``k`` decodes to exactly ``end_sample - start_sample`` samples, the same ones a
    whole-file decode has there. Only the samples from the current span's start on are buffered, so
    memory follows the longest span, not the file. ``only`` (span indices) encodes just those spans;
    the decode still runs through the others, and stops after the last one wanted.

    Raises
    ------
    AudioDecodeError
        The file could not be decoded, or it ends before the last span does.
    ValueError
        The spans are out of order, empty, or not counted at ``sample_rate_hz``.
    """
    if sample_rate_hz != ANALYSIS_RATE_HZ:
        raise ValueError(f"spans count samples at {ANALYSIS_RATE_HZ} Hz, not {sample_rate_hz} Hz")
    _check_order(spans)
    wanted = [k for k, span in enumerate(spans) if only is None or span.index in only]
    if not wanted:
        return
    last = wanted[-1]
    blocks: list[npt.NDArray[np.int16]] = []
    blocks_start = blocks_end = 0
    k = 0
    with contextlib.closing(decode_stream(path, sample_rate_hz)) as stream:
        for block in stream:
            blocks.append(block)
            blocks_end += len(block)
            while k <= last and spans[k].end_sample <= blocks_end:
                span = spans[k]
                if only is None or span.index in only:
                    joined = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
                    pcm = joined[span.start_sample - blocks_start : span.end_sample - blocks_start]
                    yield span, encode_flac(pcm, sample_rate_hz)
                k += 1
            if k > last:
                return  # leaving the with-block closes the decode and kills ffmpeg
            blocks_start = _drop_before(blocks, blocks_start, spans[k].start_sample)
    raise AudioDecodeError(
        f"{path.name} ends at sample {blocks_end}, before span {spans[k].index} does ({spans[k].end_sample})"
    )
