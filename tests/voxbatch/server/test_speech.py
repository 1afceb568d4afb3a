"""``POST /v1/audio/speech`` over a real socket: formats, encodings, rates, voices and 400s."""

from __future__ import annotations

import hashlib

import httpx
import numpy as np
import pytest

from tests.conftest import TEST_API_KEY
from tests.voxbatch.server.tts_helpers import (
    AUTH,
    KOKORO,
    MINIMAX,
    ORPHEUS,
    SONIC,
    assert_api_error,
    s16,
    silence_server_errors,
    speech,
    wav_params,
)
from voxbatch.audio import ffmpeg, pcm

TEXT = "Hello from the local server."
SONIC_VOICE = "newsman"


def wav_reference(server, **body):  # type: ignore[no-untyped-def]
    """(int16 samples, sample rate) of the WAV answer for ``body``: the oracle for raw answers."""
    resp = speech(server, response_format="wav", **body)
    assert resp.status_code == 200, resp.text
    channels, width, rate, frames = wav_params(resp.content)
    assert (channels, width) == (1, 2)
    return s16(frames), rate


# --- formats -----------------------------------------------------------------------------------------


def test_wav_is_the_default_format_and_a_mono_16_bit_riff(server) -> None:
    resp = speech(server, model=KOKORO, voice="af_heart", input=TEXT)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "audio/wav"
    assert resp.content[:4] == b"RIFF" and resp.content[8:12] == b"WAVE"
    channels, width, rate, frames = wav_params(resp.content)
    assert (channels, width, rate) == (1, 2, 24000)
    duration = len(frames) / 2 / rate
    assert duration > 0.5
    assert np.std(s16(frames)) > 0


@pytest.mark.parametrize(
    ("response_format", "content_type"),
    [
        ("wav", "audio/wav"),
        ("mp3", "audio/mpeg"),
        ("raw", "application/octet-stream"),
        ("mulaw", "application/octet-stream"),
    ],
)
def test_content_type_per_format(server, response_format: str, content_type: str) -> None:
    resp = speech(server, model=SONIC, voice=SONIC_VOICE, input="Hi.", response_format=response_format)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].split(";")[0] == content_type
    assert len(resp.content) > 100


def test_mp3_decodes_to_the_same_duration_as_wav(server) -> None:
    ref, rate = wav_reference(server, model=KOKORO, voice="af_bella", input=TEXT)
    resp = speech(server, model=KOKORO, voice="af_bella", input=TEXT, response_format="mp3")
    assert resp.status_code == 200, resp.text
    assert resp.content[:3] == b"ID3" or resp.content[0] == 0xFF
    decoded = ffmpeg.decode_to_pcm(resp.content, 16000)
    assert len(decoded) / 16000 == pytest.approx(len(ref) / rate, abs=0.1)
    assert np.std(decoded) > 0


def test_mp3_bit_rate_changes_the_size(server) -> None:
    small = speech(server, model=SONIC, voice=SONIC_VOICE, input=TEXT, response_format="mp3", bit_rate=32000)
    large = speech(server, model=SONIC, voice=SONIC_VOICE, input=TEXT, response_format="mp3", bit_rate=192000)
    assert small.status_code == large.status_code == 200
    assert len(large.content) > 2 * len(small.content)


def test_mulaw_format_is_g711_of_the_wav_samples(server) -> None:
    ref, _ = wav_reference(server, model=SONIC, voice=SONIC_VOICE, input=TEXT, sample_rate=8000)
    resp = speech(server, model=SONIC, voice=SONIC_VOICE, input=TEXT, response_format="mulaw", sample_rate=8000)
    assert resp.status_code == 200, resp.text
    assert len(resp.content) == len(ref)
    assert resp.content == pcm.encode(ref, "pcm_mulaw")


# --- encodings and sample rates ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["pcm_s16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw"])
def test_cartesia_honours_response_encoding(server, encoding: str) -> None:
    ref, rate = wav_reference(server, model=SONIC, voice=SONIC_VOICE, input=TEXT, sample_rate=16000)
    assert rate == 16000
    resp = speech(
        server,
        model=SONIC,
        voice=SONIC_VOICE,
        input=TEXT,
        response_format="raw",
        response_encoding=encoding,
        sample_rate=16000,
    )
    assert resp.status_code == 200, resp.text
    assert len(resp.content) == len(ref) * pcm.BYTES_PER_SAMPLE[encoding]  # type: ignore[index]
    if encoding == "pcm_s16le":
        assert np.array_equal(s16(resp.content), ref)
    elif encoding == "pcm_f32le":
        values = np.frombuffer(resp.content, dtype="<f4")
        assert values.min() >= -1.0 and values.max() <= 1.0
        assert np.abs(values).max() > 0.01
        np.testing.assert_allclose(values, ref / 32768.0, atol=1e-6)
    else:
        assert resp.content == pcm.encode(ref, encoding)  # type: ignore[arg-type]
        error = np.abs(pcm.decode(resp.content, encoding).astype(int) - ref.astype(int))  # type: ignore[arg-type]
        assert error.max() <= 1100  # companding error: at most half a top-segment step


def test_cartesia_raw_defaults_to_f32le_at_44100(server) -> None:
    ref, rate = wav_reference(server, model=SONIC, voice=SONIC_VOICE, input="Hi there.")
    assert rate == 44100
    resp = speech(server, model=SONIC, voice=SONIC_VOICE, input="Hi there.", response_format="raw")
    assert len(resp.content) == 4 * len(ref)
    np.testing.assert_allclose(np.frombuffer(resp.content, dtype="<f4"), ref / 32768.0, atol=1e-6)


@pytest.mark.parametrize("model,voice", [(ORPHEUS, "tara"), (KOKORO, "af_heart")])
@pytest.mark.parametrize("encoding", ["pcm_f32le", "pcm_mulaw", "pcm_alaw", "pcm_s16le"])
def test_orpheus_and_kokoro_always_answer_24k_s16le(server, model: str, voice: str, encoding: str) -> None:
    ref, rate = wav_reference(server, model=model, voice=voice, input="Hi there.", sample_rate=8000)
    assert rate == 24000  # sample_rate is ignored, even in the WAV header
    resp = speech(
        server,
        model=model,
        voice=voice,
        input="Hi there.",
        response_format="raw",
        response_encoding=encoding,
        sample_rate=8000,
    )
    assert resp.status_code == 200, resp.text
    assert np.array_equal(s16(resp.content), ref)


def test_minimax_answers_s16le_but_honours_sample_rate(server) -> None:
    ref, rate = wav_reference(
        server, model=MINIMAX, voice="English_Graceful_Lady", input="Hi there.", sample_rate=16000
    )
    assert rate == 16000
    resp = speech(
        server,
        model=MINIMAX,
        voice="English_Graceful_Lady",
        input="Hi there.",
        response_format="raw",
        response_encoding="pcm_f32le",
        sample_rate=16000,
    )
    assert np.array_equal(s16(resp.content), ref)


def test_sample_rate_sets_the_byte_length(server) -> None:
    ref, rate = wav_reference(server, model=SONIC, voice=SONIC_VOICE, input=TEXT, sample_rate=8000)
    duration = len(ref) / rate
    for sample_rate in (8000, 22050, 48000):
        resp = speech(
            server,
            model=SONIC,
            voice=SONIC_VOICE,
            input=TEXT,
            response_format="raw",
            response_encoding="pcm_s16le",
            sample_rate=sample_rate,
        )
        assert resp.status_code == 200
        assert len(resp.content) == pytest.approx(duration * sample_rate * 2, rel=0.01)


def test_sample_rate_keeps_the_pitch(server) -> None:
    """Resampling changes the rate, not the voice: the dominant frequency stays put."""
    peaks = []
    for sample_rate in (16000, 44100):
        ref, rate = wav_reference(server, model=SONIC, voice=SONIC_VOICE, input="Aaaah.", sample_rate=sample_rate)
        spectrum = np.abs(np.fft.rfft(ref.astype(float)))
        peaks.append(np.fft.rfftfreq(len(ref), 1 / rate)[np.argmax(spectrum)])
    assert peaks[0] == pytest.approx(peaks[1], abs=15)


# --- voices and text --------------------------------------------------------------------------------


def test_voices_of_one_model_sound_different(server) -> None:
    voices = ["tara", "leah", "jess", "leo", "dan", "mia", "zac", "zoe"]
    bodies = {v: speech(server, model=ORPHEUS, voice=v, input=TEXT, response_format="raw").content for v in voices}
    assert len({hashlib.sha256(b).hexdigest() for b in bodies.values()}) == len(voices)
    assert len({len(b) for b in bodies.values()}) > 1


def test_same_request_gives_the_same_audio(server) -> None:
    first = speech(server, model=KOKORO, voice="am_adam", input=TEXT, response_format="raw")
    second = speech(server, model=KOKORO, voice="am_adam", input=TEXT, response_format="raw")
    assert first.content == second.content


def test_longer_text_gives_longer_audio(server) -> None:
    short = speech(server, model=KOKORO, voice="af_heart", input="Hello.", response_format="raw")
    long = speech(
        server,
        model=KOKORO,
        voice="af_heart",
        input="Hello. This sentence is much longer than that.",
        response_format="raw",
    )
    assert len(long.content) > 2 * len(short.content)


def test_speed_changes_the_duration(server) -> None:
    normal = speech(server, model=KOKORO, voice="af_heart", input=TEXT, response_format="raw")
    fast = speech(server, model=KOKORO, voice="af_heart", input=TEXT, response_format="raw", speed=2.0)
    assert fast.status_code == 200
    assert len(fast.content) < 0.8 * len(normal.content)


def test_language_is_accepted(server) -> None:
    english = speech(server, model=SONIC, voice=SONIC_VOICE, input="Bonjour tout le monde.", response_format="raw")
    french = speech(
        server,
        model=SONIC,
        voice=SONIC_VOICE,
        input="Bonjour tout le monde.",
        response_format="raw",
        language="fr",
    )
    assert french.status_code == 200, french.text
    assert french.content != english.content


def test_kokoro_voice_mix_over_rest(server) -> None:
    resp = speech(server, model=KOKORO, voice="af_bella(2)+af_heart(1)", input="Hi.", response_format="raw")
    assert resp.status_code == 200, resp.text
    assert len(resp.content) > 0


def test_request_written_like_togethers_docs(server) -> None:
    """The curl example from docs.together.ai, byte for byte apart from the host."""
    body = (
        '{\n    "model": "canopylabs/orpheus-3b-0.1-ft",\n'
        '    "input": "Today is a wonderful day to build something people love!",\n'
        '    "voice": "tara",\n    "response_format": "mp3"\n  }'
    )
    resp = httpx.post(
        f"{server.base_url}/audio/speech",
        content=body.encode(),
        headers={"Authorization": f"Bearer {TEST_API_KEY}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "audio/mpeg"
    assert len(ffmpeg.decode_to_pcm(resp.content)) / 16000 > 1.5


# --- 400s -------------------------------------------------------------------------------------------

OK = {"model": KOKORO, "voice": "af_heart", "input": "Hi."}


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({**OK, "model": "nobody/no-model"}, "model", "model_not_available"),
        ({"voice": "af_heart", "input": "Hi."}, "model", "missing_model"),
        ({**OK, "model": ["x"]}, "model", "missing_model"),
        ({**OK, "voice": "nobody"}, "voice", "voice_not_available"),
        ({**OK, "voice": ""}, "voice", "voice_not_available"),
        ({"model": KOKORO, "input": "Hi."}, "voice", "missing_voice"),
        ({**OK, "voice": "af_bella+nobody"}, "voice", "voice_not_available"),
        ({**OK, "input": ""}, "input", "empty_input"),
        ({**OK, "input": "   "}, "input", "empty_input"),
        ({"model": KOKORO, "voice": "af_heart"}, "input", "empty_input"),
        ({**OK, "input": 42}, "input", ...),
        ({**OK, "response_format": "ogg"}, "response_format", ...),
        ({**OK, "response_format": "opus"}, "response_format", ...),  # MiniMax only
        ({**OK, "stream": True, "response_format": "wav"}, "response_format", ...),
        ({**OK, "stream": True}, "response_format", ...),  # the default wav cannot stream
        ({**OK, "stream": "maybe"}, "stream", ...),
        ({**OK, "response_encoding": "pcm_s24le"}, "response_encoding", ...),
        ({**OK, "sample_rate": 1000}, "sample_rate", ...),
        ({**OK, "sample_rate": 96000}, "sample_rate", ...),
        ({**OK, "sample_rate": "fast"}, "sample_rate", ...),
        ({**OK, "sample_rate": True}, "sample_rate", ...),
        ({**OK, "speed": 10}, "speed", ...),
        ({**OK, "bit_rate": 100}, "bit_rate", ...),
        ({**OK, "language": "xx"}, "language", "unsupported_language"),
        ({**OK, "alignment": "char"}, "alignment", ...),
        ({**OK, "segment": "paragraph"}, "segment", ...),
    ],
)
def test_bad_requests_are_400_naming_the_param(server, body: dict, param: str, code: object) -> None:
    error = assert_api_error(speech(server, **body), 400, param=param, code=code)
    assert error["type"] == "invalid_request_error"


def test_minimax_accepts_its_extra_formats(server) -> None:
    resp = speech(server, model=MINIMAX, voice="English_Graceful_Lady", input="Hi.", response_format="flac")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "audio/flac"
    assert resp.content[:4] == b"fLaC"


@pytest.mark.parametrize("raw_body", [b"{not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_body_that_is_not_a_json_object_is_400(server, raw_body: bytes) -> None:
    resp = httpx.post(
        f"{server.base_url}/audio/speech",
        content=raw_body,
        headers={**AUTH, "content-type": "application/json"},
        timeout=30,
    )
    assert_api_error(resp, 400, param=None, code="invalid_json")


def test_infinite_sample_rate_is_400_not_500(server, monkeypatch: pytest.MonkeyPatch) -> None:
    silence_server_errors(monkeypatch)
    resp = httpx.post(
        f"{server.base_url}/audio/speech",
        content=b'{"model":"hexgrad/Kokoro-82M","voice":"af_heart","input":"Hi.","sample_rate":Infinity}',
        headers={**AUTH, "content-type": "application/json"},
        timeout=30,
    )
    assert_api_error(resp, 400, param="sample_rate")


def test_input_over_max_input_chars_is_400(make_server) -> None:
    small = make_server(max_input_chars=50)
    at_limit = speech(small, model=KOKORO, voice="af_heart", input="a" * 49 + ".", response_format="raw")
    assert at_limit.status_code == 200, at_limit.text
    error = assert_api_error(
        speech(small, model=KOKORO, voice="af_heart", input="a" * 51),
        400,
        param="input",
        code="input_too_long",
    )
    assert "50" in error["message"]
