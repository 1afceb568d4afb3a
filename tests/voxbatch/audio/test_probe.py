"""Probing files before any money is spent: real audio passes, anything else gets a reason."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from voxbatch.audio.ffmpeg import encode_pcm
from voxbatch.audio.probe import AudioProbeError, probe_audio


def test_real_audio_reports_duration_codec_and_channels(tmp_path: Path, jfk_flac: bytes) -> None:
    path = tmp_path / "jfk.flac"
    path.write_bytes(jfk_flac)
    probe = probe_audio(path)
    assert probe.duration_s == pytest.approx(11.0, abs=0.05)
    assert (probe.codec, probe.channels, probe.sample_rate_hz, probe.size_bytes) == ("flac", 2, 44100, len(jfk_flac))


def test_mono_mp3(tmp_path: Path) -> None:
    tone = (np.sin(np.arange(16000 * 2) * 0.1) * 8000).astype(np.int16)
    path = tmp_path / "tone.mp3"
    path.write_bytes(encode_pcm(tone, 16000, ["-f", "mp3"]))
    probe = probe_audio(path)
    assert probe.codec == "mp3" and probe.channels == 1 and probe.duration_s == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty (0 bytes)"),
        (b"Dear diary, this is not audio at all.\n" * 20, "is not audio ffmpeg can read"),
        (None, "is corrupt"),
    ],
    ids=["zero-length", "text-named-mp3", "corrupt-body"],
)
def test_unusable_files_say_why(tmp_path: Path, jfk_flac: bytes, content: bytes | None, reason: str) -> None:
    path = tmp_path / "bad.mp3"
    path.write_bytes(content if content is not None else jfk_flac[:200] + os.urandom(40000))
    with pytest.raises(AudioProbeError, match=re.escape(reason)):
        probe_audio(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioProbeError, match="cannot be read"):
        probe_audio(tmp_path / "nope.wav")


def test_a_streamed_file_without_a_duration_in_its_header_is_measured_by_streaming(tmp_path: Path) -> None:
    tone = (np.sin(np.arange(16000 * 3) * 0.1) * 8000).astype(np.int16)
    path = tmp_path / "recorded.webm"
    path.write_bytes(encode_pcm(tone, 16000, ["-c:a", "libopus", "-f", "webm"]))  # piped: "Duration: N/A"
    probe = probe_audio(path)
    assert probe.codec == "opus" and probe.duration_s == pytest.approx(3.0, abs=0.05)
