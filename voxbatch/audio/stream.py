"""Decoding a file of any length as a stream of fixed-size mono int16 blocks, through one ffmpeg process.

:func:`~voxbatch.audio.ffmpeg.decode_to_pcm` holds the whole decoded signal (1.15 GB for 10 hours at
16 kHz); :func:`decode_stream` never holds more than one block and ffmpeg's pipe. ffmpeg's stderr goes
to a temporary file, so a chatty ffmpeg can never fill a pipe nobody reads and deadlock the decode.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from voxbatch.audio.ffmpeg import FFMPEG_TIMEOUT_S, STDERR_TAIL_CHARS, AudioDecodeError, ffmpeg_exe, pcm_output_argv

SAMPLE_RATE_HZ = 16000  # the analysis and upload rate for speech to text (what Whisper works at)
BYTES_PER_SAMPLE = 2  # s16le
BLOCK_SAMPLES = 1 << 16  # 4.1 s at 16 kHz: 128 KiB per block
PIPE_BYTES = 1 << 20  # a 1 MiB pipe means fewer wake-ups than Linux's 64 KiB default


def _decode_argv(path: Path, sample_rate_hz: int) -> list[str]:
    """ffmpeg's argv for decoding ``path`` to mono s16le PCM at ``sample_rate_hz`` on stdout."""
    # "file:" keeps a name like "pipe:0", "http:x" or "-" from being read as a protocol or as stdin.
    return [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        f"file:{path}",
        *pcm_output_argv(sample_rate_hz),
    ]


def pcm_blocks(read_into: Callable[[memoryview], int], block_samples: int) -> Iterator[npt.NDArray[np.int16]]:
    """Cut a raw s16le byte stream into blocks of exactly ``block_samples`` (the last may be shorter).

    ``read_into(view)`` fills the start of ``view`` and returns the byte count, 0 at the end of the
    stream. A read may return any number of bytes, odd counts included; a block is only cut once it is full, so
    a sample is never split across two blocks. A dangling odd byte at the very end is dropped.
    """
    buffer = bytearray(block_samples * BYTES_PER_SAMPLE)
    view = memoryview(buffer)
    while True:
        filled = 0
        while filled < len(buffer):
            count = read_into(view[filled:])
            if not count:
                break
            filled += count
        usable = filled - filled % BYTES_PER_SAMPLE
        if usable:
            yield np.frombuffer(buffer, dtype="<i2", count=usable // BYTES_PER_SAMPLE).astype(np.int16)
        if filled < len(buffer):
            return


def _stderr_tail(stderr: IO[bytes]) -> str:
    stderr.seek(0)
    return stderr.read().decode("utf-8", "replace").strip()[-STDERR_TAIL_CHARS:]


def decode_stream(
    path: Path, sample_rate_hz: int = SAMPLE_RATE_HZ, block_samples: int = BLOCK_SAMPLES
) -> Generator[npt.NDArray[np.int16], None, None]:
    """Decode ``path`` to mono int16 PCM at ``sample_rate_hz``, yielded in blocks of ``block_samples``.

    Every block but the last has exactly ``block_samples`` samples, and each is a fresh array the
    caller may keep. Closing the generator early (``break``, ``close()``, garbage collection) kills
    ffmpeg. Memory does not depend on the file's length.

    Raises
    ------
    AudioDecodeError
        ffmpeg could not read the file (the message ends with ffmpeg's complaint), or the file holds no
        audio. A file that breaks part-way raises after the blocks decoded before the break.
    """
    if block_samples <= 0:
        raise ValueError(f"block_samples must be positive, got {block_samples}")
    with tempfile.TemporaryFile(prefix="voxbatch-decode-") as stderr:
        proc = subprocess.Popen(
            _decode_argv(path, sample_rate_hz),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            bufsize=0,
        )
        try:
            stdout = proc.stdout
            if stdout is None:
                raise RuntimeError("ffmpeg was started without a stdout pipe")
            if sys.platform == "linux":
                import fcntl

                with contextlib.suppress(OSError):
                    fcntl.fcntl(stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            samples = 0
            fd = stdout.fileno()
            for block in pcm_blocks(lambda view: os.readv(fd, [view]), block_samples):
                samples += len(block)
                yield block
            code = proc.wait(timeout=FFMPEG_TIMEOUT_S)
            if code != 0:
                reason = _stderr_tail(stderr) or f"ffmpeg exited with status {code}"
                raise AudioDecodeError(f"could not decode {path.name}: {reason}")
            if samples == 0:
                raise AudioDecodeError(f"no audio in {path.name}: ffmpeg decoded zero samples")
        finally:
            if proc.poll() is None:
                proc.kill()
            if proc.stdout is not None:
                proc.stdout.close()
            proc.wait()
