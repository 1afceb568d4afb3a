"""ffmpeg through pipes: decoding real and broken files, and an encode/decode round trip."""

from __future__ import annotations

import numpy as np
import pytest

from voxbatch.audio import ffmpeg, pcm


def tone(freq_hz: float, rate_hz: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return np.round(10000 * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def test_ffmpeg_binary_is_found() -> None:
    assert ffmpeg.ffmpeg_exe()
    assert ffmpeg.ffmpeg_exe() is ffmpeg.ffmpeg_exe()  # cached


def test_decode_jfk_flac(jfk_flac: bytes) -> None:
    samples = ffmpeg.decode_to_pcm(jfk_flac)
    assert samples.dtype == np.int16
    assert len(samples) / 16000 == pytest.approx(11.0, abs=0.3)
    assert samples.std() > 100
    assert samples.flags.writeable  # a copy, not a view of the pipe buffer


def test_decode_at_another_rate(jfk_flac: bytes) -> None:
    at_8k = ffmpeg.decode_to_pcm(jfk_flac, 8000)
    assert len(at_8k) / 8000 == pytest.approx(11.0, abs=0.3)


def test_decode_garbage_carries_ffmpegs_complaint() -> None:
    with pytest.raises(ffmpeg.AudioDecodeError) as info:
        ffmpeg.decode_to_pcm(b"this is certainly not audio " * 20)
    message = str(info.value)
    assert message.startswith("could not decode audio")
    assert "Invalid data found when processing input" in message
    assert len(message) <= len("could not decode audio: ") + ffmpeg.STDERR_TAIL_CHARS
    assert isinstance(info.value, ValueError)


def test_decode_empty_is_an_error() -> None:
    with pytest.raises(ffmpeg.AudioDecodeError, match="empty"):
        ffmpeg.decode_to_pcm(b"")


def test_decode_truncated_file_is_an_error_or_shorter(jfk_flac: bytes) -> None:
    try:
        samples = ffmpeg.decode_to_pcm(jfk_flac[:200])
    except ffmpeg.AudioDecodeError:
        return
    assert len(samples) / 16000 < 1.0


def test_mp3_round_trip_keeps_duration_and_pitch() -> None:
    samples = tone(440, 16000, 1.0)
    mp3 = ffmpeg.encode_pcm(samples, 16000, ["-c:a", "libmp3lame", "-b:a", "64000", "-f", "mp3"])
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF
    back = ffmpeg.decode_to_pcm(mp3, 16000)
    assert len(back) / 16000 == pytest.approx(1.0, abs=0.1)
    spectrum = np.abs(np.fft.rfft(back.astype(float)))
    assert np.fft.rfftfreq(len(back), 1 / 16000)[np.argmax(spectrum)] == pytest.approx(440, abs=5)


def test_wav_decodes_exactly() -> None:
    samples = tone(300, 16000, 0.5)
    assert np.array_equal(ffmpeg.decode_to_pcm(pcm.to_wav(samples, 16000), 16000), samples)


def test_encode_with_a_bad_codec_carries_ffmpegs_complaint() -> None:
    with pytest.raises(ffmpeg.AudioEncodeError, match="Unknown encoder"):
        ffmpeg.encode_pcm(tone(440, 16000, 0.1), 16000, ["-c:a", "no-such-codec", "-f", "mp3"])
