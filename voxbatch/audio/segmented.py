"""Encoding a long book on every core: cut in its silences, the pieces encoded at once, joined without re-encoding.

ffmpeg's AAC and LAME encoders use one thread, and encoding was three quarters of the CPU time of a book. So a long
mp3 or m4b book is cut into segments, up to :attr:`ParallelEncode.workers` ffmpeg processes encode them at once
(each fed by its own thread, which renders that stretch of the book), their streams (ADTS for AAC, plain MPEG audio
frames for mp3) are joined byte for byte, and one ``ffmpeg -c:a copy`` puts the whole stream into the book's
container with its tags, chapters and cover, which are thus written once.

Why the joins are exact and silent. Segments are only cut inside the book's digital silence (a pause of at least
:func:`required_silence` samples), so the limiter has nothing to carry across a cut and the encoders see zeros on
both sides of it. An encoder fed ``n`` samples writes ``ceil((n + priming) / frame)`` frames (:class:`Framing`,
checked for ffmpeg's AAC encoder and for LAME at every rate; it is verified again on every segment, and a book whose
frames do not come out as predicted is encoded by one process instead). Every segment's audio sits ``priming``
samples into its own frames, so the decoded stream is in step with the book when segment ``k + 1`` starts at
``start_k + frames_k * frame``: the few silent samples after each cut that the previous segment's padding and the
next one's priming stand in for are left out. The chapter marks and cues therefore need no change. The start of
the first segment is handled as a single encode's would be: an edit list in the m4b (the encoder's priming is
skipped), LAME's own gapless header in the mp3. The end of the book may keep up to one frame of extra silence
(under 50 ms at 24 kHz).
"""

from __future__ import annotations

import bisect
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from voxbatch.audio.containers import AudioFormat, StreamingEncoder, codec_argv, remux_argv
from voxbatch.audio.ffmpeg import FFMPEG_TIMEOUT_S, STDERR_TAIL_CHARS, AudioEncodeError

log = logging.getLogger(__name__)

Write = Callable[[npt.NDArray[np.int16]], None]
Render = Callable[[int, int, Write], None]  # render(start, end, write): the book's samples [start, end), in order

AAC_FRAME_SAMPLES = 1024
AAC_PRIMING_SAMPLES = 1024  # ffmpeg's AAC encoder delays its input by one frame
MP3_PRIMING_SAMPLES = 1152  # LAME's 576-sample encoder delay, then padding to whole frames (measured, every rate)
MPEG1_MIN_RATE_HZ = 32000  # MPEG-1 layer III (1152-sample frames) from here; MPEG-2 and 2.5 have 576
READ_BYTES = 1 << 20  # frames are counted in 1 MiB reads
ADTS_HEADER_BYTES = 7
MP3_HEADER_BYTES = 4
_MP3_KBPS = {  # layer III bit rates by bitrate index, MPEG-1 and MPEG-2/2.5
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES_HZ = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


MAX_DEFAULT_WORKERS = 4  # encoders per process by default, however many CPUs: ~30 MiB of ffmpeg each


def default_workers() -> int:
    """The CPUs this process may run on, at most :data:`MAX_DEFAULT_WORKERS`."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


# Segment encoders running in this process, across every book stitched at once (the kernel assembles books
# concurrently): never more than the CPUs allow, so many books finishing together do not multiply the encoders.
_ENCODER_SLOTS = threading.BoundedSemaphore(default_workers())


class SegmentedEncodeError(AudioEncodeError):
    """The segments did not come out as predicted (another ffmpeg?): the caller encodes the book in one piece."""


@dataclass(frozen=True)
class ParallelEncode:
    """How many encoders a book may use at once, and how finely it is cut."""

    workers: int | None = None  # None: every CPU this process may run on, at most MAX_DEFAULT_WORKERS
    segments_per_worker: int = 3  # more segments than workers: a busy core holds the book up less
    min_segment_s: float = 120.0  # shorter books are encoded in one piece

    def worker_count(self) -> int:
        return default_workers() if self.workers is None else max(1, self.workers)


@dataclass(frozen=True)
class Framing:
    """How an encoder lays its input out in frames."""

    frame_samples: int
    priming_samples: int
    stream_format: str  # ffmpeg's muxer for the bare stream: "adts" or "mp3"
    demuxer: str  # and its demuxer: "aac" or "mp3"
    start_skip_samples: int  # priming the container must hide at the start (m4b); 0 when the stream says it (mp3)
    header_frame: bool  # the first segment starts with one extra frame (LAME's gapless header)

    def frames(self, n_samples: int) -> int:
        """Frames the encoder writes for ``n_samples`` of input."""
        return -(-(n_samples + self.priming_samples) // self.frame_samples)


def framing(audio_format: AudioFormat, sample_rate_hz: int) -> Framing | None:
    """The framing of ``audio_format``'s encoder, or None when that format is always encoded in one piece."""
    if audio_format == "m4b":
        return Framing(AAC_FRAME_SAMPLES, AAC_PRIMING_SAMPLES, "adts", "aac", AAC_PRIMING_SAMPLES, header_frame=False)
    if audio_format == "mp3":
        frame = 1152 if sample_rate_hz >= MPEG1_MIN_RATE_HZ else 576
        return Framing(frame, MP3_PRIMING_SAMPLES, "mp3", "mp3", 0, header_frame=True)
    return None


@dataclass(frozen=True)
class Segment:
    """Samples ``[start, end)`` of the book, which the encoder turns into ``frames`` frames."""

    start: int
    end: int
    frames: int


def required_silence(framing: Framing, guard: int) -> int:
    """The shortest run of digital silence a cut may go in: ``guard`` zeros either side, and room for the join."""
    return 2 * guard + framing.priming_samples + framing.frame_samples


def plan_segments(
    silences: Sequence[tuple[int, int]], total: int, framing: Framing, guard: int, count: int
) -> list[Segment]:
    """At most ``count`` segments of about equal length, cut in ``silences`` (sorted ``[start, end)`` runs of zeros
    in a book of ``total`` samples). Each cut sits ``guard`` samples into its silence; the next segment starts
    where the previous one's frames end (see the module docstring)."""
    need = required_silence(framing, guard)
    candidates = [start + guard for start, end in silences if end - start >= need]
    cuts: list[int] = []
    for i in range(1, count):
        if not candidates:
            break
        target = total * i / count
        at = bisect.bisect_left(candidates, target)
        best = min(candidates[max(0, at - 1) : at + 1], key=lambda c: abs(c - target))
        if not cuts or best > cuts[-1]:
            cuts.append(best)
    segments: list[Segment] = []
    start = 0
    for cut in cuts:
        frames = framing.frames(cut - start)
        segments.append(Segment(start, cut, frames))
        start += frames * framing.frame_samples
    segments.append(Segment(start, total, framing.frames(total - start)))
    return segments


def segment_argv(audio_format: AudioFormat, sample_rate_hz: int, bitrate_kbps: int, first: bool) -> list[str]:
    """ffmpeg's output arguments for one segment: the book's codec, a bare stream, no tags."""
    argv = codec_argv(audio_format, sample_rate_hz, bitrate_kbps)
    if audio_format == "mp3":  # only the first carries LAME's gapless header (it would be a silent frame mid-book)
        return [*argv, "-write_xing", "1" if first else "0", "-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3"]
    return [*argv, "-f", "adts"]


def _adts_frame_bytes(data: bytes | memoryview, at: int) -> int | None:
    if data[at] != 0xFF or data[at + 1] & 0xF0 != 0xF0:
        return None
    length = ((data[at + 3] & 0x03) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
    return length if length >= ADTS_HEADER_BYTES else None


def _mp3_frame_bytes(data: bytes | memoryview, at: int) -> int | None:
    header = int.from_bytes(data[at : at + MP3_HEADER_BYTES], "big")
    version, layer = (header >> 19) & 0x3, (header >> 17) & 0x3
    bitrate_index, rate_index, padding = (header >> 12) & 0xF, (header >> 10) & 0x3, (header >> 9) & 0x1
    if header >> 21 != 0x7FF or version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    kbps = _MP3_KBPS[1 if version == 3 else 2][bitrate_index]
    rate = _MP3_RATES_HZ[version][rate_index]
    return (144 if version == 3 else 72) * kbps * 1000 // rate + padding


def count_frames(stream: BinaryIO, stream_format: str) -> int | None:
    """Frames in a bare ADTS or MPEG audio stream read to its end, or None when it is not one from end to end.

    Reads in blocks of :data:`READ_BYTES`, so memory does not grow with the stream."""
    frame_bytes = _adts_frame_bytes if stream_format == "adts" else _mp3_frame_bytes
    header = ADTS_HEADER_BYTES if stream_format == "adts" else MP3_HEADER_BYTES
    count, buffer, at = 0, b"", 0
    while True:
        more = stream.read(READ_BYTES)
        buffer = buffer[at:] + more
        at = 0
        while at + header <= len(buffer):
            size = frame_bytes(buffer, at)
            if size is None:
                return None
            if at + size > len(buffer) and more:
                break  # the rest of this frame is in the next block
            at += size
            count += 1
        if not more:
            return count if at == len(buffer) else None


def _encode_one(
    index: int,
    segment: Segment,
    path: Path,
    render: Render,
    audio_format: AudioFormat,
    sample_rate_hz: int,
    bitrate_kbps: int,
    failed: threading.Event,
) -> None:
    argv = segment_argv(audio_format, sample_rate_hz, bitrate_kbps, first=index == 0)
    with StreamingEncoder(path, audio_format, sample_rate_hz, "", None, bitrate_kbps, output_argv=argv) as enc:

        def write(pcm: npt.NDArray[np.int16]) -> None:
            if failed.is_set():
                raise SegmentedEncodeError("another segment failed")
            enc.write(pcm)

        render(segment.start, segment.end, write)
        enc.finish()


def _check_frames(paths: Sequence[Path], segments: Sequence[Segment], framing: Framing) -> None:
    for index, (path, segment) in enumerate(zip(paths, segments, strict=True)):
        expected = segment.frames + (1 if index == 0 and framing.header_frame else 0)
        with path.open("rb") as stream:
            found = count_frames(stream, framing.stream_format)
        if found != expected:
            raise SegmentedEncodeError(f"segment {index} has {found} frames, {expected} expected")


def encode_segmented(
    segments: Sequence[Segment],
    render: Render,
    out_path: Path,
    audio_format: AudioFormat,
    sample_rate_hz: int,
    bitrate_kbps: int,
    metadata: str,
    cover_path: Path | None,
    workers: int,
) -> Path:
    """Encode ``segments`` (from :func:`plan_segments`) with up to ``workers`` encoders at once (and no more than
    :func:`default_workers` in the whole process), join them and write the book at ``out_path`` atomically (temp
    files, all hidden in a folder beside it, are removed either way).

    Raises :class:`SegmentedEncodeError` when the frames do not come out as planned (nothing is written then),
    :class:`AudioEncodeError` when ffmpeg fails, and whatever ``render`` raises.
    """
    plan = framing(audio_format, sample_rate_hz)
    if plan is None:
        raise ValueError(f"{audio_format} is not encoded in segments")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=f".{out_path.name}.") as scratch:
        folder = Path(scratch)
        paths = [folder / f"segment-{i:04d}.{plan.stream_format}" for i in range(len(segments))]
        failed = threading.Event()

        def one(index: int) -> None:
            try:
                with _ENCODER_SLOTS:
                    _encode_one(
                        index, segments[index], paths[index], render, audio_format, sample_rate_hz, bitrate_kbps, failed
                    )
            except BaseException:
                failed.set()
                raise

        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="encode-segment") as pool:
            futures = [pool.submit(one, i) for i in range(len(segments))]
            errors = [f.exception() for f in futures]
        first = next((e for e in errors if e is not None and not isinstance(e, SegmentedEncodeError)), None)
        first = first or next((e for e in errors if e is not None), None)
        if first is not None:
            raise first
        _check_frames(paths, segments, plan)
        joined = folder / f"book.{plan.stream_format}"
        with joined.open("wb") as out:
            for path in paths:
                with path.open("rb") as part:
                    shutil.copyfileobj(part, out)
                path.unlink()
        metadata_path = folder / "metadata.txt"
        metadata_path.write_text(metadata, encoding="utf-8")
        tmp_out = folder / f"book.out{out_path.suffix}"
        skip_s = plan.start_skip_samples / sample_rate_hz
        argv = remux_argv(audio_format, joined, plan.demuxer, skip_s, metadata_path, cover_path, tmp_out)
        try:
            subprocess.run(argv, check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.CalledProcessError as exc:
            tail = exc.stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL_CHARS:]
            raise AudioEncodeError(f"could not write {out_path.name} from its segments: {tail}") from exc
        except subprocess.TimeoutExpired:
            raise AudioEncodeError(
                f"could not write {out_path.name}: ffmpeg took over {FFMPEG_TIMEOUT_S:.0f} s"
            ) from None
        with tmp_out.open("rb+") as fh:
            os.fsync(fh.fileno())
        tmp_out.replace(out_path)
    log.debug("%s: %d segments encoded by %d workers", out_path.name, len(segments), workers)
    return out_path
