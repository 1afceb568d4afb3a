"""Output containers for a stitched book: ffmpeg arguments, tags, chapters, cover art, and one streaming encode.

:class:`StreamingEncoder` runs ONE ffmpeg process that reads raw mono s16le PCM on stdin and
writes a temp file (a name starting with '.') next to the target; :meth:`StreamingEncoder.finish`
fsyncs it and renames it over the target. Any failure kills ffmpeg and removes the temp file, so
the target is either the old file or the whole new one. ffmpeg's stderr goes to a temp file
(never a pipe nobody reads, which could deadlock) and its tail is quoted in errors.

Where tags and chapters go:

- mp3: ID3v2.3 tags, CHAP frames for chapters, APIC for the cover.
- m4b: AAC in an iPod-flavoured MP4 (``-f ipod``): iTunes tags, ``stik`` = Audiobook, QuickTime
  and Nero chapters, ``covr`` for the cover, moov atom up front (``+faststart``).
- flac / opus: Vorbis comments, with chapters written by hand as ``CHAPTERnnn`` /
  ``CHAPTERnnnNAME`` comments (ffmpeg's own writer rounds the seconds of the timestamp to the
  nearest second, so 2.5 s became 00:00:03.500); covers as a FLAC picture block (opus: the
  ``METADATA_BLOCK_PICTURE`` comment, since the ogg muxer takes no image stream).
- wav: RIFF INFO tags only; no chapters, no cover.
"""

from __future__ import annotations

import base64
import contextlib
import os
import queue
import secrets
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

import numpy as np
import numpy.typing as npt

from voxbatch.audio.ffmpeg import STDERR_TAIL_CHARS, AudioEncodeError, ffmpeg_exe

AudioFormat = Literal["mp3", "m4b", "wav", "flac", "opus"]
AUDIO_FORMATS: tuple[AudioFormat, ...] = ("mp3", "m4b", "wav", "flac", "opus")
OPUS_RATES_HZ = frozenset({8000, 12000, 16000, 24000, 48000})
FINISH_TIMEOUT_S = 900.0  # after stdin closes: the encoder drains its queue and m4b rewrites for faststart
PIPE_BYTES = 1 << 20  # a 1 MiB pipe means fewer wake-ups than Linux's 64 KiB default
QUEUE_BLOCKS = 8  # blocks waiting for the writer thread (8 x 128 KiB at the default block size)
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FRONT_COVER = 3  # ID3/FLAC picture type


class CoverError(ValueError):
    """The cover image is missing or not a JPEG/PNG."""


def cover_mime(path: Path) -> str:
    """``image/jpeg`` or ``image/png`` from the file's magic bytes."""
    try:
        with path.open("rb") as fh:
            head = fh.read(len(PNG_MAGIC))
    except OSError as exc:
        raise CoverError(f"cannot read cover image {path}: {exc}") from exc
    if head.startswith(JPEG_MAGIC):
        return "image/jpeg"
    if head.startswith(PNG_MAGIC):
        return "image/png"
    raise CoverError(f"cover image {path} is neither JPEG nor PNG")


def _escape(value: str) -> str:
    """Escape a value for ffmpeg's ffmetadata format (``= ; # \\`` and newlines take a backslash)."""
    out = value
    for char in ("\\", "=", ";", "#", "\n"):
        out = out.replace(char, "\\" + char)
    return out


def _clock(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def _flac_picture(path: Path, mime: str) -> bytes:
    """A FLAC METADATA_BLOCK_PICTURE body (dimensions left 0: readers take them from the image)."""
    image = path.read_bytes()
    mime_bytes = mime.encode("ascii")
    return b"".join(
        [
            struct.pack(">II", FRONT_COVER, len(mime_bytes)),
            mime_bytes,
            struct.pack(">IIIIII", 0, 0, 0, 0, 0, len(image)),
            image,
        ]
    )


def ffmetadata(
    audio_format: AudioFormat,
    title: str,
    author: str | None,
    chapters: Sequence[tuple[str, float, float]],
    cover_path: Path | None = None,
) -> str:
    """The ffmetadata text for the book: global tags, then chapters as ``[CHAPTER]`` or Vorbis comments."""
    tags: list[tuple[str, str]] = [("title", title), ("album", title), ("genre", "Audiobook")]
    if author:
        tags += [("artist", author), ("album_artist", author)]
    if audio_format == "m4b":
        tags.append(("media_type", "2"))  # iTunes stik: Audiobook
    vorbis = audio_format in ("flac", "opus")
    if vorbis:
        for number, (name, start_s, _end_s) in enumerate(chapters):
            tags += [(f"CHAPTER{number:03d}", _clock(start_s)), (f"CHAPTER{number:03d}NAME", name)]
    if audio_format == "opus" and cover_path is not None:
        block = _flac_picture(cover_path, cover_mime(cover_path))
        tags.append(("METADATA_BLOCK_PICTURE", base64.b64encode(block).decode("ascii")))
    lines = [";FFMETADATA1", *(f"{key}={_escape(value)}" for key, value in tags)]
    if not vorbis and audio_format != "wav":
        for name, start_s, end_s in chapters:
            start_ms, end_ms = round(start_s * 1000), round(end_s * 1000)
            lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start_ms}", f"END={end_ms}", f"title={_escape(name)}"]
    return "\n".join(lines) + "\n"


def codec_argv(audio_format: AudioFormat, sample_rate_hz: int, bitrate_kbps: int) -> list[str]:
    """ffmpeg's codec arguments for the book's audio in ``audio_format`` (no container, no tags).

    AAC uses ffmpeg's ``fast`` coder: 3.3-3.7x cheaper than its default ``twoloop`` on Alice's speech, and no worse
    by measurement (SNR and log-spectral distance of the decoded audio against the source; BENCHMARKS.md)."""
    bitrate = f"{bitrate_kbps}k"
    if audio_format == "mp3":
        return ["-c:a", "libmp3lame", "-b:a", bitrate]
    if audio_format == "m4b":
        return ["-c:a", "aac", "-aac_coder", "fast", "-b:a", bitrate]
    if audio_format == "wav":
        return ["-c:a", "pcm_s16le"]
    if audio_format == "flac":
        return ["-c:a", "flac"]
    if audio_format == "opus":
        return ["-c:a", "libopus", "-b:a", bitrate, *([] if sample_rate_hz in OPUS_RATES_HZ else ["-ar", "48000"])]
    raise ValueError(f"unknown audio format {audio_format!r}")


def container_argv(audio_format: AudioFormat) -> list[str]:
    """ffmpeg's muxer arguments for the finished book in ``audio_format``."""
    if audio_format == "mp3":
        return ["-id3v2_version", "3", "-f", "mp3"]
    if audio_format == "m4b":
        return ["-movflags", "+faststart", "-f", "ipod"]
    if audio_format == "wav":
        return ["-rf64", "auto", "-f", "wav"]
    if audio_format == "flac":
        return ["-f", "flac"]
    if audio_format == "opus":
        return ["-f", "ogg"]
    raise ValueError(f"unknown audio format {audio_format!r}")


def _tags_argv(audio_format: AudioFormat, metadata_path: Path, cover_path: Path | None) -> list[str]:
    """Input 1 is the ffmetadata, input 2 the cover image (when the format takes one); audio is input 0."""
    argv = ["-f", "ffmetadata", "-i", str(metadata_path)]
    with_cover = cover_path is not None and audio_format in ("mp3", "m4b", "flac")
    if with_cover:
        argv += ["-i", str(cover_path)]
    argv += ["-map", "0:a", "-map_metadata", "1", "-map_chapters", "-1" if audio_format in ("flac", "opus") else "1"]
    if with_cover:
        argv += ["-map", "2:v", "-c:v", "copy", "-disposition:v:0", "attached_pic"]
    return argv


def pcm_input_argv(sample_rate_hz: int) -> list[str]:
    """ffmpeg at the start of a command that reads raw mono s16le PCM on stdin (input 0)."""
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    return [*argv, "-f", "s16le", "-ar", str(sample_rate_hz), "-ac", "1", "-i", "pipe:0"]


def encoder_argv(
    audio_format: AudioFormat,
    sample_rate_hz: int,
    bitrate_kbps: int,
    metadata_path: Path,
    cover_path: Path | None,
    out_path: Path,
) -> list[str]:
    """ffmpeg arguments: PCM on stdin (input 0), ffmetadata (input 1), cover image (input 2) when it fits."""
    if audio_format not in AUDIO_FORMATS:
        raise ValueError(f"unknown audio format {audio_format!r}")
    argv = pcm_input_argv(sample_rate_hz) + _tags_argv(audio_format, metadata_path, cover_path)
    argv += codec_argv(audio_format, sample_rate_hz, bitrate_kbps) + container_argv(audio_format)
    return [*argv, str(out_path)]


def remux_argv(
    audio_format: AudioFormat,
    stream_path: Path,
    stream_format: str,
    start_skip_s: float,
    metadata_path: Path,
    cover_path: Path | None,
    out_path: Path,
) -> list[str]:
    """ffmpeg arguments that put an encoded stream (``stream_format``: ``adts``, ``mp3``) into the book's container
    with its tags, chapters and cover, without re-encoding. ``start_skip_s``: the encoder's priming at the start,
    which an m4b's edit list then hides from players."""
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    if start_skip_s:
        argv += ["-itsoffset", f"-{start_skip_s:.6f}"]
    argv += ["-f", stream_format, "-i", f"file:{stream_path}"]
    argv += [*_tags_argv(audio_format, metadata_path, cover_path), "-c:a", "copy", *container_argv(audio_format)]
    return [*argv, str(out_path)]


class StreamingEncoder:
    """One ffmpeg process fed PCM blocks through stdin, writing ``out_path`` atomically.

    Use as a context manager: blocks go in with :meth:`write`, :meth:`finish` publishes the file;
    leaving the block without ``finish`` (an exception) kills ffmpeg and removes every temp file.
    A writer thread feeds the pipe from a queue of at most :data:`QUEUE_BLOCKS` blocks, so the
    caller computes the next block while ffmpeg encodes, and memory stays bounded. ``output_argv``, when given,
    replaces the book's codec and container arguments (tags, chapters and cover are then left out): a bare
    stream, such as one segment of a book encoded in parallel.
    """

    def __init__(
        self,
        out_path: Path,
        audio_format: AudioFormat,
        sample_rate_hz: int,
        metadata: str,
        cover_path: Path | None = None,
        bitrate_kbps: int = 64,
        output_argv: Sequence[str] | None = None,
    ) -> None:
        self.out_path = out_path
        self._output_argv = None if output_argv is None else list(output_argv)
        self._format = audio_format
        self._rate = sample_rate_hz
        self._metadata = metadata
        self._cover = cover_path
        self._bitrate = bitrate_kbps
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._tmp_out: Path | None = None
        self._stderr: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUE_BLOCKS)
        self._writer: threading.Thread | None = None
        self._pipe_error: OSError | None = None

    def __enter__(self) -> StreamingEncoder:
        self.out_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._scratch = tempfile.TemporaryDirectory(prefix="voxbatch-encode-")
            scratch = Path(self._scratch.name)
            metadata_path = scratch / "metadata.txt"
            metadata_path.write_text(self._metadata, encoding="utf-8")
            # ffmpeg creates the temp file itself, so it gets the usual permissions (mkstemp's are 0600).
            self._tmp_out = self.out_path.with_name(f".{self.out_path.name}.{secrets.token_hex(6)}.part")
            self._stderr = (scratch / "stderr.log").open("w+b")
            if self._output_argv is None:
                argv = encoder_argv(self._format, self._rate, self._bitrate, metadata_path, self._cover, self._tmp_out)
            else:
                argv = [*pcm_input_argv(self._rate), *self._output_argv, str(self._tmp_out)]
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)
            stdin = self._proc.stdin
            if stdin is None:
                raise RuntimeError("ffmpeg was started without a stdin pipe")
            if sys.platform == "linux":
                import fcntl

                with contextlib.suppress(OSError):
                    fcntl.fcntl(stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            self._writer = threading.Thread(target=self._pump, args=(stdin,), name="ffmpeg-stdin", daemon=True)
            self._writer.start()
        except BaseException:
            self._cleanup(failed=True)
            raise
        return self

    def _pump(self, stdin: IO[bytes]) -> None:
        """Writer thread: queue -> ffmpeg's stdin until the ``None`` sentinel; after a pipe error, drain."""
        while (data := self._queue.get()) is not None:
            if self._pipe_error is None:
                try:
                    stdin.write(data)
                except OSError as exc:  # BrokenPipeError when ffmpeg has died or been killed
                    self._pipe_error = exc

    def write(self, pcm: npt.NDArray[np.int16]) -> None:
        """Queue one block of mono int16 PCM for ffmpeg (blocks while the queue is full)."""
        if self._proc is None or self._writer is None:
            raise RuntimeError("StreamingEncoder.write outside its with-block")
        if self._pipe_error is not None:
            self._proc.wait()
            raise self._failure("ffmpeg stopped reading its input")
        self._queue.put(np.ascontiguousarray(pcm, dtype="<i2").tobytes())

    def finish(self) -> Path:
        """Close ffmpeg's input, wait for it, fsync the temp file and rename it over ``out_path``."""
        if self._proc is None or self._proc.stdin is None or self._tmp_out is None:
            raise RuntimeError("StreamingEncoder.finish outside its with-block")
        self._stop_writer()
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        try:
            code = self._proc.wait(timeout=FINISH_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise self._failure(f"ffmpeg did not finish within {FINISH_TIMEOUT_S:.0f} s") from None
        if code != 0:
            raise self._failure(f"ffmpeg exited with status {code}")
        if self._pipe_error is not None:
            raise self._failure(f"ffmpeg stopped reading its input ({self._pipe_error})")
        with self._tmp_out.open("rb+") as fh:
            os.fsync(fh.fileno())
        self._tmp_out.replace(self.out_path)
        self._tmp_out = None
        return self.out_path

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._cleanup(failed=exc_type is not None or self._tmp_out is not None)

    def _stop_writer(self) -> None:
        if self._writer is not None:
            self._queue.put(None)  # the writer always gets to it: it drains after a pipe error
            self._writer.join()
            self._writer = None

    def _failure(self, what: str) -> AudioEncodeError:
        tail = ""
        if self._stderr is not None:
            self._stderr.flush()
            self._stderr.seek(0)
            tail = self._stderr.read().decode("utf-8", "replace").strip()[-STDERR_TAIL_CHARS:]
        return AudioEncodeError(f"could not encode {self.out_path.name} as {self._format}: {what}: {tail}")

    def _cleanup(self, failed: bool) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()  # a writer blocked on the full pipe now gets EPIPE and starts draining
            self._stop_writer()
            if self._proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()
            self._proc.wait()
            self._proc = None
        if failed and self._tmp_out is not None:
            self._tmp_out.unlink(missing_ok=True)
        self._tmp_out = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None
