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

**Adaptive** (``RateLimits.adaptive``): the configured rates are a ceiling, not a promise. A 429 multiplies the
current rate by ``backoff_factor`` (never below ``min_rate_fraction`` of the configured rate);
``recovery_successes`` consecutive 2xx answers raise it by ``recovery_factor`` (never above the configured rate).
``retry-after`` / ``retry-after-ms`` on a 429 or 503, and ``x-ratelimit-remaining: 0`` with
``x-ratelimit-reset: <seconds>`` on any answer, pause every new slot until that time. With ``adaptive=False``
answers are ignored and only the configured pacing applies.

Concurrency model: many tasks in **one** event loop. It is not thread-safe. Its asyncio primitives are created on
first use, so it may be constructed outside a loop, and an idle limiter may be reused by a later loop (two
``asyncio.run`` calls one after the other), but never by two loops at once.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from email.utils import parsedate_to_datetime

from voxbatch.client.limits import RateLimits, Unit

SECONDS_PER_MINUTE = 60.0
PACING_SLACK_S = 0.005  # how much of a late wake-up the next start may make up (see _record_start)
MAX_SERVER_PAUSE_S = 60.0  # longer retry-after/reset values are cut to this (the SDKs distrust them too)
UNIX_TIME_THRESHOLD_S = 1e9  # an x-ratelimit-reset above this is a unix timestamp, not a duration

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]
Gate = Callable[[], Awaitable[None]]


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

    # --- introspection -------------------------------------------------------------------------------------

    @property
    def current_rpm(self) -> float | None:
        """The requests-per-minute pace in force now (lowered after 429s); ``None`` if unlimited."""
        rpm = self.limits.requests_per_minute
        return None if rpm is None else rpm * self._fraction

    @property
    def rate_fraction(self) -> float:
        """The share of every configured rate in force now (1.0 unless 429s lowered it)."""
        return self._fraction

    @property
    def paused_until(self) -> float | None:
        """Clock time before which no new slot starts (a server asked us to wait); ``None`` if not paused."""
        return self._paused_until if self._paused_until > self._clock() else None

    @property
    def in_flight(self) -> int:
        return self._in_flight

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
            await self._wait_until(lambda: self._start_time(units, unit))
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
        lower = {k.lower(): v for k, v in headers.items()}
        if status in (429, 503) and (wait_s := _retry_after_s(lower)) is not None:
            self._pause_until(now + wait_s)
        if _number(lower.get("x-ratelimit-remaining")) == 0 and (reset_s := _reset_s(lower)) is not None:
            self._pause_until(now + reset_s)
        if status == 429:
            self._fraction = max(self.limits.min_rate_fraction, self._fraction * self.limits.backoff_factor)
            self._successes = 0
        elif status is not None and 200 <= status < 300:
            self._successes += 1
            if self._successes >= self.limits.recovery_successes:
                self._fraction = min(1.0, self._fraction * self.limits.recovery_factor)
                self._successes = 0
        elif status is None or status >= 500:
            self._successes = 0  # trouble breaks a streak; other 4xx say nothing about load

    # --- internals -----------------------------------------------------------------------------------------

    def _bind(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        if self._state is None or self._state.loop is not loop:
            if self._in_flight or (self._state is not None and self._state.turn.locked()):
                raise RuntimeError("AsyncRateLimiter is in use by another event loop")
            self._state = _LoopState(loop)
        return self._state

    async def _wait_for_room(self, state: _LoopState) -> None:
        cap = self.limits.max_in_flight
        while cap is not None and self._in_flight >= cap:
            state.freed.clear()
            await state.freed.wait()

    async def _wait_until(self, when: Callable[[], float]) -> None:
        # Re-read the target after each sleep: a pause or a lower rate may have arrived meanwhile.
        while (delay := when() - self._clock()) > 0:
            await self._sleep(delay)

    def _start_time(self, units: float, unit: Unit) -> float:
        start = self._paused_until
        rpm = self.limits.requests_per_minute
        if rpm is not None:
            start = max(start, self._last_start + SECONDS_PER_MINUTE / (rpm * self._fraction))
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
        start = scheduled if now - PACING_SLACK_S <= scheduled <= now else now
        self._last_start = start
        if units > 0 and unit in self.limits.units_per_minute:
            self._units_due[unit] = (start, units)

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


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _clamp_pause(seconds: float | None) -> float | None:
    if seconds is None or seconds <= 0:
        return None
    return min(seconds, MAX_SERVER_PAUSE_S)


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms`` first (more precise), then ``retry-after`` in seconds or as an HTTP date."""
    if (ms := _number(headers.get("retry-after-ms"))) is not None:
        return _clamp_pause(ms / 1000)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    if (seconds := _number(raw)) is not None:
        return _clamp_pause(seconds)
    try:
        return _clamp_pause(parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _reset_s(headers: Mapping[str, str]) -> float | None:
    """``x-ratelimit-reset`` as seconds from now (a duration, or a unix timestamp from some providers)."""
    value = _number(headers.get("x-ratelimit-reset"))
    if value is not None and value > UNIX_TIME_THRESHOLD_S:
        value -= time.time()
    return _clamp_pause(value)
