"""Retry policy as pure functions and over ``httpx.MockTransport``: what is retried, how long it waits."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.voxbatch.client.conftest import mock_wire
from tests.voxbatch.client.fake_server import VirtualTime
from voxbatch.client.client import SpeechClient, SpeechOptions
from voxbatch.client.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    RequestTooLargeError,
    ServerError,
    StreamTruncatedError,
    UnprocessableEntityError,
)
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import NoLimit, RateLimits
from voxbatch.client.options import ClientOptions
from voxbatch.client.rate_headers import MAX_SERVER_WAIT_S
from voxbatch.client.retry import RetryPolicy, RetryStats, call_with_retries

KOKORO = SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart")
PCM = b"\x00\x01" * 240


def _status_error(cls: type, status: int, headers: dict[str, str] | None = None) -> Exception:
    return cls("boom", status=status, headers=headers or {})


@pytest.mark.parametrize(
    ("make", "retried"),
    [
        (lambda: _status_error(BadRequestError, 400), False),
        (lambda: _status_error(AuthenticationError, 401), False),
        (lambda: _status_error(PermissionDeniedError, 403), False),
        (lambda: _status_error(NotFoundError, 404), False),
        (lambda: _status_error(RequestTooLargeError, 413), False),
        (lambda: _status_error(UnprocessableEntityError, 422), False),
        (lambda: _status_error(RequestTimeoutError, 408), True),
        (lambda: _status_error(ConflictError, 409), True),
        (lambda: _status_error(RateLimitError, 429), True),
        (lambda: _status_error(ServerError, 500), True),
        (lambda: _status_error(ServerError, 503), True),
        (lambda: APIConnectionError("reset"), True),
        (lambda: StreamTruncatedError("cut"), True),
    ],
)
def test_what_is_retried(make: Callable[[], Exception], retried: bool) -> None:
    calls = 0
    sleeps: list[float] = []

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise make()
        return "ok"

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    stats = RetryStats()
    if retried:
        assert asyncio.run(call_with_retries(attempt, RetryPolicy(), stats, sleep=fake_sleep)) == "ok"
        assert stats.attempts == 2 and len(sleeps) == 1
    else:
        with pytest.raises(type(make())):
            asyncio.run(call_with_retries(attempt, RetryPolicy(), stats, sleep=fake_sleep))
        assert stats.attempts == 1 and sleeps == []


def test_full_jitter_backoff_is_bounded_and_capped() -> None:
    sleeps: list[float] = []

    async def always_fails() -> None:
        raise ServerError("down", status=500)

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    policy = RetryPolicy(max_attempts=8, backoff_base_s=0.5, backoff_cap_s=4.0, deadline_s=1e6)
    stats = RetryStats()
    with pytest.raises(ServerError):
        asyncio.run(call_with_retries(always_fails, policy, stats, sleep=fake_sleep, rng=random.Random(7)))
    assert stats.attempts == 8 and len(sleeps) == 7
    ceilings = [min(4.0, 0.5 * 2**n) for n in range(7)]
    assert all(0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))
    assert len(set(sleeps)) == 7  # jittered, not fixed
    assert stats.retry_wait_s == pytest.approx(sum(sleeps))


def test_server_requested_wait_is_honoured_exactly() -> None:
    sleeps: list[float] = []
    answers = iter([_status_error(RateLimitError, 429, {"retry-after-ms": "1234"}), None])

    async def attempt() -> str:
        error = next(answers)
        if error:
            raise error
        return "ok"

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    asyncio.run(call_with_retries(attempt, RetryPolicy(), RetryStats(), sleep=fake_sleep))
    assert len(sleeps) == 1 and 1.234 <= sleeps[0] <= 1.234 * 1.25  # never early; jittered late


def test_a_wait_over_the_cap_ends_the_retries() -> None:
    async def attempt() -> None:
        raise _status_error(RateLimitError, 429, {"retry-after": "600"})

    async def fake_sleep(s: float) -> None:
        raise AssertionError("must not sleep")

    stats = RetryStats()
    with pytest.raises(RateLimitError):
        asyncio.run(call_with_retries(attempt, RetryPolicy(retry_after_cap_s=60), stats, sleep=fake_sleep))
    assert stats.attempts == 1


def test_deadline_stops_before_a_wait_that_would_pass_it() -> None:
    clock = [0.0]
    sleeps: list[float] = []

    async def attempt() -> None:
        raise _status_error(ServerError, 503, {"retry-after": "4"})

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)
        clock[0] += s

    stats = RetryStats()
    with pytest.raises(ServerError):
        asyncio.run(
            call_with_retries(
                attempt, RetryPolicy(max_attempts=100, deadline_s=10), stats, sleep=fake_sleep, clock=lambda: clock[0]
            )
        )
    assert len(sleeps) == 2 and all(4.0 <= s <= 5.0 for s in sleeps)  # a third wait would pass 10 s
    assert stats.attempts == 3


def _client(handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float], **retry: float) -> SpeechClient:
    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    policy = RetryPolicy(**retry) if retry else RetryPolicy()  # type: ignore[arg-type]
    options = ClientOptions(api_key="sk-test-SECRET", base_url="http://api.test", retry=policy)
    return SpeechClient(options, transport=mock_wire(options, handler), sleep=fake_sleep)


def test_client_retries_over_mock_transport_and_reports_attempts() -> None:
    statuses = iter([503, 429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        if status == 429:
            return httpx.Response(429, headers={"retry-after": "2"}, json={"error": {"message": "slow down"}})
        if status == 503:
            return httpx.Response(503, json={"error": {"message": "busy", "type": "server_error"}})
        return httpx.Response(200, content=PCM, headers={"x-request-id": "req-42"})

    sleeps: list[float] = []

    async def run() -> None:
        async with _client(handler, sleeps, backoff_base_s=0.25, backoff_cap_s=0.25) as client:
            result = await client.speak("Hi.", KOKORO)
        assert result.audio == PCM
        assert result.info.attempts == 3
        assert result.info.request_id == "req-42"
        assert result.info.retry_wait_s == pytest.approx(sum(sleeps))

    asyncio.run(run())
    assert 0 <= sleeps[0] <= 0.25 and 2.0 <= sleeps[1] <= 2.5


def test_bad_request_is_sent_once_and_keeps_the_servers_message() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "error": {
                "message": "voice 'x' unknown",
                "type": "invalid_request_error",
                "param": "voice",
                "code": "voice_not_available",
            }
        }
        return httpx.Response(400, json=body, headers={"x-request-id": "req-7"})

    async def run() -> BadRequestError:
        async with _client(handler, []) as client:
            with pytest.raises(BadRequestError) as info:
                await client.speak("Hi.", KOKORO)
        return info.value

    error = asyncio.run(run())
    assert len(seen) == 1
    assert error.status == 400 and error.request_id == "req-7" and error.param == "voice"
    assert "voice 'x' unknown" in str(error) and "SECRET" not in str(error) + repr(error)


class RecordingLimiter:
    """A limiter that never waits and remembers what it was told."""

    def __init__(self) -> None:
        self.slots: list[tuple[float, str]] = []
        self.observed: list[tuple[int | None, dict[str, str]]] = []

    def slot(self, units: float = 0.0, unit: str = "chars"):  # type: ignore[no-untyped-def]
        self.slots.append((units, unit))
        return NoLimit().slot()

    def observe(self, status: int | None, headers: object) -> None:
        self.observed.append((status, {k.lower(): v for k, v in dict(headers).items()}))  # type: ignore[call-overload]


def test_every_attempt_takes_a_slot_and_every_answer_is_observed() -> None:
    statuses = iter([503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1.5"} if status == 200 else {}
        return httpx.Response(status, content=PCM if status == 200 else b"{}", headers=headers)

    limiter = RecordingLimiter()

    async def run() -> None:
        options = ClientOptions(api_key="k", base_url="http://api.test", retry=RetryPolicy(backoff_cap_s=0.0))
        async with SpeechClient(options, transport=mock_wire(options, handler), limiter=limiter) as client:
            await client.speak("Four", KOKORO)

    asyncio.run(run())
    assert limiter.slots == [(4.0, "chars"), (4.0, "chars")]  # units: characters, once per attempt
    assert [s for s, _ in limiter.observed] == [503, 200]
    assert limiter.observed[1][1]["x-ratelimit-remaining"] == "0"  # success headers reach the limiter too


# --- a 429 behind a limiter that holds it: the retry queues in the limiter, it does not sleep on its own ------


def _refused_once(status: int, headers: dict[str, str]) -> Callable[[], Awaitable[str]]:
    answers = iter([_status_error(RateLimitError if status == 429 else ServerError, status, headers), None])

    async def attempt() -> str:
        error = next(answers)
        if error:
            raise error
        return "ok"

    return attempt


LONGER_THAN_THE_LIMITER_PAUSES = {"retry-after": str(int(MAX_SERVER_WAIT_S) + 30)}
HONOURS_LONGER_WAITS = RetryPolicy(retry_after_cap_s=2 * MAX_SERVER_WAIT_S)


@pytest.mark.parametrize(
    ("status", "headers", "policy", "private_wait"),
    [
        (429, {"retry-after": "2"}, RetryPolicy(), False),  # the limiter pauses everyone for it
        (429, {"x-ratelimit-reset": "2"}, RetryPolicy(), False),  # the same wait, told the other way
        (429, {}, RetryPolicy(), False),  # the limiter's lowered pace spaces the retries
        (429, LONGER_THAN_THE_LIMITER_PAUSES, HONOURS_LONGER_WAITS, True),  # the rest is slept here
        (503, {"retry-after": "2"}, RetryPolicy(), True),  # not a rate limit: waited here as before
        (500, {}, RetryPolicy(), True),
    ],
)
def test_what_a_limiter_that_holds_429s_leaves_to_the_retry(
    status: int, headers: dict[str, str], policy: RetryPolicy, private_wait: bool
) -> None:
    sleeps: list[float] = []

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    stats = RetryStats()
    result = asyncio.run(
        call_with_retries(
            _refused_once(status, headers),
            policy,
            stats,
            sleep=fake_sleep,
            rng=random.Random(3),
            limiter_waits=True,
        )
    )
    assert result == "ok" and stats.attempts == 2
    assert (sum(sleeps) > 0) is private_wait


def test_the_client_lets_its_limiter_hold_a_429s_retry() -> None:
    answers = iter([429, 200])
    vt = VirtualTime()  # the limiter's clock: the held retry is measured on it, never on the wall
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(vt.now)
        if next(answers) == 429:
            return httpx.Response(429, headers={"retry-after-ms": "300"}, json={"error": {"message": "slow down"}})
        return httpx.Response(200, content=PCM)

    sleeps: list[float] = []

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    limiter = AsyncRateLimiter(RateLimits(requests_per_minute=6000), clock=vt.clock, sleep=vt.sleep)

    async def run() -> int:
        options = ClientOptions(api_key="k", base_url="http://api.test")
        transport = mock_wire(options, handler)
        async with SpeechClient(options, transport=transport, limiter=limiter, sleep=fake_sleep) as client:
            return (await client.speak("Hi.", KOKORO)).info.attempts

    assert asyncio.run(vt.run(run())) == 2
    assert sum(sleeps) == 0  # no private sleep ...
    assert seen[1] - seen[0] >= 0.3  # ... the limiter's shared pause held the retry


class _AlwaysLate(random.Random):
    """Jitter at its largest: a server-requested wait comes out 24.75 % longer."""

    def random(self) -> float:
        return 0.99


@pytest.mark.parametrize(
    ("asked_s", "retried"),
    [
        (MAX_SERVER_WAIT_S, True),  # at the cap: honoured, even when the jitter takes the wait past it
        (MAX_SERVER_WAIT_S + 0.5, False),  # over it: the retries end, nothing is slept
    ],
)
def test_the_default_cap_is_the_one_server_wait_cap(asked_s: float, retried: bool) -> None:
    answers = iter([_status_error(RateLimitError, 429, {"retry-after": str(asked_s)}), None])
    sleeps: list[float] = []

    async def attempt() -> str:
        error = next(answers)
        if error:
            raise error
        return "ok"

    async def fake_sleep(s: float) -> None:
        sleeps.append(s)

    policy = RetryPolicy(deadline_s=10 * MAX_SERVER_WAIT_S)
    always_late = _AlwaysLate()
    stats = RetryStats()
    if retried:
        assert asyncio.run(call_with_retries(attempt, policy, stats, sleep=fake_sleep, rng=always_late)) == "ok"
        assert sleeps == [pytest.approx(asked_s * (1 + 0.25 * 0.99))]
    else:
        with pytest.raises(RateLimitError):
            asyncio.run(call_with_retries(attempt, policy, stats, sleep=fake_sleep, rng=always_late))
        assert sleeps == [] and stats.attempts == 1
