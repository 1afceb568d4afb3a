"""FLAC and WAV that already hold what is asked for are read in-process, with exactly ffmpeg's samples; the rest
is left to ffmpeg."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from voxbatch.audio import ffmpeg, pcm
from voxbatch.audio.native_pcm import read_native_pcm
from voxbatch.pipelines.transcript.split import encode_flac

RATE_HZ = 16000


def _ffmpeg_decode(data: bytes, rate_hz: int = RATE_HZ) -> np.ndarray:
    """What ffmpeg makes of ``data`` (always a process: the reference)."""
    return np.frombuffer(ffmpeg._run(["-i", "pipe:0", *ffmpeg.pcm_output_argv(rate_hz)], data).stdout, dtype="<i2")


@pytest.fixture(scope="module")
def speech(jfk_flac: bytes) -> np.ndarray:
    return ffmpeg.decode_to_pcm(jfk_flac, RATE_HZ)


def test_a_chunk_flac_reads_as_ffmpeg_reads_it(speech: np.ndarray) -> None:
    chunk = encode_flac(speech, RATE_HZ)  # what the transcript flow uploads

    native = read_native_pcm(chunk, RATE_HZ)

    assert native is not None and native.dtype == np.int16 and native.flags.writeable
    np.testing.assert_array_equal(native, _ffmpeg_decode(chunk))
    np.testing.assert_array_equal(native, speech)  # lossless


def test_a_mono_16_bit_wav_reads_as_ffmpeg_reads_it(speech: np.ndarray) -> None:
    wav = pcm.to_wav(speech, RATE_HZ)

    native = read_native_pcm(wav, RATE_HZ)

    assert native is not None
    np.testing.assert_array_equal(native, _ffmpeg_decode(wav))


def test_anything_else_is_left_to_ffmpeg(jfk_flac: bytes, speech: np.ndarray) -> None:
    stereo = ffmpeg.encode_pcm(speech, RATE_HZ, ["-ac", "2", "-c:a", "flac", "-f", "flac"])
    wide = ffmpeg.encode_pcm(speech, RATE_HZ, ["-c:a", "flac", "-sample_fmt", "s32", "-f", "flac"])
    mp3 = ffmpeg.encode_pcm(speech, RATE_HZ, ["-f", "mp3"])
    others = {
        "44.1 kHz stereo 24-bit FLAC": jfk_flac,
        "stereo FLAC": stereo,
        "24-bit FLAC": wide,
        "MP3": mp3,
        "WAV at another rate": pcm.to_wav(speech, 8000),
        "a FLAC marker and nothing else": b"fLaC" + bytes(64),
        "a RIFF/WAVE header and nothing else": b"RIFF\0\0\0\0WAVE",
        "nothing": b"",
    }
    for name, data in others.items():
        assert read_native_pcm(data, RATE_HZ) is None, name
    assert read_native_pcm(encode_flac(speech, RATE_HZ), 8000) is None  # asked for another rate


def test_decode_to_pcm_starts_no_process_for_a_chunk(speech: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    chunk = encode_flac(speech, RATE_HZ)
    started: list[object] = []

    def no_process(*args: object, **kwargs: object) -> object:
        started.append(args)
        raise AssertionError("an ffmpeg process was started")

    monkeypatch.setattr(subprocess, "run", no_process)
    np.testing.assert_array_equal(ffmpeg.decode_to_pcm(chunk, RATE_HZ), speech)
    assert started == []
    with pytest.raises(AssertionError, match="an ffmpeg process was started"):
        ffmpeg.decode_to_pcm(pcm.to_wav(speech, 8000), RATE_HZ)  # ... but for what needs converting
