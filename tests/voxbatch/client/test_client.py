"""The client against the local server over real sockets: every wire path (REST, SSE, WebSocket speech,
transcription, translation, voices) end to end, cut answers, and the key on the wire.

Retries, records and pacing, where the server only supplied canned answers, run on the fake transport
(``test_client_on_fake.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TEST_API_KEY, heard_by_fake
from tests.voxbatch.client.conftest import options_for
from voxbatch.client.client import SpeechClient, SpeechOptions, TranscriptionOptions
from voxbatch.client.errors import AuthenticationError
from voxbatch.ledger.record import CallRecord
from voxbatch.server.faults import FaultSpec
from voxbatch.server.runner import LocalServer

TEXT = "The quick brown fox. It jumps over the lazy dog."
KOKORO = "hexgrad/Kokoro-82M"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def reference_samples(server: LocalServer) -> int:
    """Samples in the fault-free answer for TEXT (every transport must give exactly this)."""

    async def go() -> int:
        async with SpeechClient(options_for(server, TEST_API_KEY)) as client:
            result = await client.speak(TEXT, SpeechOptions(model=KOKORO, voice="af_heart"))
            return len(result.audio) // 2

    return int(run(go()))


@pytest.mark.parametrize("transport", ["rest", "sse", "websocket"])
def test_every_transport_returns_the_same_pcm(server: LocalServer, reference_samples: int, transport: str) -> None:
    async def go() -> object:
        async with SpeechClient(options_for(server, TEST_API_KEY)) as client:
            return await client.speak(
                TEXT, SpeechOptions(model=KOKORO, voice="af_heart", transport=transport, word_timestamps=True)
            )

    result = run(go())
    assert result.sample_rate_hz == 24000 and result.encoding == "pcm_s16le"
    assert len(result.audio) // 2 == reference_samples
    if transport != "rest":
        assert [w.word for w in result.words] == [
            "The",
            "quick",
            "brown",
            "fox",
            "It",
            "jumps",
            "over",
            "the",
            "lazy",
            "dog",
        ]
    assert result.info.attempts == 1 and result.info.request_id


def test_encoded_formats_and_honoured_rates(server: LocalServer) -> None:
    async def go() -> tuple[object, object, object]:
        async with SpeechClient(options_for(server, TEST_API_KEY)) as client:
            mp3 = await client.speak("Hello.", SpeechOptions(model=KOKORO, voice="af_heart", audio_format="mp3"))
            wav = await client.speak("Hello.", SpeechOptions(model=KOKORO, voice="af_heart", audio_format="wav"))
            f32 = await client.speak(
                "Hello.",
                SpeechOptions(model="cartesia/sonic-2", voice="newsman", encoding="pcm_f32le", sample_rate_hz=16000),
            )
            return mp3, wav, f32

    mp3, wav, f32 = run(go())
    assert mp3.audio_format == "mp3" and mp3.audio[:3] in (b"ID3", b"\xff\xfb") and mp3.duration_s is None
    assert wav.audio[:4] == b"RIFF"
    assert f32.sample_rate_hz == 16000 and f32.encoding == "pcm_f32le" and 0.3 < f32.duration_s < 2.0


@pytest.mark.parametrize("transport", ["sse", "websocket", "rest"])
def test_cut_answers_are_retried_never_returned_short(
    make_server: Callable[..., LocalServer], transport: str, reference_samples: int
) -> None:
    srv = make_server(faults=FaultSpec(seed=2, cut=0.5))
    long_text = " ".join([TEXT] * 4)

    async def go() -> list[object]:
        async with SpeechClient(options_for(srv, TEST_API_KEY)) as client:
            reference = await client.speak(long_text, SpeechOptions(model=KOKORO, voice="af_heart"))
            srv.set_faults(FaultSpec(seed=2, cut=0.5))
            got = [
                await client.speak(long_text, SpeechOptions(model=KOKORO, voice="af_heart", transport=transport))
                for _ in range(6)
            ]
            return [reference, *got]

    srv.set_faults("")
    reference, *results = run(go())
    assert all(len(r.audio) == len(reference.audio) for r in results)
    assert srv.stats.snapshot()["faults"].get("cut", 0) > 0
    assert any(r.info.attempts > 1 for r in results)


def test_transcription_and_translation(fake_server: LocalServer, jfk_flac: bytes, tmp_path: Path) -> None:
    # The server hears with the stand-in recognizer: these are the wire paths, recognition is the server's tests'.
    path = tmp_path / "jfk.flac"
    path.write_bytes(jfk_flac)

    async def go() -> tuple[object, object, object]:
        async with SpeechClient(options_for(fake_server, TEST_API_KEY)) as client:
            verbose = await client.transcribe(
                path, TranscriptionOptions(timestamp_granularities=("segment", "word"), diarize=True)
            )
            plain = await client.transcribe(jfk_flac, TranscriptionOptions(response_format="json", audio_seconds=11))
            translated = await client.translate(jfk_flac)
            return verbose, plain, translated

    verbose, plain, translated = run(go())
    assert verbose.duration_s == pytest.approx(11.0, abs=0.1) and verbose.language == "english"
    assert verbose.segments and verbose.words and verbose.speaker_segments
    assert verbose.words[0].speaker_id == "SPEAKER_00"
    assert plain.text == verbose.text and plain.duration_s is None and plain.words == ()
    assert translated.task == "translate" and translated.text == " ".join(heard_by_fake(jfk_flac)) == verbose.text


def test_voices(server: LocalServer) -> None:
    async def go() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        async with SpeechClient(options_for(server, TEST_API_KEY)) as client:
            return await client.voices(), await client.voices(KOKORO)

    voices, kokoro_only = run(go())
    assert "tara" in voices["canopylabs/orpheus-3b-0.1-ft"] and "af_heart" in voices[KOKORO]
    assert list(kokoro_only) == [KOKORO]


def test_the_key_never_appears(make_server: Callable[..., LocalServer], caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-live-TOPSECRET-0123456789"
    srv = make_server(api_key=secret, faults=FaultSpec(seed=1, p503=0.5, drop=0.2, retry_after_s=0.01))
    records: list[CallRecord] = []
    caplog.set_level(logging.DEBUG)

    async def go() -> list[str]:
        seen: list[str] = []
        async with SpeechClient(options_for(srv, secret), ledger=records.append) as client:
            seen.append(repr(client) + repr(client.options))
            for _ in range(4):
                await client.speak("Hi.", SpeechOptions(model=KOKORO, voice="af_heart"))
        async with SpeechClient(options_for(srv, secret + "-wrong"), ledger=records.append) as wrong:
            try:
                await wrong.speak("Hi.", SpeechOptions(model=KOKORO, voice="af_heart"))
            except AuthenticationError as exc:
                seen += [str(exc), repr(exc)]
        return seen

    seen = run(go())
    everything = "\n".join([*seen, caplog.text, *map(repr, records)])
    assert "TOPSECRET" not in everything
    assert any(r.status == "failed" and r.http_status == 401 for r in records)


def test_legacy_stream_chunks_are_read(make_server: Callable[..., LocalServer], reference_samples: int) -> None:
    srv = make_server(stream_shape="legacy")

    async def go() -> object:
        async with SpeechClient(options_for(srv, TEST_API_KEY)) as client:
            return await client.speak(TEXT, SpeechOptions(model=KOKORO, voice="af_heart", transport="sse"))

    assert len(run(go()).audio) // 2 == reference_samples
