"""The official ``together`` SDK (3.x), unchanged but for its base URL, works against the local server.

Transcriptions go to a server hearing with the stand-in recognizer (``fake_server``): the SDK's side of the wire
is the point here, and the stand-in's words for jfk.flac are known (:func:`tests.conftest.heard_by_fake`).
"""

from __future__ import annotations

import base64
import io
import wave

import pytest
import together
from together import Together

from tests.conftest import TEST_API_KEY, heard_by_fake
from voxbatch.server.runner import LocalServer


@pytest.fixture
def client(server: LocalServer) -> Together:
    # SDK 3.x takes the bare host and adds /v1 to each path itself.
    return Together(api_key=TEST_API_KEY, base_url=server.origin, max_retries=0)


def test_speech_create_returns_a_wav(client: Together) -> None:
    response = client.audio.speech.create(
        model="hexgrad/Kokoro-82M", voice="af_heart", input="Hello from the SDK.", response_format="wav"
    )
    data = response.read()
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == 24000
        assert w.getnframes() > 0.5 * 24000


def test_speech_stream_yields_audio_chunks(client: Together) -> None:
    stream = client.audio.speech.create(
        model="canopylabs/orpheus-3b-0.1-ft",
        voice="tara",
        input="One. Two.",
        stream=True,
        response_format="raw",
        response_encoding="pcm_s16le",
    )
    pcm = b""
    for chunk in stream:
        extra = chunk.model_extra or {}
        payload = getattr(chunk, "delta", None) or extra.get("delta") or getattr(chunk, "b64", None)
        if payload:
            pcm += base64.b64decode(payload)
    assert len(pcm) > 0.3 * 24000 * 2


def test_voices_list(client: Together) -> None:
    voices = client.audio.voices.list()
    by_model = {entry.model: [v.name for v in entry.voices] for entry in voices.data}
    assert "tara" in by_model["canopylabs/orpheus-3b-0.1-ft"]
    assert "af_heart" in by_model["hexgrad/Kokoro-82M"]


def test_wrong_key_raises_the_sdks_authentication_error(server: LocalServer) -> None:
    bad = Together(api_key="wrong", base_url=server.origin, max_retries=0)
    with pytest.raises(together.AuthenticationError):
        bad.audio.voices.list()


def test_bad_voice_raises_the_sdks_bad_request_error(client: Together) -> None:
    with pytest.raises(together.BadRequestError) as info:
        client.audio.speech.create(model="hexgrad/Kokoro-82M", voice="nobody", input="Hi")
    assert "nobody" in str(info.value)


@pytest.fixture
def hearing_client(fake_server: LocalServer) -> Together:
    return Together(api_key=TEST_API_KEY, base_url=fake_server.origin, max_retries=0)


def test_transcription_verbose_json_with_words(hearing_client: Together, jfk_flac: bytes) -> None:
    result = hearing_client.audio.transcriptions.create(
        file=("jfk.flac", jfk_flac),
        model="openai/whisper-large-v3",
        response_format="verbose_json",
        timestamp_granularities=["segment", "word"],
    )
    data = result.model_dump() if hasattr(result, "model_dump") else dict(result)
    assert 10.0 < data["duration"] < 12.0
    assert data["segments"] and data["words"]
    assert data["text"].split() == [w["word"] for w in data["words"]] == heard_by_fake(jfk_flac)


def test_translation(hearing_client: Together, jfk_flac: bytes) -> None:
    result = hearing_client.audio.translations.create(file=("jfk.flac", jfk_flac), model="openai/whisper-large-v3")
    assert result.text.split() == heard_by_fake(jfk_flac)
