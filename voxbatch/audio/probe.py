"""Probing an audio file before any money is spent: duration, codec, channels, and whether it decodes at all.

ffmpeg (from the imageio-ffmpeg wheel) opens the file and decodes its first seconds; the container header
gives the duration, codec and channel layout. A file ffmpeg cannot open, one with no audio stream, one
whose first seconds do not decode, and an empty one each raise :class:`AudioProbeError` with the reason.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from voxbatch.audio.ffmpeg import FFMPEG_TIMEOUT_S, AudioDecodeError, ffmpeg_exe
from voxbatch.audio.stream import decode_stream

PROBE_DECODE_S = 5.0  # decode this much of the start to prove the file really is audio
PROBE_RATE_HZ = 8000  # low rate: enough to count samples
_DURATION_RE = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_INPUT_RE = re.compile(r"Input #0, ([^,]+(?:,[^,]+)*?), from ")
_STREAM_RE = re.compile(r"Stream #0:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Audio: ([^,\s]+)[^,]*, (\d+) Hz, ([^,]+)")
_CHANNEL_WORDS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}
_ERROR_HINTS = ("Invalid data", "Error", "error", "could not", "No such", "Permission denied")


class AudioProbeError(ValueError):
    """The file is not audio we can use; the message says why."""


@dataclass(frozen=True)
class AudioProbe:
    """What a file holds, from its header and a trial decode."""

    duration_s: float
    codec: str
    channels: int | None
    sample_rate_hz: int | None
    container: str
    size_bytes: int


def _channels(layout: str) -> int | None:
    layout = layout.strip().split("(")[0].strip()
    if layout in _CHANNEL_WORDS:
        return _CHANNEL_WORDS[layout]
    match = re.match(r"(\d+) channels", layout)
    return int(match.group(1)) if match else None


def _reason(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if any(hint in line for hint in _ERROR_HINTS):
            return re.sub(r"^\[[^\]]+\]\s*", "", line)
    return lines[-1] if lines else "ffmpeg failed"


def probe_audio(path: Path) -> AudioProbe:
    """Duration, codec and channels of ``path``; raises :class:`AudioProbeError` when it is not usable audio."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AudioProbeError(f"cannot be read: {exc.strerror or exc}") from exc
    if size == 0:
        raise AudioProbeError("is empty (0 bytes)")
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path), "-t", str(PROBE_DECODE_S)]
    argv += ["-vn", "-ac", "1", "-ar", str(PROBE_RATE_HZ), "-f", "s16le", "-"]
    try:
        run = subprocess.run(argv, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AudioProbeError(f"could not be probed within {FFMPEG_TIMEOUT_S:.0f} s") from exc
    stderr = run.stderr.decode("utf-8", "replace")
    stream = _STREAM_RE.search(stderr)
    if run.returncode != 0:
        if stream is None and "Input #0" in stderr:
            raise AudioProbeError("has no audio stream")
        raise AudioProbeError(f"is not audio ffmpeg can read: {_reason(stderr)}")
    if stream is None:
        raise AudioProbeError("has no audio stream")
    if not run.stdout:
        raise AudioProbeError("is corrupt: its header reads, but no audio decodes from it")
    container = _INPUT_RE.search(stderr)
    match = _DURATION_RE.search(stderr)
    if match:
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    else:  # no duration in the header (raw or streamed files): count the samples, streaming
        try:
            duration = sum(len(block) for block in decode_stream(path, PROBE_RATE_HZ)) / PROBE_RATE_HZ
        except AudioDecodeError as exc:
            raise AudioProbeError(f"is corrupt: {exc}") from exc
    if duration <= 0:
        raise AudioProbeError("holds no audio (0 s)")
    codec, rate, layout = stream.groups()
    return AudioProbe(
        duration_s=duration,
        codec=codec,
        channels=_channels(layout),
        sample_rate_hz=int(rate),
        container=container.group(1) if container else "unknown",
        size_bytes=size,
    )
