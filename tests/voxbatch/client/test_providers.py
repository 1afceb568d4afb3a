"""The OpenAI-compatible provider profile (OpenAI, speaches, Kokoro-FastAPI), over ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import base64
import json

import httpx

from tests.voxbatch.client.conftest import mock_wire
from voxbatch.client.client import SpeechClient, SpeechOptions, TranscriptionOptions
from voxbatch.client.options import ClientOptions

PCM = b"\x01\x00" * 2400  # 0.1 s at 24 kHz


def _multipart_fields(request: httpx.Request) -> list[tuple[str, str]]:
    body = request.read().decode("latin-1")
    boundary = request.headers["content-type"].split("boundary=")[1]
    fields = []
    for part in body.split(f"--{boundary}")[1:-1]:
        head, _, value = part.partition("\r\n\r\n")
        name = head.split('name="')[1].split('"')[0]
        fields.append((name, value.rstrip("\r\n") if "filename=" not in head else "<file>"))
    return fields


def test_openai_speech_asks_for_pcm_and_reads_speech_audio_delta_events() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        if body.get("stream_format") == "sse":
            events = [
                {"type": "speech.audio.delta", "audio": base64.b64encode(PCM[:2400]).decode()},
                {"type": "speech.audio.delta", "audio": base64.b64encode(PCM[2400:]).decode()},
                {"type": "speech.audio.done", "usage": {"input_tokens": 3}},
            ]
            text = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
            return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, content=PCM)

    options = ClientOptions(api_key="k", base_url="http://openai.test", provider="openai")

    async def go() -> tuple[object, object]:
        async with SpeechClient(options, transport=mock_wire(options, handler)) as client:
            rest = await client.speak("Hi.", SpeechOptions(model="tts-1", voice="alloy"))
            sse = await client.speak("Hi.", SpeechOptions(model="tts-1", voice="alloy", transport="sse"))
            return rest, sse

    rest, sse = asyncio.run(go())
    assert seen[0] == {"model": "tts-1", "input": "Hi.", "voice": "alloy", "response_format": "pcm"}
    assert seen[1]["stream_format"] == "sse" and "stream" not in seen[1]
    assert rest.audio == PCM and rest.sample_rate_hz == 24000 and rest.encoding == "pcm_s16le"
    assert sse.audio == PCM


def test_together_speech_asks_for_raw_with_an_encoding() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, content=PCM)

    options = ClientOptions(api_key="k", base_url="http://together.test")

    async def go() -> None:
        async with SpeechClient(options, transport=mock_wire(options, handler)) as client:
            await client.speak("Hi.", SpeechOptions(model="cartesia/sonic-2", voice="x", sample_rate_hz=16000))

    asyncio.run(go())
    assert seen[0]["response_format"] == "raw" and seen[0]["response_encoding"] == "pcm_s16le"
    assert seen[0]["sample_rate"] == 16000


def test_transcription_fields_per_provider() -> None:
    seen: dict[str, list[tuple[str, str]]] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = _multipart_fields(request)
        return httpx.Response(200, json={"text": "hello", "duration": 1.0, "segments": []})

    opts = TranscriptionOptions(timestamp_granularities=("segment", "word"), diarize=True, language="en")

    async def go(provider: str, host: str) -> None:
        options = ClientOptions(api_key="k", base_url=f"http://{host}", provider=provider)  # type: ignore[arg-type]
        async with SpeechClient(options, transport=mock_wire(options, handler)) as client:
            await client.transcribe(b"RIFF....", opts)

    asyncio.run(go("openai", "openai.test"))
    asyncio.run(go("together", "together.test"))
    openai, together = seen["openai.test"], seen["together.test"]
    assert openai[0] == ("model", "openai/whisper-large-v3")  # model always sent, first
    assert ("timestamp_granularities[]", "segment") in openai and ("timestamp_granularities[]", "word") in openai
    assert not any(name == "diarize" for name, _ in openai)  # a Together-only field
    assert together[0][0] == "model"
    assert ("timestamp_granularities", "word") in together and ("diarize", "true") in together
    assert together[-1] == ("file", "<file>")  # the file after the fields, so servers can route first
