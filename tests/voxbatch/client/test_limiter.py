"""AsyncRateLimiter on a fake clock (pacing, units, in-flight, FIFO, adaptation), then against a strict real server."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping

import httpx
import pytest

from voxbatch.client.limiter import MAX_SERVER_PAUSE_S, AsyncRateLimiter
from voxbatch.client.limits import Limiter, RateLimits, Unit
from voxbatch.server.options import ServerOptions
from voxbatch.server.runner import LocalServer


class FakeTime:
    """A clock whose sleep advances it at once; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def make(limits: RateLimits) -> tuple[AsyncRateLimiter, FakeTime]:
    fake = FakeTime()
    return AsyncRateLimiter(limits, clock=fake.clock, sleep=fake.sleep), fake


async def starts(limiter: AsyncRateLimiter, fake: FakeTime, calls: list[tuple[float, Unit]]) -> list[float]:
    """Start every call concurrently (queued in list order); return the clock time each one started."""
    started: dict[int, float] = {}

    async def one(i: int, units: float, unit: Unit) -> None:
        async with limiter.slot(units, unit):
            started[i] = fake.now

    await asyncio.gather(*(one(i, units, unit) for i, (units, unit) in enumerate(calls)))
    return [started[i] for i in range(len(calls))]


def test_it_is_a_limiter() -> None:
    limiter: Limiter = AsyncRateLimiter(RateLimits())
    assert limiter is not None


class LateTime(FakeTime):
    """A clock whose sleeps wake up 1 ms late, like a busy event loop."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + 0.001)


def test_late_wake_ups_do_not_add_up() -> None:
    fake = LateTime()
    limiter = AsyncRateLimiter(RateLimits(requests_per_minute=600), clock=fake.clock, sleep=fake.sleep)
    times = asyncio.run(starts(limiter, fake, [(0, "chars")] * 101))
    assert times[-1] - times[0] == pytest.approx(10.0, abs=0.002)  # not 10.1: the lateness is made up
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.1 - 0.005  # a gap is never more than PACING_SLACK_S short


def test_an_idle_spell_does_not_turn_into_a_burst() -> None:
    limiter, fake = make(RateLimits(requests_per_minute=600))
    asyncio.run(starts(limiter, fake, [(0, "chars")]))
    fake.now += 60.0
    times = asyncio.run(starts(limiter, fake, [(0, "chars")] * 5))
    assert [round(b - a, 9) for a, b in itertools.pairwise(times)] == [0.1] * 4


def test_request_k_starts_at_k_times_the_interval() -> None:
    limiter, fake = make(RateLimits(requests_per_minute=600))
    fake.now = 100.0
    times = asyncio.run(starts(limiter, fake, [(0, "chars")] * 20))
    assert times == pytest.approx([100.0 + k * 0.1 for k in range(20)], abs=1e-9)
    assert limiter.current_rpm == 600


def test_a_late_caller_starts_at_once_without_a_burst_credit() -> None:
    limiter, fake = make(RateLimits(requests_per_minute=60))

    async def scenario() -> list[float]:
        first = await starts(limiter, fake, [(0, "chars")])
        fake.now += 10.0  # idle for ten intervals: no saved-up burst
        return first + await starts(limiter, fake, [(0, "chars")] * 3)

    assert asyncio.run(scenario()) == pytest.approx([0.0, 10.0, 11.0, 12.0])


def test_units_push_the_next_call_later() -> None:
    limiter, fake = make(RateLimits(units_per_minute={"chars": 6000}))  # 100 chars/s
    calls: list[tuple[float, Unit]] = [(100, "chars"), (300, "chars"), (50, "chars"), (10, "chars")]
    assert asyncio.run(starts(limiter, fake, calls)) == pytest.approx([0.0, 1.0, 4.0, 4.5])


def test_unit_kinds_are_paced_separately_and_requests_too() -> None:
    limits = RateLimits(requests_per_minute=120, units_per_minute={"chars": 600, "audio_s": 60})
    limiter, fake = make(limits)
    calls: list[tuple[float, Unit]] = [(5, "chars"), (3, "audio_s"), (1, "chars"), (1, "audio_s")]
    # requests every 0.5 s; chars 10/s; audio 1 s/s: 5 chars -> next chars 0.5 s later, 3 audio s -> 3 s later
    assert asyncio.run(starts(limiter, fake, calls)) == pytest.approx([0.0, 0.5, 1.0, 3.5])


def test_a_call_bigger_than_a_minute_of_units_starts_and_delays_the_next() -> None:
    limiter, fake = make(RateLimits(units_per_minute={"audio_s": 60}))
    calls: list[tuple[float, Unit]] = [(600, "audio_s"), (1, "audio_s")]
    times = asyncio.run(asyncio.wait_for(starts(limiter, fake, calls), timeout=5))
    assert times == pytest.approx([0.0, 600.0])


def test_a_call_without_units_does_not_wait_for_unit_debt() -> None:
    limiter, fake = make(RateLimits(units_per_minute={"chars": 60}))
    calls: list[tuple[float, Unit]] = [(120, "chars"), (0, "chars"), (1, "chars")]
    assert asyncio.run(starts(limiter, fake, calls)) == pytest.approx([0.0, 0.0, 120.0])


def test_in_flight_cap_is_held_for_the_body() -> None:
    limiter, _ = make(RateLimits(max_in_flight=2))
    inside: list[int] = []
    peak = 0
    order: list[int] = []

    async def scenario() -> None:
        nonlocal peak
        release = [asyncio.Event() for _ in range(6)]

        async def one(i: int) -> None:
            nonlocal peak
            async with limiter.slot():
                order.append(i)
                inside.append(i)
                peak = max(peak, len(inside))
                await release[i].wait()
                inside.remove(i)

        tasks = [asyncio.create_task(one(i)) for i in range(6)]
        await asyncio.sleep(0.01)
        assert inside == [0, 1]
        assert limiter.in_flight == 2
        for i in (1, 0, 2, 3, 4, 5):
            release[i].set()
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert peak == 2
    assert order == [0, 1, 2, 3, 4, 5]
    assert limiter.in_flight == 0


def test_waiters_are_served_first_in_first_out() -> None:
    limiter, fake = make(RateLimits(requests_per_minute=60, units_per_minute={"chars": 600}))
    sizes = [500, 1, 200, 1, 1, 50]  # small calls queued behind big ones are not moved ahead
    calls: list[tuple[float, Unit]] = [(s, "chars") for s in sizes]
    times = asyncio.run(starts(limiter, fake, calls))
    assert times == sorted(times)
    assert times == pytest.approx([0.0, 50.0, 51.0, 71.0, 72.0, 73.0])


def test_cancelled_waiter_leaves_the_queue() -> None:
    limiter, fake = make(RateLimits(max_in_flight=1))

    async def scenario() -> list[float]:
        release = asyncio.Event()

        async def holder() -> None:
            async with limiter.slot():
                await release.wait()

        held = asyncio.create_task(holder())
        await asyncio.sleep(0.01)
        waiter = asyncio.create_task(starts(limiter, fake, [(0, "chars")]))
        await asyncio.sleep(0.01)  # queued behind the holder
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        release.set()
        await held
        return await starts(limiter, fake, [(0, "chars")] * 2)

    assert asyncio.run(scenario()) == [0.0, 0.0]
    assert limiter.in_flight == 0


def test_429_lowers_the_rate_and_successes_restore_it() -> None:
    limits = RateLimits(requests_per_minute=600, recovery_successes=3, recovery_factor=2.0)
    limiter, fake = make(limits)
    limiter.observe(429, {})
    assert limiter.current_rpm == pytest.approx(300)
    times = asyncio.run(starts(limiter, fake, [(0, "chars")] * 3))
    assert times == pytest.approx([0.0, 0.2, 0.4])  # the lower rate paces the next requests
    for _ in range(5):
        limiter.observe(429, {})
    assert limiter.current_rpm == pytest.approx(60)  # floor: min_rate_fraction 0.1
    for expected in (120, 240, 480, 600, 600):
        for _ in range(3):
            limiter.observe(200, {})
        assert limiter.current_rpm == pytest.approx(expected)


def test_successes_must_be_consecutive() -> None:
    limiter, _ = make(RateLimits(requests_per_minute=600, recovery_successes=2))
    limiter.observe(429, {})
    limiter.observe(200, {})
    limiter.observe(500, {})  # breaks the streak, does not change the rate
    limiter.observe(None, {})
    limiter.observe(200, {})
    assert limiter.current_rpm == pytest.approx(300)
    limiter.observe(404, {})  # a client error says nothing about load
    limiter.observe(200, {})
    assert limiter.current_rpm == pytest.approx(375)


def test_units_rate_adapts_too() -> None:
    limiter, fake = make(RateLimits(units_per_minute={"chars": 600}))
    limiter.observe(429, {})
    calls: list[tuple[float, Unit]] = [(10, "chars"), (10, "chars")]
    assert asyncio.run(starts(limiter, fake, calls)) == pytest.approx([0.0, 2.0])


@pytest.mark.parametrize(
    ("status", "headers", "pause_s"),
    [
        (429, {"retry-after": "2"}, 2.0),
        (429, {"Retry-After": "2"}, 2.0),
        (429, {"RETRY-AFTER-MS": "1500", "retry-after": "3"}, 1.5),
        (503, {"retry-after": "4"}, 4.0),
        (429, {"retry-after": "600"}, MAX_SERVER_PAUSE_S),
        (429, {"retry-after": "soon"}, None),
        (500, {"retry-after": "2"}, None),
        (200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0.75"}, 0.75),
        (200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3"}, 3.0),
        (200, {"x-ratelimit-remaining": "3", "x-ratelimit-reset": "0.75"}, None),
        (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5", "retry-after": "1"}, 5.0),
    ],
)
def test_server_hints_pause_new_slots(status: int, headers: Mapping[str, str], pause_s: float | None) -> None:
    limiter, fake = make(RateLimits())
    fake.now = 50.0
    limiter.observe(status, headers)
    if pause_s is None:
        assert limiter.paused_until is None
        assert asyncio.run(starts(limiter, fake, [(0, "chars")])) == [50.0]
    else:
        assert limiter.paused_until == pytest.approx(50.0 + pause_s)
        assert asyncio.run(starts(limiter, fake, [(0, "chars")] * 2)) == pytest.approx([50.0 + pause_s] * 2)
        assert limiter.paused_until is None


def test_httpx_headers_and_http_dates_are_understood() -> None:
    limiter, _ = make(RateLimits())
    limiter.observe(429, httpx.Headers({"Retry-After-Ms": "250"}))
    assert limiter.paused_until == pytest.approx(0.25)
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    limiter.observe(503, {"Retry-After": date})
    assert limiter.paused_until == pytest.approx(30, abs=1.5)


def test_retry_after_and_the_lower_rate_combine() -> None:
    limiter, fake = make(RateLimits(requests_per_minute=60))

    async def scenario() -> list[float]:
        first = await starts(limiter, fake, [(0, "chars")])
        limiter.observe(429, {"retry-after": "5"})  # also halves the rate: 2 s between starts
        return first + await starts(limiter, fake, [(0, "chars")] * 2)

    assert asyncio.run(scenario()) == pytest.approx([0.0, 5.0, 7.0])


def test_not_adaptive_ignores_answers() -> None:
    limiter, _ = make(RateLimits(requests_per_minute=600, adaptive=False))
    limiter.observe(429, {"retry-after": "5", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "5"})
    assert limiter.current_rpm == 600
    assert limiter.paused_until is None


def test_constructed_outside_a_loop_and_reused_by_a_later_loop() -> None:
    limiter, fake = make(RateLimits(requests_per_minute=60, max_in_flight=1))
    assert asyncio.run(starts(limiter, fake, [(0, "chars")] * 2)) == pytest.approx([0.0, 1.0])
    assert asyncio.run(starts(limiter, fake, [(0, "chars")] * 2)) == pytest.approx([2.0, 3.0])


@pytest.mark.parametrize(
    "limits",
    [
        RateLimits(requests_per_minute=0),
        RateLimits(units_per_minute={"chars": -1}),
        RateLimits(max_in_flight=0),
        RateLimits(backoff_factor=0),
        RateLimits(recovery_successes=0),
    ],
)
def test_bad_limits_are_refused(limits: RateLimits) -> None:
    with pytest.raises(ValueError):
        AsyncRateLimiter(limits)


def test_negative_units_are_refused() -> None:
    with pytest.raises(ValueError):
        AsyncRateLimiter(RateLimits()).slot(-1)


# --- a real socket: a strict server (bucket of one) never sees a request early ------------------------------

STRICT_RPM = 600
STRICT_CALLS = 60
RECORDING_JITTER_S = 0.002  # the server stamps each request when its answer starts, not when it arrives


def test_strict_server_never_answers_429() -> None:
    with LocalServer(ServerOptions(port=0, requests_per_minute=STRICT_RPM, burst_requests=1)) as server:
        limiter = AsyncRateLimiter(RateLimits(requests_per_minute=STRICT_RPM))

        async def scenario() -> list[int]:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:

                async def one() -> int:
                    async with limiter.slot():
                        response = await http.get("/voices")
                    limiter.observe(response.status_code, response.headers)
                    return response.status_code

                return await asyncio.gather(*(one() for _ in range(STRICT_CALLS)))

        statuses = asyncio.run(scenario())
        records = server.stats.requests("/v1/voices")
    assert statuses == [200] * STRICT_CALLS
    assert len(records) == STRICT_CALLS
    assert all(r.status == 200 for r in records)
    arrivals = sorted(r.at for r in records)
    per_second = STRICT_RPM / 60
    for i, start in enumerate(arrivals):
        in_window = sum(1 for t in arrivals[i:] if t < start + 1.0 - RECORDING_JITTER_S)
        assert in_window <= per_second + 1, f"{in_window} requests within 1 s from {start}"
