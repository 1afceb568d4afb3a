"""AsyncRateLimiter on a fake clock (pacing, units, in-flight, FIFO, adaptation), then through the client against a
strict server (the fake transport answering as the local server would, on virtual time)."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping

import httpx
import pytest

from tests.conftest import TEST_API_KEY
from tests.voxbatch.client.fake_server import FakeServer, VirtualTime
from voxbatch.client.client import SpeechClient, SpeechOptions
from voxbatch.client.errors import RateLimitError
from voxbatch.client.fake_transport import FakeTransport
from voxbatch.client.learning import LEARN_INITIAL_IN_FLIGHT
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import Limiter, NoLimit, RateLimits, Unit
from voxbatch.client.options import ClientOptions
from voxbatch.client.rate_headers import MAX_SERVER_WAIT_S
from voxbatch.client.retry import RetryPolicy, RetryStats, call_with_retries
from voxbatch.server.ratelimit import RequestLimiter


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
        (429, {"retry-after": "600"}, MAX_SERVER_WAIT_S),
        (429, {"retry-after": "soon"}, None),
        (500, {"retry-after": "2"}, None),
        (200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0.75"}, 0.75),
        (200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3"}, 3.0),
        (200, {"x-ratelimit-remaining": "3", "x-ratelimit-reset": "0.75"}, None),
        (429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5", "retry-after": "1"}, 5.0),
        (429, {"x-ratelimit-reset": "2"}, 2.0),  # a 429 says the limit is spent: the wait its retry leaves to us
        (503, {"x-ratelimit-reset": "2"}, None),  # a 503 does not
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


# --- through the client: a strict server (bucket of two) never sees a request early ------------------------------

STRICT_RPM = 600
STRICT_CALLS = 60
RECORDING_JITTER_S = 0.002  # kept from the socket version of this test; on virtual time arrivals do not jitter


def test_strict_server_never_answers_429() -> None:
    # A bucket of two, as the socket version had (the server stamped arrivals after the loopback hop); the pacing
    # itself is checked on the arrivals below. (The bucket-of-one case over sockets is measured in `make bench`.)
    vt = VirtualTime()
    server = FakeServer(requests_per_minute=STRICT_RPM, burst_requests=2, clock=vt.clock)
    fake = FakeTransport(respond=server, clock=vt.clock)
    limiter = AsyncRateLimiter(RateLimits(requests_per_minute=STRICT_RPM), clock=vt.clock, sleep=vt.sleep)
    options = ClientOptions(api_key=TEST_API_KEY, base_url="http://127.0.0.1:9", retry=RetryPolicy(max_attempts=1))

    async def scenario() -> list[dict[str, list[str]]]:
        async with SpeechClient(options, transport=fake, limiter=limiter, sleep=vt.sleep) as client:
            return list(await asyncio.gather(*(client.voices() for _ in range(STRICT_CALLS))))

    answers = asyncio.run(vt.run(scenario()))
    assert len(answers) == STRICT_CALLS
    assert fake.outcomes() == [200] * STRICT_CALLS
    assert len(fake.received) == STRICT_CALLS and all(r.kind == "voices" for r in fake.received)
    arrivals = sorted(r.at for r in fake.received)
    per_second = STRICT_RPM / 60
    for i, start in enumerate(arrivals):
        in_window = sum(1 for t in arrivals[i:] if t < start + 1.0 - RECORDING_JITTER_S)
        assert in_window <= per_second + 1, f"{in_window} requests within 1 s from {start}"


# --- learning a limit nobody told us (RateLimits(learn=True), no requests_per_minute) ------------------------

LIMIT_HEADERS = {"x-ratelimit-limit": "600", "x-ratelimit-remaining": "3", "x-ratelimit-reset": "0.4"}


def learner(**kwargs: object) -> tuple[AsyncRateLimiter, FakeTime]:
    return make(RateLimits(learn=True, **kwargs))  # type: ignore[arg-type]


async def hold(limiter: AsyncRateLimiter, n: int) -> tuple[list[asyncio.Task[None]], asyncio.Event]:
    """Start ``n`` slots that stay in flight until the returned event is set (as calls awaiting their answers)."""
    release = asyncio.Event()

    async def one() -> None:
        async with limiter.slot():
            await release.wait()

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    for _ in range(20):
        await asyncio.sleep(0)
    return tasks, release


def test_learning_starts_with_one_call_in_flight_and_no_pace() -> None:
    limiter, _ = learner(max_in_flight=16)
    assert limiter.current_rpm is None and limiter.learned_limit_rpm is None
    assert limiter.max_in_flight_now == LEARN_INITIAL_IN_FLIGHT
    assert limiter.holds_rate_limited_retries
    assert not AsyncRateLimiter(RateLimits()).holds_rate_limited_retries  # nothing paces a retry there
    assert AsyncRateLimiter(RateLimits(requests_per_minute=60)).holds_rate_limited_retries


def test_learning_is_ignored_when_a_rate_is_configured() -> None:
    limiter, _ = make(RateLimits(requests_per_minute=120, learn=True, max_in_flight=4))
    limiter.observe(200, {"x-ratelimit-limit": "6000"})
    assert limiter.current_rpm == 120 and limiter.learned_limit_rpm is None and limiter.max_in_flight_now == 4


def test_the_limit_in_the_headers_becomes_the_pace_less_the_headroom() -> None:
    limiter, fake = learner(max_in_flight=16, learned_headroom=0.05)
    limiter.observe(200, LIMIT_HEADERS)
    assert limiter.learned_limit_rpm == 600
    assert limiter.current_rpm == pytest.approx(570)
    times = asyncio.run(starts(limiter, fake, [(0, "chars")] * 5))
    assert [round(b - a, 9) for a, b in itertools.pairwise(times)] == [round(60 / 570, 9)] * 4
    limiter.observe(200, {"x-ratelimit-limit": "300"})  # the server lowered it: the latest value wins
    assert limiter.current_rpm == pytest.approx(285)


def test_the_header_window_is_configurable() -> None:
    limiter, _ = learner(limit_header_window_s=1.0, learned_headroom=0.0)
    limiter.observe(200, {"x-ratelimit-limit": "10"})  # ten per second
    assert limiter.learned_limit_rpm == 600 and limiter.current_rpm == 600


@pytest.mark.parametrize("value", ["0", "-5", "lots", ""])
def test_a_meaningless_limit_header_is_ignored(value: str) -> None:
    limiter, _ = learner()
    limiter.observe(200, {"x-ratelimit-limit": value})
    assert limiter.learned_limit_rpm is None and limiter.current_rpm is None


def test_learning_keeps_the_remaining_zero_pause() -> None:
    limiter, _ = learner(learned_headroom=0.05)
    limiter.observe(200, {**LIMIT_HEADERS, "x-ratelimit-remaining": "0", "x-ratelimit-reset": "0.100"})
    assert limiter.paused_until == pytest.approx(0.1)  # counted from the answer: a margin for jittery arrivals


def test_a_429_under_the_stated_limit_steps_down_grows_the_headroom_and_recovery_returns() -> None:
    limiter, _ = learner(learned_headroom=0.05, recovery_successes=5, recovery_factor=1.25)
    limiter.observe(200, LIMIT_HEADERS)
    limiter.observe(429, {**LIMIT_HEADERS, "retry-after-ms": "50"})
    assert limiter.current_rpm == pytest.approx(570 * 0.8)  # a step down, not a halving: the limit is known
    ceilings = []
    for _ in range(6):
        for _ in range(5):
            limiter.observe(200, LIMIT_HEADERS)
        ceilings.append(limiter.current_rpm)
    # Back up at once to the limit less a headroom grown by the 429 (0.05 + 0.02), given back 0.002 per round.
    assert ceilings == pytest.approx([600 * (1 - 0.07 + 0.002 * k) for k in range(1, 7)])


def test_refusals_of_the_first_unpaced_requests_only_teach_the_limit() -> None:
    limiter, _ = learner(max_in_flight=16, learned_headroom=0.05)
    refused = {**LIMIT_HEADERS, "x-ratelimit-remaining": "0", "retry-after-ms": "100"}

    async def scenario() -> None:
        async def first(status: int) -> None:
            async with limiter.slot():  # all sent at once, before any answer
                await asyncio.sleep(0)
                limiter.observe(status, LIMIT_HEADERS if status == 200 else refused)

        await asyncio.gather(first(200), *(first(429) for _ in range(LEARN_INITIAL_IN_FLIGHT - 1)))

    asyncio.run(scenario())
    assert limiter.current_rpm == pytest.approx(570)  # the stated limit less the headroom, not stepped down
    assert limiter.max_in_flight_now == LEARN_INITIAL_IN_FLIGHT + 1  # the one success widened it


def test_with_no_stated_limit_a_429_halves_the_observed_rate_and_probing_climbs_past_it() -> None:
    limiter, fake = learner(max_in_flight=8, recovery_successes=4, recovery_factor=1.25, learned_headroom=0.05)
    for _ in range(7):
        limiter.observe(200, {})  # slow start: one more in flight per answer
    assert limiter.max_in_flight_now == 8 and limiter.current_rpm is None

    async def scenario() -> None:
        for _ in range(4):  # 8 starts per second, unpaced (only the window of 8 limits them)
            await starts(limiter, fake, [(0, "chars")] * 8)
            fake.now += 1.0

    asyncio.run(scenario())
    fake.now -= 1.0
    limiter.observe(429, {})
    observed = 32 * 60 / 3.0  # the rate they were starting at: 32 starts from t=0 to t=3
    assert limiter.current_rpm == pytest.approx(observed / 2)
    paces: list[float] = []
    for _ in range(12):
        for _ in range(4):
            limiter.observe(200, {})
        paces.append(limiter.current_rpm or 0.0)
    assert paces == sorted(paces)
    assert paces[2] == pytest.approx(observed * 0.95)  # quickly back to just under where trouble began
    assert paces[-1] > observed  # then probing past it, 5 % a round, until the next 429 says where it is


def test_a_storm_of_429s_never_slows_learning_below_a_tenth_of_the_best_rate() -> None:
    # The fault storm once hung here: every fresh 429 halved the pace, towards zero, while 5xx answers broke each
    # streak of successes that would have raised it again.
    limiter, fake = learner(max_in_flight=8, recovery_successes=4, recovery_factor=1.25)
    for _ in range(7):
        limiter.observe(200, {})

    async def scenario() -> None:
        for _ in range(4):
            await starts(limiter, fake, [(0, "chars")] * 8)
            fake.now += 1.0
        fake.now -= 1.0
        for _ in range(40):  # a storm: every request sent after the last decrease is refused again
            async with limiter.slot():
                limiter.observe(429, {})

    asyncio.run(scenario())
    observed = 32 * 60 / 3.0
    floor = limiter.current_rpm or 0.0
    assert 0.1 * observed <= floor < 0.2 * observed  # backed off all the way to the floor, not below it
    for _ in range(3):  # a third of the answers fail with 5xx: not a rate signal, the streak goes on
        limiter.observe(200, {})
        limiter.observe(503, {})
    limiter.observe(200, {})
    assert (limiter.current_rpm or 0.0) > floor


def test_only_a_request_sent_after_the_last_decrease_lowers_the_rate_again() -> None:
    limiter, _ = make(RateLimits(requests_per_minute=600, max_in_flight=8))

    async def scenario() -> None:
        answered = asyncio.Event()

        async def refused() -> None:
            async with limiter.slot():
                await answered.wait()
                limiter.observe(429, {})

        burst = [asyncio.create_task(refused()) for _ in range(6)]  # sent together, refused together
        for _ in range(50):
            await asyncio.sleep(0)
        answered.set()
        await asyncio.gather(*burst)
        assert limiter.current_rpm == pytest.approx(300)  # one signal, not six
        async with limiter.slot():
            limiter.observe(429, {})  # sent after the decrease: a new signal
        assert limiter.current_rpm == pytest.approx(150)

    asyncio.run(scenario())


def test_calls_in_flight_narrow_on_a_429_and_widen_back() -> None:
    limiter, _ = learner(max_in_flight=8)
    for _ in range(7):
        limiter.observe(200, {})
    assert limiter.max_in_flight_now == 8

    async def scenario() -> list[int]:
        tasks, release = await hold(limiter, 8)
        assert limiter.in_flight == 8
        async with asyncio.timeout(5):
            limiter.observe(429, {})  # the answer to one of the eight (no ticket: counts as new)
        narrowed = limiter.max_in_flight_now
        release.set()
        await asyncio.gather(*tasks)
        windows = []
        for _ in range(40):
            limiter.observe(200, {})
            windows.append(limiter.max_in_flight_now or 0)
        return [narrowed or 0, *windows]

    windows = asyncio.run(scenario())
    assert windows[0] == 4  # halved
    assert windows == sorted(windows) and windows[-1] == 8  # one more per window of answers, back to the cap


def test_a_narrowed_window_holds_new_starts_until_calls_finish() -> None:
    limiter, fake = learner(max_in_flight=4)
    for _ in range(3):
        limiter.observe(200, {})

    async def scenario() -> int:
        tasks, release = await hold(limiter, 4)
        limiter.observe(429, {})
        waiting = asyncio.create_task(starts(limiter, fake, [(0, "chars")]))
        for _ in range(20):
            await asyncio.sleep(0)
        blocked = not waiting.done()
        release.set()
        await asyncio.gather(*tasks, waiting)
        return blocked

    assert asyncio.run(scenario())


# --- a burst of 429s at one instant: retries come back one by one, not together ------------------------------


class StrictServer:
    """A fake server with a bucket of one: one request per ``interval_s``, else 429 with ``retry-after: 1``."""

    def __init__(self, now: Callable[[], float], interval_s: float) -> None:
        self.now = now
        self.interval_s = interval_s
        self.last = -math.inf
        self.arrivals: list[tuple[float, int]] = []

    def answer(self) -> int:
        now = self.now()
        status = 200 if now - self.last >= self.interval_s - 1e-9 else 429
        if status == 200:
            self.last = now
        self.arrivals.append((now, status))
        return status


BURST = 8


def burst_of_429s(limiter: Limiter, vt: VirtualTime, limiter_waits: bool) -> StrictServer:
    """Eight calls sent at one instant to a strict server (seven refused), each retried until it succeeds."""
    server = StrictServer(vt.clock, interval_s=0.1)
    all_sent = asyncio.Event()
    first_round = 0

    async def attempt() -> str:
        nonlocal first_round
        async with limiter.slot():
            if first_round < BURST:  # the first eight are all in flight before any is answered
                first_round += 1
                if first_round == BURST:
                    all_sent.set()
                await all_sent.wait()
            status = server.answer()
            if status == 429:
                limiter.observe(429, {"retry-after": "1"})
                raise RateLimitError("slow down", status=429, headers={"retry-after": "1"})
        limiter.observe(200, {})
        return "ok"

    def call(seed: int) -> Awaitable[str]:
        policy = RetryPolicy(max_attempts=6)
        rng = random.Random(seed)
        return call_with_retries(
            attempt, policy, RetryStats(), sleep=vt.sleep, clock=vt.clock, rng=rng, limiter_waits=limiter_waits
        )

    async def everyone() -> list[object]:
        return list(await asyncio.gather(*(call(seed) for seed in range(BURST)), return_exceptions=True))

    results = asyncio.run(vt.run(everyone()))
    if limiter_waits:
        assert results == ["ok"] * BURST
    return server


def test_simultaneous_429s_retry_one_interval_apart_through_the_limiter() -> None:
    vt = VirtualTime()
    limiter = AsyncRateLimiter(RateLimits(learn=True, max_in_flight=BURST), clock=vt.clock, sleep=vt.sleep)
    for _ in range(BURST - 1):
        limiter.observe(200, {})  # slow start done: all eight may be in flight
    server = burst_of_429s(limiter, vt, limiter_waits=True)
    assert [s for _, s in server.arrivals[:BURST]].count(429) == BURST - 1
    assert {t for t, _ in server.arrivals[:BURST]} == {0.0}
    retries = [t for t, _ in server.arrivals[BURST:]]
    assert [s for _, s in server.arrivals[BURST:]] == [200] * (BURST - 1)  # one retry each, all admitted
    assert min(retries) >= 1.0  # the server's retry-after, honoured for everyone through the shared pause
    assert min(b - a for a, b in itertools.pairwise(retries)) >= 0.1  # paced apart: no second collision
    assert limiter.max_in_flight_now is not None and limiter.max_in_flight_now < BURST  # and fewer in flight


def test_private_sleeps_bring_them_back_together() -> None:
    # The same burst with no shared limiter: each caller sleeps retry-after plus jitter on its own, so they
    # come back within a quarter of a second, closer than the server allows, and collide again.
    vt = VirtualTime()
    server = burst_of_429s(NoLimit(), vt, limiter_waits=False)
    second_round = sorted(t for t, _ in server.arrivals[BURST : 2 * BURST - 1])
    assert 1.0 <= second_round[0] and second_round[-1] <= 1.25
    assert [s for _, s in server.arrivals].count(429) > BURST - 1


# --- through the client: a strict server, a client told nothing ---------------------------------------------------

LEARN_E2E_RPM = 6000  # 100/s: 60 calls take about a second
LEARN_E2E_CALLS = 60


def test_a_client_told_nothing_learns_a_strict_servers_limit() -> None:
    vt = VirtualTime()
    server = FakeServer(requests_per_minute=LEARN_E2E_RPM, burst_requests=1, clock=vt.clock)
    fake = FakeTransport(respond=server, clock=vt.clock)
    limiter = AsyncRateLimiter(RateLimits(learn=True, max_in_flight=16), clock=vt.clock, sleep=vt.sleep)
    options = ClientOptions(api_key=TEST_API_KEY, base_url="http://127.0.0.1:9")

    async def scenario() -> list[int]:
        async with SpeechClient(options, transport=fake, limiter=limiter, sleep=vt.sleep) as client:
            opts = SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart")
            results = await asyncio.gather(*(client.speak("Hi.", opts) for _ in range(LEARN_E2E_CALLS)))
        return [r.info.attempts for r in results]

    attempts = asyncio.run(vt.run(scenario()))
    stats = Counter(fake.outcomes("speech"))
    assert len(attempts) == LEARN_E2E_CALLS  # every call succeeded
    assert stats.get(200) == LEARN_E2E_CALLS
    requests = sum(stats.values())
    assert stats.get(429, 0) <= requests // 3, stats  # loose: the point is that they do not pile up
    assert limiter.learned_limit_rpm == LEARN_E2E_RPM
    assert not limiter.stated_limit_released  # its remaining (0 with a bucket of one) agrees with the limit


def test_learned_pacing_makes_up_late_wake_ups_only_within_its_headroom() -> None:
    fake = LateTime()  # every wake-up 1 ms late
    limiter = AsyncRateLimiter(RateLimits(learn=True, learned_headroom=0.05), clock=fake.clock, sleep=fake.sleep)
    limiter.observe(200, {"x-ratelimit-limit": "600"})
    times = asyncio.run(starts(limiter, fake, [(0, "chars")] * 101))
    assert times[-1] - times[0] == pytest.approx(100 * 60 / 570, abs=0.002)  # the lateness is made up ...
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.1 - 1e-9  # ... never closer than the limit allows


# --- the safety valve: a stated limit stays the ceiling only while x-ratelimit-remaining agrees ---------------

Answer = Callable[[float], tuple[int, Mapping[str, str]]]


async def answered(limiter: AsyncRateLimiter, fake: FakeTime, n: int, answer: Answer) -> None:
    """``n`` calls one after another, each answered by ``answer(start time)``, as the client reports them."""
    for _ in range(n):
        async with limiter.slot():
            status, headers = answer(fake.now)
        limiter.observe(status, headers)


def paces_after(limiter: AsyncRateLimiter, fake: FakeTime, answer: Answer, counts: list[int]) -> list[float]:
    """The pace after each of ``counts`` answers (cumulative, counted from the first)."""
    paces: list[float] = []

    async def scenario() -> None:
        done = 0
        for count in counts:
            await answered(limiter, fake, count - done, answer)
            done = count
            assert limiter.current_rpm is not None
            paces.append(limiter.current_rpm)

    asyncio.run(scenario())
    return paces


def test_remaining_that_never_drains_releases_a_limit_read_per_minute_and_probing_climbs() -> None:
    # Together states its limit per second: "10" is 10/s, read as 10/min it would pace at 9.8/min for ever.
    limiter, fake = learner()
    per_second = {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "9", "x-ratelimit-reset": "0.1"}
    # The 8th start is the first with 7.5 of the 10 started within the minute before it; 20 such answers later
    # (the 27th answer) the limit is released. Recovery rounds come every 20 answers.
    released: list[bool] = []

    def answer(_: float) -> tuple[int, Mapping[str, str]]:
        released.append(limiter.stated_limit_released)
        return 200, per_second

    paces = paces_after(limiter, fake, answer, [1, 27, 39, 40, 60, 80, 100])
    assert released.index(True) == 27  # not a moment before the 27th answer
    assert paces[:3] == pytest.approx([9.8] * 3)  # the ceiling held until then, and until the next round
    assert paces[3] == pytest.approx(9.8 * 1.05)  # above the stated 10/min: probing past it, 5 % a round
    assert paces[3:] == sorted(paces[3:]) and paces[-1] == pytest.approx(9.8 * 1.05**4)
    assert limiter.stated_limit_released and limiter.learned_limit_rpm == 10  # still reported, no longer a cap
    limiter.observe(429, {**per_second, "x-ratelimit-remaining": "0", "retry-after": "1"})
    assert limiter.current_rpm == pytest.approx(paces[-1] / 2)  # a 429 halves, as with no stated limit
    limiter.observe(200, per_second)  # the header again: it no longer pulls the pace down to 9.8
    assert limiter.current_rpm == pytest.approx(paces[-1] / 2)


@pytest.mark.parametrize("remaining", [None, "4"], ids=["absent", "under-half"])
def test_without_a_roomy_remaining_the_stated_limit_stays_the_ceiling(remaining: str | None) -> None:
    limiter, fake = learner()
    headers = {"x-ratelimit-limit": "10"} | ({} if remaining is None else {"x-ratelimit-remaining": remaining})
    paces = paces_after(limiter, fake, lambda _: (200, headers), [20, 100, 200])
    assert paces == pytest.approx([9.8] * 3) and not limiter.stated_limit_released


@pytest.mark.parametrize("burst", [1, None], ids=["burst-1", "burst-default"])
def test_the_local_servers_token_bucket_never_releases_its_limit(burst: int | None) -> None:
    # The local server's own bucket on the fake clock: remaining is its tokens (0 or 1 with a burst of one,
    # under one second's worth by default), never near half of the 600 it states per minute.
    limiter, fake = learner(max_in_flight=16)
    bucket = RequestLimiter(600, burst, None, clock=fake.clock)

    def answer(_: float) -> tuple[int, Mapping[str, str]]:
        admission = bucket.acquire()
        if admission.admitted:
            bucket.release()
        return (200 if admission.admitted else 429), admission.headers()

    paces = paces_after(limiter, fake, answer, [100, 700, 1400])  # more than two assumed windows at the pace
    assert paces == pytest.approx([588.0] * 3) and not limiter.stated_limit_released


class PerMinuteCounter:
    """A server counting requests per minute, in fixed windows or a sliding one: ``remaining`` drains."""

    def __init__(self, limit: int, sliding: bool) -> None:
        self.limit = limit
        self.sliding = sliding
        self.admitted: list[float] = []
        self.longest_roomy_run = 0  # the most answers in a row with at least half the limit left
        self._run = 0

    def answer(self, now: float) -> tuple[int, Mapping[str, str]]:
        since = now - 60.0 if self.sliding else 60.0 * math.floor(now / 60.0)
        used = sum(1 for t in self.admitted if t > since or (not self.sliding and t >= since))
        if used >= self.limit:
            return 429, {"x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": "0", "retry-after": "1"}
        self.admitted.append(now)
        remaining = self.limit - used - 1
        self._run = self._run + 1 if remaining >= self.limit / 2 else 0
        self.longest_roomy_run = max(self.longest_roomy_run, self._run)
        return 200, {"x-ratelimit-limit": str(self.limit), "x-ratelimit-remaining": str(remaining)}


@pytest.mark.parametrize("sliding", [False, True], ids=["fixed-window", "sliding-window"])
def test_a_per_minute_count_that_drains_keeps_the_ceiling(sliding: bool) -> None:
    limiter, fake = learner(max_in_flight=16)
    server = PerMinuteCounter(600, sliding)
    paces = paces_after(limiter, fake, server.answer, [100, 1000, 2000])  # over three minutes at the pace
    assert paces == pytest.approx([588.0] * 3) and not limiter.stated_limit_released
    if not sliding:  # a fixed window shows half its limit left for ~300 answers in a row: a streak of 20 is
        assert server.longest_roomy_run >= 250  # not enough, the streak must outlast the limit's count


def test_a_client_well_under_the_limit_learns_nothing_from_the_room_it_leaves() -> None:
    # Calls of 0.9 s one at a time: ~66 a minute against 600, so remaining stays high on a per-minute count too.
    limiter, fake = learner()
    server = PerMinuteCounter(600, sliding=True)

    def slow_call(now: float) -> tuple[int, Mapping[str, str]]:
        fake.now += 0.9
        return server.answer(now)

    paces = paces_after(limiter, fake, slow_call, [100, 700])  # more answers than the limit, all with room
    assert server.longest_roomy_run == 700
    assert paces == pytest.approx([588.0] * 2) and not limiter.stated_limit_released
