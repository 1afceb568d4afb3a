"""Running a flow's heavy task runs on a Dask cluster (prefect-dask's task runner), paced by a shared limit.

``ScaleOut`` is a flow parameter: a scheduler address (an existing cluster) or a local cluster spec (worker
processes and threads). The flow enters the task runner for the run and submits its per-chapter / per-file
task runs to it; each task builds its own client from a :class:`~voxbatch.worker_spec.WorkerSpec` (open
clients do not travel between processes). The provider's request rate is shared through a Prefect global
concurrency limit created on demand (:func:`tasks.gcl_limiter.setup_gcl`), which every worker leases permits
from (:class:`tasks.gcl_limiter.PrefectGCLLimiter`). Workers need the flow's Prefect API (a real
``prefect server start``), the same cache folder, and the key where ``WorkerSpec.key_source`` says.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from prefect_dask import DaskTaskRunner

from tasks.gcl_limiter import PrefectGCLLimiter, default_lease_size, setup_gcl
from tasks.run_resources import secret_value
from voxbatch.cache import ChunkCache
from voxbatch.client.client import SpeechClient
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import Limiter, RateLimits, Unit
from voxbatch.client.options import API_KEY_ENV, ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.ledger.record import CallRecord
from voxbatch.ledger.writer import LedgerWriter
from voxbatch.run.endpoint import EMBEDDED_KEY, NO_KEY
from voxbatch.worker_spec import WorkerSpec

DEFAULT_THREADS_PER_WORKER = 4
LIMIT_NAME_PREFIX = "voxbatch-rpm-"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScaleOut:
    """Where task runs go: ``address`` of a running Dask scheduler, or a local cluster of ``workers`` processes."""

    address: str | None = None
    workers: int | None = None
    threads_per_worker: int = DEFAULT_THREADS_PER_WORKER
    cluster_kwargs: dict[str, object] = field(default_factory=dict)  # more LocalCluster arguments

    def __post_init__(self) -> None:
        if self.address and self.workers:
            raise ValueError("give a Dask scheduler address or a number of local workers, not both")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")

    def task_runner(self) -> DaskTaskRunner:
        if self.address:
            return DaskTaskRunner(address=self.address)
        kwargs = {"n_workers": self.workers or 2, "threads_per_worker": self.threads_per_worker, "processes": True}
        return DaskTaskRunner(cluster_kwargs={**kwargs, **self.cluster_kwargs})


def limit_name_for(endpoint_id: str) -> str:
    """The shared limit's default name: one per provider endpoint, whatever the run."""
    return LIMIT_NAME_PREFIX + (re.sub(r"[^a-z0-9]+", "-", endpoint_id.lower()).strip("-") or "default")


async def resolve_key(spec: WorkerSpec) -> str:
    """The API key a worker uses, from where the spec says (never from the spec itself)."""
    if spec.key_source == "embedded":
        return EMBEDDED_KEY
    if spec.key_source == "none":
        return NO_KEY
    block = spec.secret_block
    if block is not None:
        return await secret_value(block)
    key = os.environ.get(API_KEY_ENV)
    if not key:
        raise RuntimeError(f"this worker has no {API_KEY_ENV} in its environment")
    return key


@dataclass
class WorkerResources:
    """One task run's client, cache and the call records it wrote."""

    client: SpeechClient
    cache: ChunkCache
    records: list[CallRecord]


@asynccontextmanager
async def worker_resources(spec: WorkerSpec, expected_requests: int = 1) -> AsyncIterator[WorkerResources]:
    """A client paced by the shared limit (or the spec's own rate), writing its own ledger files for the run.

    ``expected_requests`` bounds the permits leased at a time, so a task run that makes one request does not
    take (and waste) a whole second of the fleet's shared rate. ``max_in_flight`` applies per task run.
    """
    units = {cast(Unit, spec.unit): spec.units_per_minute} if spec.units_per_minute else {}
    limiter: Limiter
    if spec.limit_name and spec.requests_per_minute:
        lease = max(1, min(default_lease_size(spec.requests_per_minute), expected_requests))
        limiter = PrefectGCLLimiter(
            spec.limit_name, RateLimits(units_per_minute=units, max_in_flight=spec.max_in_flight), lease_size=lease
        )
    else:
        limiter = AsyncRateLimiter(
            RateLimits(
                requests_per_minute=spec.requests_per_minute,
                units_per_minute=units,
                max_in_flight=spec.max_in_flight,
                learn=spec.requests_per_minute is None,  # as the flow's own limiter (tasks/run_resources.py)
            )
        )
    timeouts = CallTimeouts(override_s=spec.timeout_s)
    options = ClientOptions(
        api_key=await resolve_key(spec),
        base_url=spec.base_url,
        retry=RetryPolicy(max_attempts=spec.max_attempts),
        timeouts=timeouts.on_embedded_server() if spec.key_source == "embedded" else timeouts,
    )
    records: list[CallRecord] = []
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # one file series per task run: writers never clash
    ledger = LedgerWriter(Path(spec.ledger_dir), spec.run_id, file_tag=tag)

    def sink(rec: CallRecord) -> None:
        records.append(rec)  # first: the flow counts a paid call even if this worker's ledger cannot write it
        ledger.append(rec)

    try:
        async with SpeechClient(
            options, limiter=limiter, ledger=sink, intents=ledger.intend, run_id=spec.run_id, flow=spec.flow
        ) as client:
            yield WorkerResources(client, ChunkCache(Path(spec.cache_dir)), records)
    finally:
        close = getattr(limiter, "aclose", None)
        if close is not None:
            await close()
        try:
            ledger.close()
        except Exception as exc:  # the records still travel back to the flow with the results
            logger.error("worker ledger for run %s not fully written: %s", spec.run_id, exc)


@dataclass(frozen=True)
class RemoteBatch:
    """What one task run on a worker sends back: its outcomes, the call records it wrote, and its process."""

    outcomes: list[Any]
    records: tuple[CallRecord, ...]
    pid: int


async def run_remote(runner: DaskTaskRunner, task: Any, parameters: dict[str, Any]) -> RemoteBatch:
    """Submit one task run to the cluster and wait for it without blocking the flow's event loop."""
    future = runner.submit(task, parameters)
    result = await asyncio.to_thread(future.result)
    assert isinstance(result, RemoteBatch)
    return result


async def ensure_shared_limit(name: str, requests_per_minute: float) -> str:
    """Create (or update) the run's shared rate limit on the Prefect server; returns its name."""
    await asyncio.to_thread(setup_gcl, name, requests_per_minute)
    return name


@dataclass
class Cluster:
    """A run's entered task runner, the spec its workers build clients from, and the processes seen."""

    runner: DaskTaskRunner
    spec: WorkerSpec
    pids: set[int] = field(default_factory=set)
    on_lost: Callable[[str], None] | None = None  # an item whose worker vanished: what it spent is unknown

    def lost(self, item_id: str) -> None:
        if self.on_lost is not None:
            self.on_lost(item_id)

    def absorb(self, batch: RemoteBatch, res: Any) -> None:
        """Tally a worker's call records in the flow (budget, progress, per-item cost); they are already written."""
        self.pids.add(batch.pid)
        for rec in batch.records:
            res.tally.observe(rec)


@asynccontextmanager
async def open_cluster(
    scale_out: ScaleOut | None, res: Any, limit_name: str | None, on_lost: Callable[[str], None] | None = None
) -> AsyncIterator[Cluster | None]:
    """The run's cluster for the block (None without ``scale_out``); the shared limit exists before any task."""
    if scale_out is None:
        yield None
        return
    settings = res.settings
    name = None
    if settings.requests_per_minute:
        name = await ensure_shared_limit(limit_name or limit_name_for(res.endpoint_id), settings.requests_per_minute)
    with scale_out.task_runner() as runner:  # a local cluster, if any, stops when the block ends
        yield Cluster(runner, res.worker_spec(name), on_lost=on_lost)
