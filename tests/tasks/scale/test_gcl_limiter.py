"""PrefectGCLLimiter: lease mechanics offline on a fake clock, then a rate shared by processes on a real server
(counted from what the server granted, never timed)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tasks.scale import gcl_limiter
from tasks.scale.gcl_limiter import PrefectGCLLimiter, default_lease_size, setup_gcl
from voxbatch.client.limits import Limiter, RateLimits

REPO_ROOT = Path(__file__).resolve().parents[3]


class FakeTime:
    """A clock whose sleep advances it at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class FakeGCL:
    """Stands in for ``rate_limit``: grants at once and records (time, occupy, permits still in stock)."""

    def __init__(self, fake: FakeTime) -> None:
        self.fake = fake
        self.limiter: PrefectGCLLimiter | None = None
        self.calls: list[tuple[float, int, int]] = []

    async def __call__(self, name: str, occupy: int = 1, **kwargs: object) -> None:
        assert kwargs.get("strict") is True
        stock = self.limiter.permits_in_stock if self.limiter else 0
        self.calls.append((self.fake.now, occupy, stock))
        await asyncio.sleep(0)


def offline(
    monkeypatch: pytest.MonkeyPatch, shared_rpm: float, burst: int, **kwargs: Any
) -> tuple[PrefectGCLLimiter, FakeTime, FakeGCL]:
    fake = FakeTime()
    gcl = FakeGCL(fake)
    monkeypatch.setattr(gcl_limiter, "rate_limit", gcl)
    limiter = PrefectGCLLimiter("offline", clock=fake.clock, sleep=fake.sleep, **kwargs)
    gcl.limiter = limiter
    limiter._configure(shared_rpm, burst)
    return limiter, fake, gcl


async def slots(limiter: PrefectGCLLimiter, fake: FakeTime, n: int) -> list[float]:
    times: list[float] = []

    async def one() -> None:
        async with limiter.slot():
            times.append(fake.now)

    await asyncio.gather(*(one() for _ in range(n)))
    return times


@pytest.mark.parametrize(
    ("rpm", "burst", "size"),
    [(120, None, 2), (3000, None, 50), (30, None, 1), (600, 4, 2), (600, 1, 1), (600, 40, 10)],
)
def test_default_lease_size_is_about_a_second_and_at_most_half_the_burst(
    rpm: float, burst: int | None, size: int
) -> None:
    assert default_lease_size(rpm, burst) == size


def test_permits_are_leased_in_batches_prefetched_and_paced(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter, fake, gcl = offline(monkeypatch, shared_rpm=600, burst=20)
    assert (limiter.lease_size, limiter.permit_ttl_s) == (10, 2.0)
    times = asyncio.run(slots(limiter, fake, 33))
    assert times == pytest.approx([k * 0.1 for k in range(33)])  # paced at the shared rate, no bursts
    assert all(occupy == 10 for _, occupy, _ in gcl.calls)
    assert len(gcl.calls) == limiter.leases == 4  # 33 permits: 4 leases, the last one prefetched
    assert [stock for _, _, stock in gcl.calls[1:]] == [5, 5, 5]  # asked for while half a lease was left
    assert limiter.permits_spent == 33
    assert limiter.current_rpm == 600


def test_a_process_never_spends_a_permit_it_did_not_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter, fake, gcl = offline(monkeypatch, shared_rpm=600, burst=20)
    granted = asyncio.Event()

    async def slow_gcl(name: str, occupy: int = 1, **kwargs: object) -> None:
        await granted.wait()
        await gcl(name, occupy, **kwargs)

    monkeypatch.setattr(gcl_limiter, "rate_limit", slow_gcl)

    async def scenario() -> int:
        waiting = asyncio.create_task(slots(limiter, fake, 3))
        await asyncio.sleep(0.05)
        started_before_grant = limiter.permits_spent
        granted.set()
        await waiting
        return started_before_grant

    assert asyncio.run(scenario()) == 0
    assert limiter.permits_spent == 3


def test_unspent_permits_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter, fake, _ = offline(monkeypatch, shared_rpm=600, burst=20)

    async def scenario() -> None:
        await slots(limiter, fake, 6)  # 4 left of the first lease, a second lease prefetched
        await asyncio.sleep(0.01)
        fake.now += 10.0  # idle far beyond the TTL
        await slots(limiter, fake, 1)

    asyncio.run(scenario())
    assert limiter.permits_expired == 14
    assert limiter.leases == 3


def test_when_burst_equals_lease_size_leases_wait_for_an_empty_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter, fake, gcl = offline(monkeypatch, shared_rpm=600, burst=10, lease_size=10)
    asyncio.run(slots(limiter, fake, 30))
    lease_times = [t for t, _, _ in gcl.calls]
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(lease_times))


def test_a_local_rate_only_lowers_the_shared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    slow, _, _ = offline(monkeypatch, shared_rpm=600, burst=20, limits=RateLimits(requests_per_minute=60))
    fast, _, _ = offline(monkeypatch, shared_rpm=600, burst=20, limits=RateLimits(requests_per_minute=6000))
    assert (slow.current_rpm, fast.current_rpm) == (60, 600)
    with pytest.raises(ValueError):
        offline(monkeypatch, shared_rpm=600, burst=4, lease_size=5)


# --- against a temporary Prefect server ---------------------------------------------------------------------

SHARED_RPM = 120
SHARED_RATE_PER_S = SHARED_RPM / 60
BURST = 4  # two leases of two permits
WORKERS = 4  # per participant: each wants far more than the shared rate
PERMITS_EACH = 5  # every participant runs until it has started this many requests: ~6 s of the shared rate for all
HANG_GUARD_S = 120.0  # only reached if the shared limit starves someone


def test_setup_gcl_is_idempotent(prefect_api_url: str) -> None:
    first = setup_gcl("voxbatch-test-setup", requests_per_minute=600, burst=20)
    again = setup_gcl("voxbatch-test-setup", requests_per_minute=600, burst=20)
    assert (again.id, again.limit, again.slot_decay_per_second) == (first.id, 20, 10.0)
    assert again.updated == first.updated  # nothing was written the second time
    changed = setup_gcl("voxbatch-test-setup", requests_per_minute=120)
    assert (changed.id, changed.limit, changed.slot_decay_per_second) == (first.id, 4, 2.0)


def test_a_missing_limit_is_an_error(prefect_api_url: str) -> None:
    limiter: Limiter = PrefectGCLLimiter("voxbatch-test-nobody")

    async def use() -> None:
        async with limiter.slot():
            pass

    with pytest.raises(LookupError, match="setup_gcl"):
        asyncio.run(use())


def recording_grants(grants: list[list[float]]) -> Callable[..., Awaitable[None]]:
    """``rate_limit`` that notes each grant as [asked at, granted by, permits]: the GCL granted it in between."""
    real: Callable[..., Awaitable[None]] = gcl_limiter.rate_limit

    async def recorded(name: str, occupy: int = 1, **kwargs: Any) -> None:
        asked = time.time()
        await real(name, occupy=occupy, **kwargs)
        grants.append([asked, time.time(), occupy])

    return recorded


async def _take(limiter: PrefectGCLLimiter, permits: int) -> list[float]:
    """Several workers take slots back to back until ``permits`` have started, then give up waiting; start times."""
    times: list[float] = []
    enough = asyncio.Event()

    async def worker() -> None:
        while not enough.is_set():
            async with limiter.slot():
                times.append(time.time())
                if len(times) >= permits:
                    enough.set()

    workers = [asyncio.create_task(worker()) for _ in range(WORKERS)]
    try:
        await asyncio.wait_for(enough.wait(), HANG_GUARD_S)
    finally:
        for task in workers:
            task.cancel()  # leaves the queue mid-wait, as a cancelled request would
        await asyncio.gather(*workers, return_exceptions=True)
        await limiter.aclose()
    return times


CHILD = """
import asyncio, json, sys
from tasks.scale import gcl_limiter
from tasks.scale.gcl_limiter import PrefectGCLLimiter
from tests.tasks.scale.test_gcl_limiter import _take, recording_grants

grants = []
gcl_limiter.rate_limit = recording_grants(grants)
limiter = PrefectGCLLimiter(sys.argv[1])
print("ready", flush=True)  # imports done: the parent starts taking only now
sys.stdin.readline()
times = asyncio.run(_take(limiter, int(sys.argv[2])))
print(json.dumps({"times": times, "leases": limiter.leases, "spent": limiter.permits_spent, "grants": grants}))
"""


def _most_granted_inside(grants: list[list[float]]) -> list[tuple[float, int, float]]:
    """For every window from one grant's asking to another's granting: (length, permits surely granted inside it,
    what the GCL allows in it). Only grants asked for and granted inside a window count for it: however late the
    answers reached a loaded process, those grants really happened inside."""
    windows = []
    for opened, _, _ in grants:
        for _, closed, _ in grants:
            if closed > opened:
                inside = sum(n for asked, granted, n in grants if asked >= opened and granted <= closed)
                windows.append((closed - opened, int(inside), BURST + SHARED_RATE_PER_S * (closed - opened)))
    return windows


@pytest.mark.slow
def test_processes_sharing_one_limit_stay_within_it(prefect_api_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted, never timed: how many permits the GCL granted inside windows bounded by the participants' own
    observations (asked before, answered after), and how many each participant spent and leased. How fast a
    loaded machine goes changes only how long this takes (local pacing and expiry: the fake-clock tests above)."""
    name = "voxbatch-test-shared"
    setup_gcl(name, requests_per_minute=SHARED_RPM, burst=BURST)
    round_trips = 0
    grants: list[list[float]] = []
    recorded = recording_grants(grants)

    async def counting_rate_limit(*args: Any, **kwargs: Any) -> None:
        nonlocal round_trips
        round_trips += 1
        await recorded(*args, **kwargs)

    monkeypatch.setattr(gcl_limiter, "rate_limit", counting_rate_limit)
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url, "PYTHONPATH": str(REPO_ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, name, str(PERMITS_EACH)],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ours = [PrefectGCLLimiter(name), PrefectGCLLimiter(name)]
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "ready"  # however long its imports took on a loaded machine
    child.stdin.write("go\n")
    child.stdin.flush()

    async def both() -> list[list[float]]:
        return list(await asyncio.gather(*(_take(limiter, PERMITS_EACH) for limiter in ours)))

    in_process = asyncio.run(both())
    out, err = child.communicate(timeout=HANG_GUARD_S)
    assert child.returncode == 0, err
    from_child = json.loads(out.strip().splitlines()[-1])

    # Nobody was starved: every participant started all it wanted.
    participants = [*in_process, from_child["times"]]
    assert all(len(times) >= PERMITS_EACH for times in participants), [len(t) for t in participants]
    # The shared limit held across the three: in any window, the GCL granted at most BURST + rate x its length.
    everyone = [*grants, *from_child["grants"]]
    windows = _most_granted_inside(everyone)
    worst = max(windows, key=lambda w: w[1] - w[2])
    print(f"\ngrants {len(everyone)}, permits {sum(n for *_, n in everyone)}, round trips {round_trips}, worst {worst}")
    assert all(inside <= allowed for _, inside, allowed in windows), worst
    assert sum(n for *_, n in everyone) >= len(participants) * PERMITS_EACH  # every start came from a grant
    # Batching: one round trip per lease; at most one prefetch per limiter was cut short or never spent.
    lease_size = ours[0].lease_size
    spent = sum(limiter.permits_spent for limiter in ours)
    started = sum(len(times) for times in in_process)
    # A worker cancelled at the end may have spent its permit without reaching the line that records it.
    assert started <= spent <= started + WORKERS * len(ours)
    leases = sum(limiter.leases for limiter in ours)
    assert leases == len(grants) and leases * lease_size >= spent  # never spent a permit it did not lease
    assert leases <= round_trips <= leases + len(ours)
    assert round_trips <= spent / lease_size + 2 * len(ours)
    assert from_child["leases"] == len(from_child["grants"])
    assert from_child["leases"] <= from_child["spent"] / lease_size + 2
    assert from_child["leases"] * lease_size >= from_child["spent"] >= len(from_child["times"])


def test_a_429s_retry_queues_in_the_shared_limiter_when_it_adapts() -> None:
    from voxbatch.client.limits import holds_rate_limited_retries

    assert holds_rate_limited_retries(PrefectGCLLimiter("offline"))  # its local limiter pauses and paces
    assert not holds_rate_limited_retries(PrefectGCLLimiter("offline", RateLimits(adaptive=False)))
