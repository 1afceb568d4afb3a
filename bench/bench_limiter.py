"""What a permit costs: the in-process limiter's overhead, and a Prefect ``rate_limit`` round trip, leased or not.

The Prefect measurements run against a temporary server (``prefect_test_harness``: SQLite, same machine), so they
are a floor for a real deployment, where the server is across a network.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import Limiter, NoLimit, RateLimits

SLOTS_PER_RUN = 50_000
CONCURRENT_TASKS = 64
REPEATS = 5
NEVER_WAITS_RPM = 1e15  # pacing is computed for every slot but the interval is far below the clock's resolution
ACQUIRES = 200
HIGH_RPM = 3000.0
THROUGHPUT_WORKERS = 32
THROUGHPUT_RUN_S = 10.0


async def _sequential(limiter: Limiter, n: int) -> None:
    for _ in range(n):
        async with limiter.slot(10, "chars"):
            pass


async def _concurrent(limiter: Limiter, n: int) -> None:
    per_task = n // CONCURRENT_TASKS
    await asyncio.gather(*(_sequential(limiter, per_task) for _ in range(CONCURRENT_TASKS)))


def _us_per_slot(make: Callable[[], Limiter], concurrent: bool) -> float:
    runs = []
    for _ in range(REPEATS):
        limiter = make()
        body = _concurrent if concurrent else _sequential
        start = time.perf_counter()
        asyncio.run(body(limiter, SLOTS_PER_RUN))
        runs.append((time.perf_counter() - start) / SLOTS_PER_RUN * 1e6)
    return statistics.median(runs)


def overhead_section() -> str:
    paced = RateLimits(
        requests_per_minute=NEVER_WAITS_RPM, units_per_minute={"chars": NEVER_WAITS_RPM}, max_in_flight=1000
    )
    cases: list[tuple[str, Callable[[], Limiter]]] = [
        ("`NoLimit` (baseline: the `async with` itself)", NoLimit),
        ("`AsyncRateLimiter`, no limits", lambda: AsyncRateLimiter(RateLimits())),
        ("`AsyncRateLimiter`, rpm + chars/min + in-flight cap, never waiting", lambda: AsyncRateLimiter(paced)),
    ]
    rows = []
    for name, make in cases:
        seq = _us_per_slot(make, concurrent=False)
        conc = _us_per_slot(make, concurrent=True)
        rows.append(f"| {name} | {seq:.1f} µs | {conc:.1f} µs |")
    return "\n".join(
        [
            "## Rate limiter: in-process overhead per slot",
            "",
            f"Enter and leave one slot, {SLOTS_PER_RUN} times, median of {REPEATS} runs; 'contended' is the same",
            f"number of slots taken by {CONCURRENT_TASKS} tasks at once through the FIFO queue.",
            "",
            "| limiter | one task | contended |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )


async def _round_trips(name: str) -> list[float]:
    from prefect.concurrency.asyncio import rate_limit

    await rate_limit(name, occupy=1, strict=True)  # start the acquisition service and its client
    times = []
    for _ in range(ACQUIRES):
        start = time.perf_counter()
        await rate_limit(name, occupy=1, strict=True)
        times.append(time.perf_counter() - start)
    return times


async def _throughput(name: str, lease_size: int | None) -> tuple[float, int, int]:
    from tasks.scale.gcl_limiter import PrefectGCLLimiter

    limiter = PrefectGCLLimiter(name, lease_size=lease_size)
    count = 0
    until = time.monotonic() + THROUGHPUT_RUN_S

    async def worker() -> None:
        nonlocal count
        while time.monotonic() < until:
            async with limiter.slot():
                count += 1

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(THROUGHPUT_WORKERS)))
    elapsed = time.monotonic() - start
    await limiter.aclose()
    return count / elapsed, limiter.leases, limiter.lease_size


def prefect_section() -> str:
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="voxbatch-bench-prefect-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    from tasks.scale.gcl_limiter import default_lease_size, setup_gcl

    with prefect_test_harness(server_startup_timeout=120):
        setup_gcl("bench-open", requests_per_minute=60e6, burst=1_000_000)  # never refuses
        trips = asyncio.run(_round_trips("bench-open"))
        results = []
        for label, size in (("1 (one round trip per request)", 1), ("automatic", None)):
            name = f"bench-{HIGH_RPM:.0f}-{size or 'auto'}"
            setup_gcl(name, requests_per_minute=HIGH_RPM)
            results.append((label, *asyncio.run(_throughput(name, size))))
    ms = sorted(t * 1000 for t in trips)
    p90 = ms[int(0.9 * len(ms)) - 1]
    target = HIGH_RPM / 60
    rows = [
        f"| {label} | {size} | {rate:.1f}/s ({rate / target:.0%}) | {leases} |" for label, rate, leases, size in results
    ]
    return "\n".join(
        [
            "## Rate limiter: Prefect global concurrency limit",
            "",
            f"`rate_limit(name, occupy=1)` on a limit that never refuses, {ACQUIRES} sequential calls against a",
            "temporary local Prefect server (SQLite):",
            "",
            "| measure | value |",
            "|---|---|",
            f"| median round trip | {statistics.median(ms):.1f} ms |",
            f"| 90th percentile | {p90:.1f} ms |",
            f"| mean | {statistics.fmean(ms):.1f} ms ({1000 / statistics.fmean(ms):.0f} acquires/s) |",
            f"| slowest | {ms[-1]:.0f} ms |",
            "",
            f"`PrefectGCLLimiter` on a GCL of {HIGH_RPM:.0f} rpm ({target:.0f}/s, default burst "
            f"{2 * default_lease_size(HIGH_RPM)}), one process, {THROUGHPUT_WORKERS} tasks asking back to back for "
            f"{THROUGHPUT_RUN_S:.0f} s:",
            "",
            "| lease size | permits per round trip | permits/s (share of the limit) | round trips |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


def run() -> list[str]:
    return [overhead_section(), prefect_section()]
