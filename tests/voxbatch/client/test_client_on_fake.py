"""The client's retries, records and pacing over :class:`FakeTransport`, answered as the local server would
(:class:`FakeServer`: its seeded faults, its token bucket, its errors) on virtual time: no socket, no sleep.

The wire itself (REST, SSE, WebSocket, multipart, cut answers, the key) is tested over real sockets in
``test_client.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import TEST_API_KEY
from tests.voxbatch.client.conftest import FAST_RETRY
from tests.voxbatch.client.fake_server import FakeServer, VirtualTime
from voxbatch.client.client import CallContext, SpeechClient, SpeechOptions, TranscriptionOptions
from voxbatch.client.errors import BadRequestError
from voxbatch.client.fake_transport import FakeTransport
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import Limiter, RateLimits
from voxbatch.client.options import ClientOptions
from voxbatch.client.results import SpeechResult
from voxbatch.ledger.record import CallRecord
from voxbatch.server.faults import FaultSpec

TEXT = "The quick brown fox. It jumps over the lazy dog."
KOKORO = "hexgrad/Kokoro-82M"
LOCAL_OPTIONS = ClientOptions(api_key=TEST_API_KEY, base_url="http://127.0.0.1:9", retry=FAST_RETRY)


def on_virtual_time(
    fake_server: Callable[[VirtualTime], FakeServer],
    limiter: Callable[[VirtualTime], Limiter | None] = lambda vt: None,
) -> tuple[SpeechClient, FakeTransport, FakeServer, VirtualTime]:
    """A client whose sleeps, limiter and server all run on one virtual clock."""
    vt = VirtualTime()
    server = fake_server(vt)
    fake = FakeTransport(respond=server, clock=vt.clock)
    client = SpeechClient(LOCAL_OPTIONS, transport=fake, limiter=limiter(vt), sleep=vt.sleep)
    return client, fake, server, vt


async def _speak_all(client: SpeechClient, opts: list[SpeechOptions], concurrency: int = 4) -> list[SpeechResult]:
    gate = asyncio.Semaphore(concurrency)

    async def one(o: SpeechOptions) -> SpeechResult:
        async with gate:
            return await client.speak(TEXT, o)

    return list(await asyncio.gather(*(one(o) for o in opts)))


def run_on(vt: VirtualTime, client: SpeechClient, work: Callable[[], Awaitable[object]]) -> object:
    async def go() -> object:
        async with client:
            return await work()

    return asyncio.run(vt.run(go()))


# --- retries --------------------------------------------------------------------------------------------------


def test_5xx_and_429_faults_all_end_in_success_within_the_budget() -> None:
    spec = FaultSpec(seed=11, p500=0.15, p503=0.15, p429=0.15, retry_after_s=0.05)
    client, fake, server, vt = on_virtual_time(lambda vt: FakeServer(faults=spec, clock=vt.clock))
    opts = [SpeechOptions(model=KOKORO, voice="af_heart", transport=t) for t in ("rest", "sse", "websocket") * 10]

    results: list[SpeechResult] = run_on(vt, client, lambda: _speak_all(client, opts))  # type: ignore[assignment]
    assert len(results) == 30
    assert all(r.info.attempts <= 10 for r in results)
    assert sum(r.info.attempts for r in results) > 30  # faults really happened and were retried
    assert sum(r.info.attempts for r in results) == len(fake.received)
    assert server.faults.get("500", 0) and server.faults.get("503", 0) and server.faults.get("429", 0)
    assert {r.transport for r in fake.received} == {"rest", "sse", "websocket"}


def test_no_request_arrives_before_retry_after_expires() -> None:
    retry_after_s = 0.3
    spec = FaultSpec(seed=1, p429=0.5, retry_after_s=retry_after_s)
    client, fake, _, vt = on_virtual_time(lambda vt: FakeServer(faults=spec, clock=vt.clock))

    async def six() -> None:
        for _ in range(6):
            await client.speak("Wait for it.", SpeechOptions(model=KOKORO, voice="af_heart"))

    run_on(vt, client, six)
    log = sorted(zip(fake.received, fake.replies, strict=True), key=lambda pair: pair[0].at)
    limited = [i for i, (_, reply) in enumerate(log) if reply.status == 429]
    assert limited, "the seed must produce some 429s"
    for i in limited:
        if i + 1 < len(log):
            assert log[i + 1][0].at - log[i][0].at >= retry_after_s


def test_a_400_is_sent_exactly_once() -> None:
    client, fake, _, vt = on_virtual_time(lambda vt: FakeServer(clock=vt.clock))

    async def bad_voice() -> None:
        await client.speak("Hi.", SpeechOptions(model=KOKORO, voice="nobody"))

    with pytest.raises(BadRequestError) as info:
        run_on(vt, client, bad_voice)
    assert info.value.param == "voice" and info.value.request_id
    assert len(fake.received) == 1


# --- records --------------------------------------------------------------------------------------------------


def test_every_call_yields_one_ledger_record(jfk_flac: bytes) -> None:
    server = FakeServer(faults=FaultSpec(seed=4, p503=0.3, retry_after_s=0.05))
    fake = FakeTransport(respond=server)
    records: list[CallRecord] = []

    async def no_sleep(_: float) -> None:
        return None

    async def go() -> None:
        async with SpeechClient(
            LOCAL_OPTIONS, transport=fake, ledger=records.append, run_id="r1", flow="test", sleep=no_sleep
        ) as client:
            await client.speak("One.", SpeechOptions(model=KOKORO, voice="af_heart"), context=CallContext("a", 0))
            await client.speak(
                "Two.", SpeechOptions(model="rime-labs/rime-mist-v2", voice="cove"), context=CallContext("a", 1)
            )
            with pytest.raises(BadRequestError):
                await client.speak("Three.", SpeechOptions(model=KOKORO, voice="nobody"), context=CallContext("b", 0))
            await client.transcribe(jfk_flac, TranscriptionOptions(response_format="json"), context=CallContext("c"))

    asyncio.run(go())
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
    assert sum(r.attempts for r in records) == len(fake.received)
    assert server.faults.get("503", 0)  # the seed really failed some attempts


def test_cached_calls_get_a_record_without_a_request() -> None:
    fake = FakeTransport()
    records: list[CallRecord] = []

    async def go() -> None:
        async with SpeechClient(LOCAL_OPTIONS, transport=fake, ledger=records.append) as client:
            client.record_cached(
                endpoint="speech",
                model=KOKORO,
                voice="af_heart",
                context=CallContext("x", 3),
                input_chars=12,
                audio_seconds=1.5,
            )

    asyncio.run(go())
    (rec,) = records
    assert rec.status == "cached" and rec.cached and rec.attempts == 0 and rec.cost_usd == 0.0
    assert (rec.item_id, rec.chunk_index, rec.transport) == ("x", 3, "cache")
    assert fake.received == [] and fake.closed


# --- pacing against a strict server ------------------------------------------------------------------------------


def test_429_bursts_from_a_server_stricter_than_configured_end_in_success() -> None:
    # The client believes in 1200 requests/minute; the server allows 300 (no burst): 429s with retry-after
    # follow, the adaptive limiter slows down, and every call still succeeds within the attempt budget.
    client, fake, _, vt = on_virtual_time(
        lambda vt: FakeServer(requests_per_minute=300, burst_requests=1, clock=vt.clock),
        lambda vt: AsyncRateLimiter(RateLimits(requests_per_minute=1200), clock=vt.clock, sleep=vt.sleep),
    )
    limiter = client.limiter
    assert isinstance(limiter, AsyncRateLimiter)
    speech = [SpeechOptions(model=KOKORO, voice="af_heart")] * 16

    results: list[SpeechResult] = run_on(vt, client, lambda: _speak_all(client, speech, concurrency=16))  # type: ignore[assignment]
    assert len(results) == 16 and all(r.info.attempts <= 10 for r in results)
    assert fake.outcomes("speech").count(200) == 16
    # Over sockets, whether 429s happen depended on timing (the server's x-ratelimit-remaining: 0 on a 200 may
    # pause the limiter before anything trips); on virtual time they do happen, and the limiter slowed down.
    assert fake.outcomes("speech").count(429)
    assert limiter.current_rpm is not None and limiter.current_rpm < 1200


def test_rate_never_exceeds_a_strict_servers_limit() -> None:
    # The server allows one request every 0.2 s and no burst at all; the client is set 10 % under that,
    # the headroom a real deployment keeps for network jitter between the client's pacing and the server.
    client, fake, _, vt = on_virtual_time(
        lambda vt: FakeServer(requests_per_minute=300, burst_requests=1, clock=vt.clock),
        lambda vt: AsyncRateLimiter(RateLimits(requests_per_minute=270), clock=vt.clock, sleep=vt.sleep),
    )
    speech = [SpeechOptions(model=KOKORO, voice="af_heart")] * 15

    results: list[SpeechResult] = run_on(vt, client, lambda: _speak_all(client, speech, concurrency=15))  # type: ignore[assignment]
    assert len(results) == 15
    assert fake.outcomes("speech").count(429) == 0
    assert all(r.info.attempts == 1 for r in results)
