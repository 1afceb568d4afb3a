"""PCM conversions: the four wire encodings, G.711 reference values, resampling and WAV."""

from __future__ import annotations

import io
import warnings
import wave

import numpy as np
import pytest

from voxbatch.audio import pcm

KNOWN_INPUT = np.array([0, 1, -1, 100, -100, 1000, -1000, 8000, -8000, 32767, -32768], dtype=np.int16)
KNOWN_MULAW = [255, 255, 126, 242, 114, 206, 78, 160, 32, 128, 0]
KNOWN_ALAW = [213, 213, 85, 211, 83, 250, 122, 138, 10, 170, 42]
EVERY_INT16 = np.arange(-32768, 32768, dtype=np.int16)


def tone(freq_hz: float, rate_hz: int, seconds: float = 1.0, amplitude: float = 12000) -> np.ndarray:
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return np.round(amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def peak_hz(samples: np.ndarray, rate_hz: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate_hz)[np.argmax(spectrum)])


def audioop_or_skip():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pytest.importorskip("audioop")


# --- G.711 --------------------------------------------------------------------------------------------


def test_mulaw_known_values() -> None:
    assert list(pcm.encode(KNOWN_INPUT, "pcm_mulaw")) == KNOWN_MULAW


def test_alaw_known_values() -> None:
    assert list(pcm.encode(KNOWN_INPUT, "pcm_alaw")) == KNOWN_ALAW


def test_g711_decode_known_values() -> None:
    assert pcm.mulaw_decode(bytes([255, 127, 0, 128])).tolist() == [0, 0, -32124, 32124]
    assert pcm.alaw_decode(bytes([213, 85, 42, 170])).tolist() == [8, -8, -32256, 32256]


@pytest.mark.parametrize("encoding", ["pcm_mulaw", "pcm_alaw"])
def test_g711_matches_the_reference_on_every_sample(encoding: str) -> None:
    audioop = audioop_or_skip()
    reference = audioop.lin2ulaw if encoding == "pcm_mulaw" else audioop.lin2alaw
    assert pcm.encode(EVERY_INT16, encoding) == reference(EVERY_INT16.astype("<i2").tobytes(), 2)  # type: ignore[arg-type]
    decode = audioop.ulaw2lin if encoding == "pcm_mulaw" else audioop.alaw2lin
    every_byte = bytes(range(256))
    expected = np.frombuffer(decode(every_byte, 2), dtype="<i2")
    assert np.array_equal(pcm.decode(every_byte, encoding), expected)  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding", ["pcm_mulaw", "pcm_alaw"])
def test_g711_round_trip_error_is_bounded(encoding: str) -> None:
    encoded = pcm.encode(EVERY_INT16, encoding)  # type: ignore[arg-type]
    assert len(encoded) == len(EVERY_INT16)
    decoded = pcm.decode(encoded, encoding)  # type: ignore[arg-type]
    error = np.abs(decoded.astype(int) - EVERY_INT16.astype(int))
    # Logarithmic companding: the error grows with the magnitude, about 3 % at most.
    assert np.all(error <= np.abs(EVERY_INT16.astype(int)) * 0.035 + 16)
    assert np.array_equal(np.sign(decoded[np.abs(EVERY_INT16) > 64]), np.sign(EVERY_INT16[np.abs(EVERY_INT16) > 64]))
    # Decoded values are code points: encoding them again is lossless.
    assert pcm.encode(decoded, encoding) == encoded  # type: ignore[arg-type]


# --- linear encodings ------------------------------------------------------------------------------------


def test_s16le_round_trip_is_exact() -> None:
    data = pcm.encode(EVERY_INT16, "pcm_s16le")
    assert data[:2] == b"\x00\x80"  # little-endian -32768
    assert np.array_equal(pcm.decode(data, "pcm_s16le"), EVERY_INT16)


def test_f32le_round_trip_is_exact_and_in_range() -> None:
    data = pcm.encode(EVERY_INT16, "pcm_f32le")
    values = np.frombuffer(data, dtype="<f4")
    assert values.min() == -1.0
    assert values.max() == pytest.approx(32767 / 32768)
    assert np.array_equal(pcm.decode(data, "pcm_f32le"), EVERY_INT16)


def test_f32le_decode_clips_out_of_range_floats() -> None:
    data = np.array([1.5, -2.0, 0.5], dtype="<f4").tobytes()
    assert pcm.decode(data, "pcm_f32le").tolist() == [32767, -32768, 16384]


@pytest.mark.parametrize("encoding", pcm.PCM_ENCODINGS)
def test_bytes_per_sample(encoding: pcm.PcmEncoding) -> None:
    samples = tone(440, 8000, 0.1)
    assert len(pcm.encode(samples, encoding)) == len(samples) * pcm.BYTES_PER_SAMPLE[encoding]
    assert len(pcm.decode(pcm.encode(samples, encoding), encoding)) == len(samples)


@pytest.mark.parametrize("encoding", pcm.PCM_ENCODINGS)
def test_empty_input(encoding: pcm.PcmEncoding) -> None:
    assert pcm.encode(np.zeros(0, dtype=np.int16), encoding) == b""
    assert len(pcm.decode(b"", encoding)) == 0


def test_unknown_encoding_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown PCM encoding"):
        pcm.encode(KNOWN_INPUT, "pcm_s24le")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown PCM encoding"):
        pcm.decode(b"\x00\x00", "pcm_u8")  # type: ignore[arg-type]


# --- resampling --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_hz", "to_hz"),
    [(22050, 24000), (22050, 16000), (22050, 8000), (24000, 44100), (8000, 48000), (44100, 22050)],
)
def test_resample_length_and_pitch(from_hz: int, to_hz: int) -> None:
    samples = tone(440, from_hz, 0.5)
    out = pcm.resample(samples, from_hz, to_hz)
    assert out.dtype == np.int16
    assert len(out) == round(len(samples) * to_hz / from_hz)
    assert peak_hz(out, to_hz) == pytest.approx(440, abs=3)
    assert np.abs(out).max() == pytest.approx(12000, rel=0.05)


def test_resample_same_rate_and_empty_are_untouched() -> None:
    samples = tone(300, 16000, 0.1)
    assert pcm.resample(samples, 16000, 16000) is samples
    assert len(pcm.resample(np.zeros(0, dtype=np.int16), 22050, 24000)) == 0


def test_resample_stays_in_int16_range() -> None:
    square = np.tile(np.array([32767] * 5 + [-32768] * 5, dtype=np.int16), 100)
    out = pcm.resample(square, 22050, 44100)
    assert out.max() <= 32767 and out.min() >= -32768


# --- WAV ---------------------------------------------------------------------------------------------------


def test_wav_round_trip() -> None:
    samples = tone(1000, 24000, 0.25)
    data = pcm.to_wav(samples, 24000)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert len(data) == 44 + 2 * len(samples)
    decoded, rate = pcm.from_wav(data)
    assert rate == 24000
    assert np.array_equal(decoded, samples)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (
            1,
            2,
            24000,
            len(samples),
        )


def test_from_wav_rejects_stereo_and_8_bit() -> None:
    for channels, width in ((2, 2), (1, 1)):
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(width)
            w.setframerate(8000)
            w.writeframes(b"\x00" * 16)
        with pytest.raises(ValueError, match="mono 16-bit"):
            pcm.from_wav(buf.getvalue())


def test_resample_is_deterministic_and_keeps_digital_silence() -> None:
    """soxr's own int16 output dithers (random LSBs, even in silence); ours is rounded by numpy."""
    samples = np.concatenate([tone(440, 22050, 0.3), np.zeros(22050, np.int16)])
    first = pcm.resample(samples, 22050, 24000)
    assert all(np.array_equal(first, pcm.resample(samples.copy(), 22050, 24000)) for _ in range(5))
    assert not first[round(0.35 * 24000) :].any()
