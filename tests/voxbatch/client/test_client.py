"""The client against the local server over real sockets, with faults switched on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TEST_API_KEY
from tests.voxbatch.client.conftest import options_for
from voxbatch.client.client import CallContext, SpeechClient, SpeechOptions, TranscriptionOptions
from voxbatch.client.errors import AuthenticationError, BadRequestError
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import RateLimits
from voxbatch.ledger.record import CallRecord
from voxbatch.server.faults import FaultSpec
from voxbatch.server.runner import LocalServer

TEXT = "The quick brown fox. It jumps over the lazy dog."
KOKORO = "hexgrad/Kokoro-82M"
SPEECH = "/v1/audio/speech"


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def _speak_all(client: SpeechClient, opts: list[SpeechOptions], concurrency: int = 4) -> list[object]:
    gate = asyncio.Semaphore(concurrency)

    async def one(o: SpeechOptions) -> object:
        async with gate:
            return await client.speak(TEXT, o)

    return await asyncio.gather(*(one(o) for o in opts))


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


def test_5xx_and_429_faults_all_end_in_success_within_the_budget(make_server: Callable[..., LocalServer]) -> None:
    srv = make_server(faults=FaultSpec(seed=11, p500=0.15, p503=0.15, p429=0.15, retry_after_s=0.05))
    opts = [SpeechOptions(model=KOKORO, voice="af_heart", transport=t) for t in ("rest", "sse", "websocket") * 10]

    async def go() -> list[object]:
        async with SpeechClient(options_for(srv, TEST_API_KEY)) as client:
            return await _speak_all(client, opts)

    results = run(go())
    assert len(results) == 30
    assert all(r.info.attempts <= 10 for r in results)
    assert sum(r.info.attempts for r in results) > 30  # faults really happened and were retried
    faults = srv.stats.snapshot()["faults"]
    assert faults.get("500", 0) and faults.get("503", 0) and faults.get("429", 0)


def test_429_bursts_from_a_server_stricter_than_configured_end_in_success(
    make_server: Callable[..., LocalServer],
) -> None:
    # The client believes in 1200 requests/minute; the server allows 300 (no burst): 429s with retry-after
    # follow, the adaptive limiter slows down, and every call still succeeds within the attempt budget.
    srv = make_server(requests_per_minute=300, burst_requests=1)
    limiter = AsyncRateLimiter(RateLimits(requests_per_minute=1200))

    async def go() -> list[object]:
        async with SpeechClient(options_for(srv, TEST_API_KEY), limiter=limiter) as client:
            return await _speak_all(client, [SpeechOptions(model=KOKORO, voice="af_heart")] * 16, concurrency=16)

    results = run(go())
    assert len(results) == 16 and all(r.info.attempts <= 10 for r in results)
    assert srv.stats.count(SPEECH, 200) == 16
    # Whether 429s happen depends on timing: the server's x-ratelimit-remaining: 0 on a 200 may pause the
    # limiter before anything trips. When they do happen, the limiter must have slowed down.
    if srv.stats.count(SPEECH, 429):
        assert limiter.current_rpm is not None and limiter.current_rpm < 1200


def test_no_request_arrives_before_retry_after_expires(make_server: Callable[..., LocalServer]) -> None:
    retry_after_s = 0.3
    srv = make_server(faults=FaultSpec(seed=1, p429=0.5, retry_after_s=retry_after_s))

    async def go() -> None:
        async with SpeechClient(options_for(srv, TEST_API_KEY)) as client:
            for _ in range(6):
                await client.speak("Wait for it.", SpeechOptions(model=KOKORO, voice="af_heart"))

    run(go())
    log = sorted(srv.stats.requests(SPEECH), key=lambda r: r.at)
    limited = [i for i, r in enumerate(log) if r.status == 429]
    assert limited, "the seed must produce some 429s"
    for i in limited:
        if i + 1 < len(log):
            assert log[i + 1].at - log[i].at >= retry_after_s


def test_a_400_is_sent_exactly_once(make_server: Callable[..., LocalServer]) -> None:
    srv = make_server()

    async def go() -> None:
        async with SpeechClient(options_for(srv, TEST_API_KEY)) as client:
            await client.speak("Hi.", SpeechOptions(model=KOKORO, voice="nobody"))

    with pytest.raises(BadRequestError) as info:
        run(go())
    assert info.value.param == "voice" and info.value.request_id
    assert srv.stats.count(SPEECH) == 1


def test_rate_never_exceeds_a_strict_servers_limit(make_server: Callable[..., LocalServer]) -> None:
    # The server allows one request every 0.2 s and no burst at all; the client is set 10 % under that,
    # the headroom a real deployment keeps for network jitter between the client's pacing and the server.
    srv = make_server(requests_per_minute=300, burst_requests=1)
    limiter = AsyncRateLimiter(RateLimits(requests_per_minute=270))

    async def go() -> list[object]:
        async with SpeechClient(options_for(srv, TEST_API_KEY), limiter=limiter) as client:
            return await _speak_all(client, [SpeechOptions(model=KOKORO, voice="af_heart")] * 15, concurrency=15)

    results = run(go())
    assert len(results) == 15
    assert srv.stats.count(SPEECH, 429) == 0
    assert all(r.info.attempts == 1 for r in results)


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


def test_transcription_and_translation(server: LocalServer, jfk_flac: bytes, tmp_path: Path) -> None:
    path = tmp_path / "jfk.flac"
    path.write_bytes(jfk_flac)

    async def go() -> tuple[object, object, object]:
        async with SpeechClient(options_for(server, TEST_API_KEY)) as client:
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
    assert translated.task == "translate" and "country" in translated.text


def test_voices(server: LocalServer) -> None:
    async def go() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        async with SpeechClient(options_for(server, TEST_API_KEY)) as client:
            return await client.voices(), await client.voices(KOKORO)

    voices, kokoro_only = run(go())
    assert "tara" in voices["canopylabs/orpheus-3b-0.1-ft"] and "af_heart" in voices[KOKORO]
    assert list(kokoro_only) == [KOKORO]


def test_every_call_yields_one_ledger_record(make_server: Callable[..., LocalServer], jfk_flac: bytes) -> None:
    srv = make_server(faults=FaultSpec(seed=4, p503=0.3, retry_after_s=0.05))
    records: list[CallRecord] = []

    async def go() -> None:
        async with SpeechClient(
            options_for(srv, TEST_API_KEY), ledger=records.append, run_id="r1", flow="test"
        ) as client:
            await client.speak("One.", SpeechOptions(model=KOKORO, voice="af_heart"), context=CallContext("a", 0))
            await client.speak(
                "Two.", SpeechOptions(model="rime-labs/rime-mist-v2", voice="cove"), context=CallContext("a", 1)
            )
            with pytest.raises(BadRequestError):
                await client.speak("Three.", SpeechOptions(model=KOKORO, voice="nobody"), context=CallContext("b", 0))
            await client.transcribe(jfk_flac, TranscriptionOptions(response_format="json"), context=CallContext("c"))

    run(go())
    assert [(r.item_id, r.chunk_index, r.status) for r in records] == [
        ("a", 0, "ok"),
        ("a", 1, "ok"),
        ("b", 0, "failed"),
        ("c", None, "ok"),
    ]
    kokoro, rime, failed, stt = records
    assert kokoro.cost_usd == pytest.approx(4 * 4 / 1e6) and kokoro.provider == "local"
    assert rime.cost_usd is None  # dedicated-only model: price unknown, not zero
    assert failed.http_status == 400 and failed.attempts == 1 and "nobody" in (failed.error or "")
    assert stt.audio_seconds == pytest.approx(11.0, abs=0.1) and stt.endpoint == "transcriptions"
    assert stt.cost_usd == pytest.approx(11.0 / 60 * 0.0015, rel=0.02)
    assert all(r.run_id == "r1" and r.flow == "test" and r.started_at.tzinfo for r in records)
    assert sum(r.attempts for r in records) == srv.stats.count()


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


def test_cached_calls_get_a_record_without_a_request(make_server: Callable[..., LocalServer]) -> None:
    srv = make_server()
    records: list[CallRecord] = []

    async def go() -> None:
        async with SpeechClient(options_for(srv, TEST_API_KEY), ledger=records.append) as client:
            client.record_cached(
                endpoint="speech",
                model=KOKORO,
                voice="af_heart",
                context=CallContext("x", 3),
                input_chars=12,
                audio_seconds=1.5,
            )

    run(go())
    (rec,) = records
    assert rec.status == "cached" and rec.cached and rec.attempts == 0 and rec.cost_usd == 0.0
    assert (rec.item_id, rec.chunk_index, rec.transport) == ("x", 3, "cache")
    assert srv.stats.count() == 0
