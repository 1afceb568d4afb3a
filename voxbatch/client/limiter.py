"""The in-process rate limiter: smooth pacing, a cap on calls in flight, fair order, and adaptation to the server.

It owns the decision *when* this process may start its next HTTP attempt to the provider. Three limits, all from
:class:`~voxbatch.client.limits.RateLimits`:

- **Requests per minute, paced smoothly.** Virtual scheduling (GCRA) with no burst tolerance: each start is
  ``60 / rpm`` seconds after the previous one's scheduled start (at most ``PACING_SLACK_S`` earlier after a late
  wake-up), so request k starts no earlier than ``k × 60 / rpm`` after the first.
  A token bucket on our side would allow bursts that a strict server (a bucket of one) answers with 429s and
  retries; pacing costs nothing in throughput and never sends a request early.
- **Units per minute** (characters for speech, audio seconds for transcription), paced the same way: a call starts
  when the previous call's units have been "paid for", and its own units push the next call later. A call larger
  than one minute's budget still starts (no deadlock); it only delays its successors.
- **Calls in flight**: a slot is held for the whole ``async with`` body.

Waiters are served strictly first-in, first-out: one queue whose head waits for room, for any server-requested
pause and for its pacing time, so nobody overtakes and nobody starves.

**Adaptive** (429s, server-requested waits) and **learning** (``learn=True``, no ``requests_per_minute``): how the
limiter answers the server, and its tuning, are in :mod:`voxbatch.client.learning`.

Retries of 429s are meant to queue here (``holds_rate_limited_retries``): the shared pause and FIFO pacing
space callers refused at the same instant one interval apart, where private sleeps would wake them together.

Concurrency model: many tasks in **one** event loop. It is not thread-safe. Its asyncio primitives are created on
first use, so it may be constructed outside a loop, and an idle limiter may be reused by a later loop (two
``asyncio.run`` calls one after the other), but never by two loops at once.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from voxbatch.client import learning as tuning
from voxbatch.client.limits import RateLimits, Unit
from voxbatch.client.rate_headers import MAX_SERVER_WAIT_S, header_number, server_wait_s

SECONDS_PER_MINUTE = 60.0
PACING_SLACK_S = 0.005  # how much of a late wake-up the next start may make up (see _record_start)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]
Gate = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class _Ticket:
    """The last slot a task took from a limiter: which request an answer the task reports belongs to."""

    owner: int  # id() of the limiter
    seq: int  # the how-many-th start of that limiter
    started_at: float
    paced: bool  # a pace was in force when it started (configured or learned)
    window_starts: int = 0  # learning: starts within limit_header_window_s up to this one (0: not counted)


# Set by ``slot`` in the task that holds it (an async context manager runs in its caller's context), read by
# ``observe`` in the same task: the Limiter protocol stays (status, headers) and still knows which request answered.
_TICKET: ContextVar[_Ticket | None] = ContextVar("voxbatch_limiter_ticket", default=None)


class _LoopState:
    """The asyncio primitives of one event loop: the FIFO queue and the 'a slot was freed' signal."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.turn = asyncio.Lock()  # FIFO: only the head of the queue waits for room and time
        self.freed = asyncio.Event()


class AsyncRateLimiter:
    """Paces HTTP attempts smoothly at the configured rates, caps calls in flight, and backs off when told to.

    Example::

        limiter = AsyncRateLimiter(RateLimits(requests_per_minute=600, units_per_minute={"chars": 200_000}))
        async with limiter.slot(len(text), "chars"):
            response = await http.post("/audio/speech", json=body)
        limiter.observe(response.status_code, response.headers)

    Parameters
    ----------
    limits:
        The provider's limits; ``None`` rates are unlimited.
    clock, sleep:
        Injected for tests (a fake clock whose ``sleep`` advances it); ``clock`` must be monotonic seconds.
    gate:
        Awaited by the head of the queue after there is room in flight and any pause is over, before its pacing
        wait. A backend that must hold a permit from elsewhere (a shared lease) waits here, so the permit is taken
        in queue order and the start is still paced after it arrives.
    """

    def __init__(
        self,
        limits: RateLimits,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        gate: Gate | None = None,
    ) -> None:
        _validate(limits)
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._gate = gate
        self._state: _LoopState | None = None
        self._fraction = 1.0  # current share of the configured rates (adaptive)
        self._successes = 0  # consecutive 2xx answers since the last rate change or trouble
        self._paused_until = -math.inf
        self._last_start = -math.inf  # when the last request started (actual time, so jitter never shortens a gap)
        self._units_due: dict[Unit, tuple[float, float]] = {}  # unit -> (last start, units it took)
        self._in_flight = 0
        self._starts = 0  # requests started so far (a ticket's seq)
        self._fresh_from = 0  # a 429 lowers the rate only for a request started at or after this seq
        self._recent_starts: deque[float] = deque(maxlen=tuning.RECENT_STARTS_KEPT)
        # Learning (limits.learn and no configured rpm).
        self._learning = limits.learn and limits.requests_per_minute is None and limits.adaptive
        self._limit_rpm: float | None = None  # the server's x-ratelimit-limit, per minute
        self._pace_rpm: float | None = None  # the pace in force; None: not paced (nothing learned yet)
        self._trouble_rpm: float | None = None  # the pace that drew the last 429
        self._best_rpm = 0.0  # the fastest pace or start rate seen: learning never slows below a share of it
        self._window = float(tuning.LEARN_INITIAL_IN_FLIGHT) if self._learning else math.inf  # calls in flight allowed
        self._window_threshold = math.inf  # slow start below this (until the first 429)
        self._latency_s: float | None = None  # running mean from start to a 2xx answer
        self._headroom = limits.learned_headroom  # under the stated limit; grows with 429s there, decays without
        self._window_starts: deque[float] = deque()  # our starts within the last limit_header_window_s
        self._roomy_streak = 0  # answers in a row whose x-ratelimit-remaining contradicts the assumed window
        self._limit_released = False  # the stated limit was shown not to be per limit_header_window_s

    # --- introspection -------------------------------------------------------------------------------------

    @property
    def current_rpm(self) -> float | None:
        """The requests-per-minute pace in force now (lowered after 429s, or learned); ``None`` if unpaced."""
        if self._learning:
            return self._pace_rpm
        rpm = self.limits.requests_per_minute
        return None if rpm is None else rpm * self._fraction

    @property
    def learned_limit_rpm(self) -> float | None:
        """The server's own limit from ``x-ratelimit-limit``, per minute (learning only); ``None`` until seen."""
        return self._limit_rpm

    @property
    def stated_limit_released(self) -> bool:
        """True once ``x-ratelimit-remaining`` showed the stated limit's window is shorter than assumed: the
        limit no longer caps the pace (learning only; see the module docstring)."""
        return self._limit_released

    @property
    def rate_fraction(self) -> float:
        """The share of every configured rate in force now (1.0 unless 429s lowered it)."""
        return self._fraction

    @property
    def max_in_flight_now(self) -> int | None:
        """The calls allowed in flight now: ``max_in_flight``, or less while learning; ``None`` if unlimited."""
        cap = self._room()
        return None if math.isinf(cap) else int(cap)

    @property
    def paused_until(self) -> float | None:
        """Clock time before which no new slot starts (a server asked us to wait); ``None`` if not paused."""
        return self._paused_until if self._paused_until > self._clock() else None

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def holds_rate_limited_retries(self) -> bool:
        """True when a 429's retry may queue here at once: this limiter pauses for the server and paces."""
        return self.limits.adaptive and (self.limits.requests_per_minute is not None or self._learning)

    # --- the Limiter protocol ------------------------------------------------------------------------------

    def slot(self, units: float = 0.0, unit: Unit = "chars") -> AbstractAsyncContextManager[None]:
        """Wait (in FIFO order) until one request with ``units`` of ``unit`` may start; hold a slot inside."""
        if units < 0 or not math.isfinite(units):
            raise ValueError(f"units must be a finite number >= 0, not {units!r}")
        return self._slot(units, unit)

    @asynccontextmanager
    async def _slot(self, units: float, unit: Unit) -> AsyncIterator[None]:
        state = self._bind()
        async with state.turn:
            await self._wait_for_room(state)
            if self._gate is not None:
                await self._wait_until(lambda: self._paused_until)
                await self._gate()
            while True:
                await self._wait_until(lambda: self._start_time(units, unit))
                if self._in_flight < self._room():
                    break
                await self._wait_for_room(state)  # learning narrowed the window meanwhile
            self._record_start(units, unit, self._start_time(units, unit))
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            state.freed.set()

    def observe(self, status: int | None, headers: Mapping[str, str]) -> None:
        """Learn from one answer: 429s lower the rate, successes restore it, server hints pause new slots."""
        if not self.limits.adaptive:
            return
        now = self._clock()
        ticket = _TICKET.get()
        if ticket is not None and ticket.owner != id(self):
            ticket = None
        ok = status is not None and 200 <= status < 300
        lower = {k.lower(): v for k, v in headers.items()}
        if self._learning:
            self._learn_limit(lower)
            self._weigh_stated_limit(status, lower, ticket)
        spent = header_number(lower.get("x-ratelimit-remaining")) == 0
        if (status in (429, 503) or spent) and (wait_s := server_wait_s(lower, status)):
            self._pause_until(now + min(wait_s, MAX_SERVER_WAIT_S))  # one bad header must not stall the run longer
        if self._learning and ok and ticket is not None:
            sample = max(0.0, now - ticket.started_at)
            prior = self._latency_s
            self._latency_s = sample if prior is None else prior + tuning.LATENCY_SMOOTHING * (sample - prior)
        if status == 429:
            if ticket is None or ticket.seq >= self._fresh_from:
                self._back_off(now, ticket)
            self._successes = 0
        elif ok:
            self._successes += 1
            if self._learning:
                self._widen()
            if self._successes >= self.limits.recovery_successes:
                self._successes = 0
                self._fraction = min(1.0, self._fraction * self.limits.recovery_factor)
                if self._learning:
                    self._speed_up()
        elif (status is None or status >= 500) and not self._learning:
            # Trouble breaks a streak; other 4xx say nothing about load. Learning counts successes since the last
            # 429 only: 5xx and drops are not rate signals (Together answers 503 *under* its dynamic limit), and a
            # server failing a third of its calls must not hold a lowered pace down for ever.
            self._successes = 0

    # --- learning ------------------------------------------------------------------------------------------

    def _stated_rpm(self) -> float | None:
        """The server's stated limit while it is trusted as one; ``None`` when none is stated or it was released."""
        return None if self._limit_released else self._limit_rpm

    def _ceiling_rpm(self) -> float | None:
        stated = self._stated_rpm()
        return None if stated is None else stated * (1 - self._headroom)

    def _learn_limit(self, headers: Mapping[str, str]) -> None:
        limit = header_number(headers.get("x-ratelimit-limit", headers.get("x-ratelimit-limit-requests")))
        if limit is None or limit <= 0:
            return
        self._limit_rpm = limit * SECONDS_PER_MINUTE / self.limits.limit_header_window_s
        ceiling = self._ceiling_rpm()
        if ceiling is not None and (self._pace_rpm is None or self._pace_rpm > ceiling):
            self._pace_rpm = ceiling

    def _weigh_stated_limit(self, status: int | None, headers: Mapping[str, str], ticket: _Ticket | None) -> None:
        """The safety valve: release the stated limit when the server's own ``remaining`` keeps contradicting it.

        An answer contradicts it when it is a 2xx whose ``x-ratelimit-remaining`` is at least
        ``RELEASE_REMAINING_SHARE`` of ``x-ratelimit-limit`` although its request was started after at least
        ``RELEASE_USED_SHARE`` of that limit within the assumed window: a per-window counter (fixed or sliding)
        would have shown less left. A fixed window shows that much left for at most half its answers in a row, so
        the streak must also be longer than the limit's count; a token bucket shallower than half the limit (the
        local server's) never shows it at all. Answers without ``remaining`` or ``limit`` break the streak.
        """
        if self._limit_released or self._limit_rpm is None:
            return
        if status is not None and 400 <= status < 500 and status != 429:
            return  # other 4xx say nothing about the limit
        limit = header_number(headers.get("x-ratelimit-limit"))
        remaining = header_number(headers.get("x-ratelimit-remaining"))
        ok = status is not None and 200 <= status < 300
        if not (
            ok
            and ticket is not None
            and limit is not None
            and limit > 0
            and remaining is not None
            and remaining >= tuning.RELEASE_REMAINING_SHARE * limit
            and ticket.window_starts >= tuning.RELEASE_USED_SHARE * limit
        ):
            self._roomy_streak = 0
            return
        self._roomy_streak += 1
        if self._roomy_streak < max(tuning.RELEASE_STREAK_ANSWERS, limit + 1):
            return
        # The window is shorter than assumed: fall back to probing as with no stated limit, from the pace that
        # the server just kept answering with room to spare (it is where trouble did not begin).
        self._limit_released = True
        self._window_starts.clear()
        if self._pace_rpm is not None:
            self._trouble_rpm = self._pace_rpm / (1 - self.limits.learned_headroom)

    def _observed_rpm(self, now: float) -> float | None:
        recent = [t for t in self._recent_starts if t > now - tuning.OBSERVED_RATE_WINDOW_S]
        if len(recent) < 2:
            return None
        return len(recent) * SECONDS_PER_MINUTE / max(now - recent[0], tuning.OBSERVED_RATE_MIN_SPAN_S)

    def _back_off(self, now: float, ticket: _Ticket | None) -> None:
        self._fresh_from = self._starts  # answers to requests already sent are the same signal
        if self._learning and ticket is not None and not ticket.paced and self._stated_rpm() is not None:
            return  # sent before we knew any limit, refused with the limit we now pace under: nothing more to learn
        factor = self.limits.backoff_factor
        self._fraction = max(self.limits.min_rate_fraction, self._fraction * factor)
        if not self._learning:
            return
        pace = self._pace_rpm if self._pace_rpm is not None else self._observed_rpm(now)
        if pace is not None:
            self._best_rpm = max(self._best_rpm, pace)
        stated = self._stated_rpm()
        if pace is not None and stated is not None and pace <= stated:
            # Refused while pacing under the server's own stated limit: arrivals bunched (or someone shares the
            # budget). Step down a little; recovery aims back at the limit, which the server keeps telling us.
            self._headroom = min(tuning.MAX_HEADROOM, self._headroom + tuning.HEADROOM_STEP)
            floor = self.limits.min_rate_fraction * stated
            self._pace_rpm = max(floor, pace * max(factor, tuning.UNDER_LIMIT_BACKOFF))
        elif pace is not None:
            self._trouble_rpm = pace  # no limit stated: remember where trouble began, climb back to just under it
            # Halve, but never below min_rate_fraction of the best rate seen: a storm of 429s must not slow the run
            # towards zero (each halving is one fresh 429, and recovery takes a whole round of successes).
            self._pace_rpm = max(self.limits.min_rate_fraction * self._best_rpm, pace * factor)
        # Fewer calls in flight, but never fewer than the (lowered) pace needs at the calls' usual duration: when
        # paced, the pace is what keeps requests apart, and a window below it would only slow long calls.
        needed = 1.0
        if self._pace_rpm is not None and self._latency_s is not None:
            needed = math.ceil(self._pace_rpm / SECONDS_PER_MINUTE * self._latency_s * tuning.WINDOW_LATENCY_MARGIN)
        self._window = max(1.0, float(needed), min(self._window, self._in_flight) * factor)
        if self.limits.max_in_flight is not None:
            self._window = min(self._window, float(self.limits.max_in_flight))
        self._window_threshold = self._window

    def _speed_up(self) -> None:
        if self._pace_rpm is None:
            return  # not paced: only the window limits us
        self._headroom = max(self.limits.learned_headroom, self._headroom - tuning.HEADROOM_DECAY)
        target = self._pace_rpm * self.limits.recovery_factor
        if self._trouble_rpm is not None and self._stated_rpm() is None:
            near = self._trouble_rpm * (1 - self.limits.learned_headroom)
            if self._pace_rpm >= near * (1 - 1e-9):
                self._trouble_rpm *= 1 + tuning.PROBE_STEP  # a round without trouble just under it: probe past it
                near = self._trouble_rpm * (1 - self.limits.learned_headroom)
            target = min(target, near)
        ceiling = self._ceiling_rpm()
        self._pace_rpm = target if ceiling is None else min(target, ceiling)
        self._best_rpm = max(self._best_rpm, self._pace_rpm)

    def _widen(self) -> None:
        before = math.floor(self._window)
        step = 1.0 if self._window < self._window_threshold else 1.0 / self._window
        cap = self.limits.max_in_flight
        self._window = self._window + step if cap is None else min(float(cap), self._window + step)
        if math.floor(self._window) > before and self._state is not None:
            self._state.freed.set()

    # --- internals -----------------------------------------------------------------------------------------

    def _bind(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        if self._state is None or self._state.loop is not loop:
            if self._in_flight or (self._state is not None and self._state.turn.locked()):
                raise RuntimeError("AsyncRateLimiter is in use by another event loop")
            self._state = _LoopState(loop)
        return self._state

    def _room(self) -> float:
        cap = self.limits.max_in_flight
        window = self._window if math.isinf(self._window) else math.floor(self._window)
        return min(math.inf if cap is None else float(cap), window)

    async def _wait_for_room(self, state: _LoopState) -> None:
        while self._in_flight >= self._room():
            state.freed.clear()
            await state.freed.wait()

    async def _wait_until(self, when: Callable[[], float]) -> None:
        # Re-read the target after each sleep: a pause or a lower rate may have arrived meanwhile.
        while (delay := when() - self._clock()) > 0:
            await self._sleep(delay)

    def _start_time(self, units: float, unit: Unit) -> float:
        start = self._paused_until
        rpm = self.current_rpm
        if rpm is not None:
            start = max(start, self._last_start + SECONDS_PER_MINUTE / rpm)
        per_minute = self.limits.units_per_minute.get(unit)
        if units > 0 and per_minute is not None and unit in self._units_due:
            last_start, last_units = self._units_due[unit]
            start = max(start, last_start + last_units * SECONDS_PER_MINUTE / (per_minute * self._fraction))
        return start

    def _record_start(self, units: float, unit: Unit, scheduled: float) -> None:
        # A start that waited for its turn and woke up at most PACING_SLACK_S late counts from its scheduled time,
        # so the event loop's lateness does not add up over thousands of calls (it cost 4 % of the rate); the next
        # gap is then at most that much short. Any other start (after an idle spell) counts from now: no bursts.
        now = self._clock()
        start = scheduled if now - self._slack_s() <= scheduled <= now else now
        self._last_start = start
        if units > 0 and unit in self.limits.units_per_minute:
            self._units_due[unit] = (start, units)
        window_starts = 0
        if self._learning and not self._limit_released:
            self._window_starts.append(now)
            while self._window_starts[0] <= now - self.limits.limit_header_window_s:
                self._window_starts.popleft()
            window_starts = len(self._window_starts)
        _TICKET.set(_Ticket(id(self), self._starts, now, self.current_rpm is not None, window_starts))
        self._starts += 1
        self._recent_starts.append(now)

    def _slack_s(self) -> float:
        """How much of a late wake-up the next start may make up: configured pacing, ``PACING_SLACK_S``; learned
        pacing, only its headroom under the server's limit, so two starts are never closer than the limit allows."""
        if not self._learning:
            return PACING_SLACK_S
        stated = self._stated_rpm()
        if self._pace_rpm is None or stated is None:
            return 0.0
        return min(PACING_SLACK_S, max(0.0, SECONDS_PER_MINUTE / self._pace_rpm - SECONDS_PER_MINUTE / stated))

    def _pause_until(self, when: float) -> None:
        self._paused_until = max(self._paused_until, when)


def _validate(limits: RateLimits) -> None:
    rates = [limits.requests_per_minute, *limits.units_per_minute.values()]
    if any(rate is not None and not rate > 0 for rate in rates):
        raise ValueError(f"rates must be > 0 (or None for unlimited): {limits}")
    if limits.max_in_flight is not None and limits.max_in_flight < 1:
        raise ValueError(f"max_in_flight must be >= 1 (or None): {limits.max_in_flight}")
    if not (0 < limits.min_rate_fraction <= 1 and 0 < limits.backoff_factor <= 1 and limits.recovery_factor >= 1):
        raise ValueError(f"need 0 < min_rate_fraction <= 1, 0 < backoff_factor <= 1, recovery_factor >= 1: {limits}")
    if limits.recovery_successes < 1:
        raise ValueError(f"recovery_successes must be >= 1: {limits.recovery_successes}")
    if not (limits.limit_header_window_s > 0 and 0 <= limits.learned_headroom < 1):
        raise ValueError(f"need limit_header_window_s > 0 and 0 <= learned_headroom < 1: {limits}")
