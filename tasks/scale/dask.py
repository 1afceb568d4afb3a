"""Running a run's units of work on a Dask cluster (prefect-dask's task runner), paced by a shared limit.

``ScaleOut`` is a flow parameter: a scheduler address (an existing cluster) or a local cluster spec (worker
processes and threads). Only *where units execute* changes: :class:`ClusterSteps` submits each unit (a chapter, a
file) as a task run to the cluster, where :func:`execute_on_worker` opens the same run context from the run's
opened :class:`~voxbatch.run.spec.RunSpec` (:func:`voxbatch.run.context.open_run`, as the flow did) and runs the
same :func:`voxbatch.run.kernel.run_unit`. The call records a worker wrote travel back and are tallied in the
flow (budget, progress, per-item cost). The provider's request rate is shared through a Prefect global
concurrency limit created on demand (:func:`tasks.scale.gcl_limiter.setup_gcl`), which every worker leases permits
from (:class:`tasks.scale.gcl_limiter.PrefectGCLLimiter`). Workers need the flow's Prefect API (a real
``prefect server start``), the same cache folder, and the key where the spec's ``key_source`` says.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.quiet_logs import quiet_prefect_services
from tasks.scale.gcl_limiter import PrefectGCLLimiter, default_lease_size, setup_gcl
from tasks.secrets import secret_value
from tasks.steps import TaskSteps
from voxbatch.client.limits import Limiter, RateLimits
from voxbatch.ledger.record import CallRecord
from voxbatch.run.budget import Budget
from voxbatch.run.context import RunContext, open_run
from voxbatch.run.kernel import Pipeline, Steps, run_unit
from voxbatch.run.report import WorkerUse
from voxbatch.run.spec import RunSpec

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

DEFAULT_THREADS_PER_WORKER = 4
DEFAULT_LOCAL_WORKERS = 2
LIMIT_NAME_PREFIX = "voxbatch-rpm-"


@dataclass(frozen=True)
class ScaleOut:
    """Where units go: ``address`` of a running Dask scheduler, or a local cluster of ``workers`` processes."""

    address: str | None = None
    workers: int | None = None
    threads_per_worker: int = DEFAULT_THREADS_PER_WORKER
    cluster_kwargs: dict[str, object] = field(default_factory=dict)  # more LocalCluster arguments

    def __post_init__(self) -> None:
        if self.address and self.workers:
            raise ValueError("give a Dask scheduler address or a number of local workers, not both")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")

    @property
    def expected_workers(self) -> int | None:
        """The worker processes a local cluster is started with (None: an existing cluster, whatever it has)."""
        return None if self.address else self.workers or DEFAULT_LOCAL_WORKERS

    def task_runner(self) -> DaskTaskRunner:
        """The task runner for this cluster (prefect-dask and Dask are imported here: ~0.5 CPU-s that a run which
        does not scale out never pays)."""
        from prefect_dask import DaskTaskRunner

        if self.address:
            return DaskTaskRunner(address=self.address)
        kwargs = {
            "n_workers": self.workers or DEFAULT_LOCAL_WORKERS,
            "threads_per_worker": self.threads_per_worker,
            "processes": True,
        }
        return DaskTaskRunner(cluster_kwargs={**kwargs, **self.cluster_kwargs})


def limit_name_for(endpoint_id: str) -> str:
    """The shared limit's default name: one per provider endpoint, whatever the run."""
    return LIMIT_NAME_PREFIX + (re.sub(r"[^a-z0-9]+", "-", endpoint_id.lower()).strip("-") or "default")


def shared_limiter(spec: RunSpec, expected_requests: int) -> Limiter | None:
    """A worker's limiter leasing from the run's shared limit (None: pace with the spec's own rates).

    ``expected_requests`` bounds the permits leased at a time, so a unit that makes one request does not take (and
    waste) a whole second of the fleet's shared rate. ``max_in_flight`` applies per unit.
    """
    if not (spec.limit_name and spec.requests_per_minute):
        return None
    lease = max(1, min(default_lease_size(spec.requests_per_minute), expected_requests))
    own = spec.rate_limits()
    limits = RateLimits(units_per_minute=own.units_per_minute, max_in_flight=own.max_in_flight)
    return PrefectGCLLimiter(spec.limit_name, limits, lease_size=lease)


@dataclass(frozen=True)
class UnitBatch:
    """What one unit's task run on a worker sends back: its outcomes, the call records it wrote, its process."""

    outcomes: list[Any]
    records: tuple[CallRecord, ...]
    pid: int


@task(name="execute-on-worker", cache_policy=NO_CACHE, task_run_name="{label}")
async def execute_on_worker(spec: RunSpec, pipeline: Pipeline[Any, Any, Any], work: Any, label: str) -> UnitBatch:
    """One unit in a worker process: the run's context opened from its spec, then the same unit as on the flow."""
    quiet_prefect_services()  # this process's drain chatter too: a worker's output reaches the command's
    limiter = shared_limiter(spec, pipeline.work_chunks(work))
    async with open_run(spec, resolve_secret=secret_value, limiter=limiter) as ctx:
        outcomes = await run_unit(pipeline, ctx, work)  # never raises: the calls paid for travel back below
    return UnitBatch(outcomes, tuple(ctx.records), os.getpid())


class ClusterSteps(TaskSteps):
    """The kernel's steps with every unit of work submitted to the cluster (plan and assemble stay here)."""

    def __init__(
        self,
        runner: DaskTaskRunner,
        spec: RunSpec,
        on_lost: Callable[[str], None] | None,
        expected_workers: int | None = None,
    ) -> None:
        self.runner, self.spec, self.on_lost = runner, spec, on_lost
        self.pids: set[int] = set()
        self.units = 0
        self.expected_workers = expected_workers
        self.cluster_workers: int | None = None  # connected when the first unit was sent

    @property
    def worker_use(self) -> WorkerUse:  # type: ignore[override]
        return WorkerUse(len(self.pids), self.units, self.cluster_workers, self.expected_workers)

    def _connected_workers(self) -> int | None:
        try:
            return len(self.runner.client.nthreads())
        except Exception:  # a summary detail: never the run's failure
            return None

    async def execute(self, pipeline: Pipeline[Any, Any, Any], ctx: RunContext, work: Any, item_id: str) -> list[Any]:
        parameters = {"spec": self.spec, "pipeline": pipeline, "work": work, "label": pipeline.work_label(work)}
        self.units += 1
        first = self.units == 1
        try:
            future = self.runner.submit(execute_on_worker, parameters)  # the first submit connects the client
            if first:
                self.cluster_workers = await asyncio.to_thread(self._connected_workers)
            batch = await asyncio.to_thread(future.result)
        except Exception as exc:  # the worker died: its chunks fail, the run goes on, its spend counts as reserved
            self.lost(item_id)
            return pipeline.failed(work, f"worker task failed: {type(exc).__name__}: {exc}")
        assert isinstance(batch, UnitBatch)
        self.pids.add(batch.pid)
        for rec in batch.records:  # already written by the worker: tally them here (budget, progress, cost)
            ctx.tally.observe(rec)
        return batch.outcomes

    def lost(self, item_id: str) -> None:
        if self.on_lost is not None:
            self.on_lost(item_id)


def steps_for(scale_out: ScaleOut | None) -> Callable[[RunContext, Budget | None], Any]:
    """The kernel's steps for a run: task runs here, or units on the cluster ``scale_out`` describes."""

    @asynccontextmanager
    async def steps(ctx: RunContext, budget: Budget | None) -> AsyncIterator[Steps]:
        if scale_out is None:
            yield TaskSteps()
            return
        spec = ctx.spec
        if spec.requests_per_minute:  # the shared limit exists before any unit is submitted
            name = spec.limit_name or limit_name_for(ctx.endpoint_id)
            await asyncio.to_thread(setup_gcl, name, spec.requests_per_minute)
            spec = replace(spec, limit_name=name)
        with scale_out.task_runner() as runner:  # a local cluster, if any, stops when the block ends
            on_lost = budget.forfeit if budget is not None else None
            yield ClusterSteps(runner, spec, on_lost, scale_out.expected_workers)

    return steps
