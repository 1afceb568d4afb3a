"""A :class:`~voxbatch.client.limits.Limiter` whose permits come from a Prefect global concurrency limit (GCL).

Several processes (or machines) that call one provider share one budget: a GCL with
``slot_decay_per_second = rpm / 60`` and ``limit = burst``. Prefect's ``rate_limit`` grants slots from it like a
leaky bucket, so the permits granted to *all* processes together in any window of T seconds are at most
``burst + rpm / 60 × T`` (Prefect rounds decay down and restarts it on refusals, which only slows it).

Why leases: each ``rate_limit`` call is an HTTP round trip to the Prefect server (about 10–20 ms, ~10 calls/s per
process, occasional 2 s stalls), far too slow to ask once per request. So one call buys ``lease_size`` permits
(about one second of the shared rate), which this process then spends locally through an
:class:`~voxbatch.client.limiter.AsyncRateLimiter` paced at the shared rate (smooth starts, in-flight cap, FIFO,
adaptive backoff). The next lease is fetched in the background when half of the stock is left, so the round trip
is hidden; it is not asked for before the shared bucket can have room for it, so it is not refused in vain.

Exactness: a process never spends a permit it did not lease, and a leased permit not spent within
``permit_ttl_s`` (two lease periods by default) is dropped. Requests started by all processes in any window of T
seconds are therefore at most ``burst + rpm / 60 × (T + permit_ttl_s)``; in steady use permits are spent as they
arrive and the fleet stays within ``burst + rpm / 60 × T``. With ``burst == lease_size`` leases cannot overlap at
all (a lease is granted only into an empty bucket), so the fleet is as smooth as one process, at the price of one
round trip of idle time per lease.

One instance serves one event loop, like ``AsyncRateLimiter``; each process makes its own. Prefect code lives here,
never in ``voxbatch/``. The Prefect API URL comes from the environment as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
from prefect.client.schemas.responses import GlobalConcurrencyLimitResponse
from prefect.concurrency.asyncio import rate_limit
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

from voxbatch.client.limiter import SECONDS_PER_MINUTE, AsyncRateLimiter, Clock, Sleep
from voxbatch.client.limits import RateLimits, Unit

LEASE_TARGET_S = 1.0  # one lease buys about this many seconds of the shared rate
PREFETCH_FRACTION = 0.5  # fetch the next lease when this share of a lease is left in stock
PERMIT_TTL_LEASES = 2.0  # an unspent permit is dropped after this many lease periods


def default_lease_size(requests_per_minute: float, burst: int | None = None) -> int:
    """About one second of permits (at least 1), and at most half the burst so the next lease fits beside it."""
    size = max(1, round(requests_per_minute / SECONDS_PER_MINUTE * LEASE_TARGET_S))
    return size if burst is None else max(1, min(size, burst // 2))


def setup_gcl(name: str, requests_per_minute: float, burst: int | None = None) -> GlobalConcurrencyLimitResponse:
    """Create or update (idempotently) the shared limit: decay ``rpm / 60`` per second, limit ``burst``.

    ``burst`` defaults to two leases of the default size: one being spent, one prefetched.
    """
    if not requests_per_minute > 0:
        raise ValueError(f"requests_per_minute must be > 0, not {requests_per_minute}")
    limit = burst if burst is not None else 2 * default_lease_size(requests_per_minute)
    if limit < 1:
        raise ValueError(f"burst must be >= 1, not {burst}")
    decay = requests_per_minute / SECONDS_PER_MINUTE
    with get_client(sync_client=True) as client:
        try:
            current = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=limit, slot_decay_per_second=decay, active=True)
                )
            except ObjectAlreadyExists:  # another process created it meanwhile; make sure it matches
                pass
            else:
                return client.read_global_concurrency_limit_by_name(name)
            current = client.read_global_concurrency_limit_by_name(name)
        if (current.limit, current.slot_decay_per_second, current.active) != (limit, decay, True):
            client.update_global_concurrency_limit(
                name, GlobalConcurrencyLimitUpdate(limit=limit, slot_decay_per_second=decay, active=True)
            )
            current = client.read_global_concurrency_limit_by_name(name)
        return current


class PrefectGCLLimiter:
    """Paces this process's requests with permits leased in batches from a GCL that other processes share.

    Example::

        setup_gcl("together-tts", requests_per_minute=600)  # once, anywhere
        limiter = PrefectGCLLimiter("together-tts", RateLimits(max_in_flight=16))
        async with SpeechClient(options, limiter=limiter) as client: ...

    Parameters
    ----------
    name:
        The GCL, created beforehand with :func:`setup_gcl`; it is read once, on first use. Its decay is the
        shared rate and its limit the shared burst.
    limits:
        This process's own limits on top: ``requests_per_minute`` may only lower the pace (default: the shared
        rate), plus units, ``max_in_flight`` and the adaptive settings, as for ``AsyncRateLimiter``.
    lease_size:
        Permits per ``rate_limit`` round trip; default :func:`default_lease_size` of the shared rate and burst.
    permit_ttl_s:
        How long a leased permit stays spendable; default two lease periods at this process's pace.
    """

    def __init__(
        self,
        name: str,
        limits: RateLimits | None = None,
        *,
        lease_size: int | None = None,
        permit_ttl_s: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.limits = limits or RateLimits()
        self._lease_size_arg = lease_size
        self._ttl_arg = permit_ttl_s
        self._clock = clock
        self._sleep = sleep
        self._local: AsyncRateLimiter | None = None
        self._connecting: asyncio.Future[AsyncRateLimiter] | None = None
        self._stock: deque[list[float]] = deque()  # per lease, oldest first: [expires at, permits left]
        self._refill: asyncio.Task[None] | None = None
        self._last_lease_at = -math.inf
        # Set from the GCL on first use.
        self.shared_rpm = 0.0
        self.burst = 0
        self.lease_size = 0
        self.permit_ttl_s = 0.0
        self._min_lease_gap_s = 0.0
        self._prefetch_below = 0
        # Counters for tests and logs.
        self.leases = 0
        self.permits_spent = 0
        self.permits_expired = 0

    @property
    def current_rpm(self) -> float | None:
        """This process's pace now (the shared rate, lowered after 429s); ``None`` before first use."""
        return None if self._local is None else self._local.current_rpm

    @property
    def paused_until(self) -> float | None:
        return None if self._local is None else self._local.paused_until

    @property
    def holds_rate_limited_retries(self) -> bool:
        """A 429's retry may queue here at once: the local limiter pauses for the server and paces (if adaptive)."""
        return self.limits.adaptive

    @property
    def permits_in_stock(self) -> int:
        return int(sum(left for _, left in self._stock))

    def slot(self, units: float = 0.0, unit: Unit = "chars") -> AbstractAsyncContextManager[None]:
        """Wait for a leased permit and this process's pacing; hold an in-flight slot inside."""
        return self._slot(units, unit)

    def observe(self, status: int | None, headers: Mapping[str, str]) -> None:
        # Every answer follows a slot, and the first slot creates the local limiter.
        if self._local is not None:
            self._local.observe(status, headers)

    async def aclose(self) -> None:
        """Stop a prefetch in progress (its permits, if granted, are simply never spent)."""
        if self._refill is not None and not self._refill.done():
            self._refill.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refill

    # --- internals -----------------------------------------------------------------------------------------

    @asynccontextmanager
    async def _slot(self, units: float, unit: Unit) -> AsyncIterator[None]:
        local = self._local or await self._connected()
        async with local.slot(units, unit):
            yield

    async def _connected(self) -> AsyncRateLimiter:
        failed = self._connecting is not None and self._connecting.done() and not self._local
        if self._connecting is None or failed:  # first use, or the last attempt failed: ask again
            self._connecting = asyncio.ensure_future(self._connect())
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> AsyncRateLimiter:
        async with get_client() as client:
            try:
                gcl = await client.read_global_concurrency_limit_by_name(self.name)
            except ObjectNotFound as exc:
                raise LookupError(f"no global concurrency limit {self.name!r}: create it with setup_gcl()") from exc
        if not gcl.slot_decay_per_second > 0 or gcl.limit < 1:
            raise ValueError(f"GCL {self.name!r} needs slot_decay_per_second > 0 and limit >= 1 to pace requests")
        return self._configure(gcl.slot_decay_per_second * SECONDS_PER_MINUTE, gcl.limit)

    def _configure(self, shared_rpm: float, burst: int) -> AsyncRateLimiter:
        """Size leases for the GCL's rate and burst and build the local limiter (split out for offline tests)."""
        self.shared_rpm = shared_rpm
        self.burst = burst
        self.lease_size = self._lease_size_arg or default_lease_size(shared_rpm, burst)
        if not 1 <= self.lease_size <= burst:
            raise ValueError(f"lease_size {self.lease_size} must be between 1 and the GCL's limit {burst}")
        local_rpm = min(self.limits.requests_per_minute or math.inf, shared_rpm)
        lease_period_s = self.lease_size * SECONDS_PER_MINUTE / local_rpm
        self.permit_ttl_s = self._ttl_arg or PERMIT_TTL_LEASES * lease_period_s
        # Our own last lease is still in the bucket: room for the next one only after this much decay.
        self._min_lease_gap_s = max(0, 2 * self.lease_size - burst) * SECONDS_PER_MINUTE / shared_rpm
        self._prefetch_below = math.floor(self.lease_size * PREFETCH_FRACTION)
        self._local = AsyncRateLimiter(
            replace(self.limits, requests_per_minute=local_rpm),
            clock=self._clock,
            sleep=self._sleep,
            gate=self._take_permit,
        )
        return self._local

    async def _take_permit(self) -> None:
        """Spend one leased permit (oldest first); the local limiter calls this in queue order, one at a time."""
        while True:
            self._drop_expired()
            if self._stock:
                oldest = self._stock[0]
                oldest[1] -= 1
                if oldest[1] <= 0:
                    self._stock.popleft()
                self.permits_spent += 1
                if self.permits_in_stock <= self._prefetch_below:
                    self._start_refill()
                return
            # Shielded: a cancelled request must not cancel the lease other requests are waiting for.
            await asyncio.shield(self._start_refill())

    def _drop_expired(self) -> None:
        now = self._clock()
        while self._stock and self._stock[0][0] <= now:
            self.permits_expired += int(self._stock.popleft()[1])

    def _start_refill(self) -> asyncio.Task[None]:
        if self._refill is None or self._refill.done():
            self._refill = asyncio.create_task(self._lease(), name=f"gcl-lease-{self.name}")
            self._refill.add_done_callback(_retrieve)
        return self._refill

    async def _lease(self) -> None:
        while (delay := self._last_lease_at + self._min_lease_gap_s - self._clock()) > 0:
            await self._sleep(delay)
        await rate_limit(self.name, occupy=self.lease_size, strict=True)
        now = self._clock()
        self._last_lease_at = now
        self._stock.append([now + self.permit_ttl_s, float(self.lease_size)])
        self.leases += 1


def _retrieve(task: asyncio.Task[None]) -> None:
    """Mark a failed prefetch as seen; the request waiting on it (if any) gets the error itself."""
    if not task.cancelled():
        task.exception()
