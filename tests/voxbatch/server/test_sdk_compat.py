"""The official ``together`` SDK (3.x), unchanged but for its base URL, works against the local server."""

from __future__ import annotations

import base64
import io
import wave

import pytest
import together
from together import Together

from tests.conftest import JFK_TEXT, TEST_API_KEY
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


@pytest.mark.slow
def test_transcription_verbose_json_with_words(client: Together, jfk_flac: bytes) -> None:
    result = client.audio.transcriptions.create(
        file=("jfk.flac", jfk_flac),
        model="openai/whisper-large-v3",
        response_format="verbose_json",
        timestamp_granularities=["segment", "word"],
    )
    data = result.model_dump() if hasattr(result, "model_dump") else dict(result)
    assert 10.0 < data["duration"] < 12.0
    assert data["segments"] and data["words"]
    assert set(data["text"].lower().split()) & set(JFK_TEXT.lower().replace(",", "").replace(".", "").split())


@pytest.mark.slow
def test_translation(client: Together, jfk_flac: bytes) -> None:
    result = client.audio.translations.create(file=("jfk.flac", jfk_flac), model="openai/whisper-large-v3")
    assert "country" in result.text
