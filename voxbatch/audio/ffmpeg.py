"""Decoding and encoding audio through the ffmpeg binary shipped in the imageio-ffmpeg wheel.

ffmpeg is run with an argv list, data goes through pipes, and a failure becomes an
:class:`AudioDecodeError` / :class:`AudioEncodeError` that carries ffmpeg's stderr.
"""

from __future__ import annotations

import functools
import re
import subprocess

import numpy as np
import numpy.typing as npt

from voxbatch.audio.native_pcm import read_native_pcm

FFMPEG_TIMEOUT_S = 300.0
STDERR_TAIL_CHARS = 600  # enough of ffmpeg's complaint to say why, not its whole banner


class AudioDecodeError(ValueError):
    """The bytes could not be decoded as audio."""


class AudioEncodeError(RuntimeError):
    """ffmpeg failed to encode PCM into the requested container."""


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary inside the imageio-ffmpeg wheel."""
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _run(argv: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", *argv],
        input=data,
        capture_output=True,
        check=True,
        timeout=FFMPEG_TIMEOUT_S,
    )


def pcm_output_argv(sample_rate_hz: int) -> list[str]:
    """ffmpeg's output arguments for mono signed 16-bit PCM at ``sample_rate_hz`` on stdout."""
    return ["-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(sample_rate_hz), "-"]


def decode_to_pcm(data: bytes, sample_rate_hz: int = 16000) -> npt.NDArray[np.int16]:
    """Decode any container ffmpeg understands into mono signed 16-bit PCM at ``sample_rate_hz``.

    FLAC and WAV that already hold exactly that are read in this process, with the same samples
    (:mod:`voxbatch.audio.native_pcm`); everything else goes through ffmpeg.
    """
    if not data:
        raise AudioDecodeError("empty file")
    native = read_native_pcm(data, sample_rate_hz)
    if native is not None:
        return native
    argv = ["-i", "pipe:0", *pcm_output_argv(sample_rate_hz)]
    try:
        out = _run(argv, data).stdout
    except subprocess.CalledProcessError as exc:
        tail = exc.stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL_CHARS:]
        raise AudioDecodeError(f"could not decode audio: {tail or 'ffmpeg failed'}") from exc
    if not out:
        raise AudioDecodeError("could not decode audio: no audio stream")
    return np.frombuffer(out, dtype="<i2").copy()


def encode_pcm(pcm: npt.NDArray[np.int16], sample_rate_hz: int, codec_argv: list[str]) -> bytes:
    """Encode mono s16le PCM with the given ffmpeg output arguments (e.g. ``["-f", "mp3"]``)."""
    argv = ["-f", "s16le", "-ar", str(sample_rate_hz), "-ac", "1", "-i", "pipe:0", *codec_argv, "-"]
    try:
        return _run(argv, pcm.astype("<i2").tobytes()).stdout
    except subprocess.CalledProcessError as exc:
        tail = exc.stderr.decode("utf-8", "replace").strip()[-STDERR_TAIL_CHARS:]
        raise AudioEncodeError(f"ffmpeg could not encode audio: {tail}") from exc


_DURATION_RE = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
PROBE_SAMPLE_RATE_HZ = 8000  # decoding at a low rate is enough to count seconds


def probe_duration_s(data: bytes) -> float:
    """Seconds of audio in ``data``: from the container header when it says, else by decoding."""
    try:
        probe = subprocess.run(
            [ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", "pipe:0"],
            input=data,
            capture_output=True,
            timeout=FFMPEG_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError):
        probe = None
    match = _DURATION_RE.search(probe.stderr) if probe is not None else None
    if match:
        hours, minutes, seconds = match.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return len(decode_to_pcm(data, PROBE_SAMPLE_RATE_HZ)) / PROBE_SAMPLE_RATE_HZ
