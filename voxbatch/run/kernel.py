"""The run kernel: the one life every item of every pipeline lives, on this process or with units on Dask workers.

::

    rows ──► fit the provider's catalog? ──no──► a row error: nothing planned, nothing paid
               │ yes
               ▼
             plan ──► finished? ──yes──► skipped
              │          │ no
              │          ▼
              │       estimate ──► admit under the budget (input order) ──no──► skipped_budget
              │          │ yes
              │          ▼
              │       execute its units ──► (stop) ──► stopped: every answer kept, nothing assembled
              │       (chapters / a file)  ──► any chunk failed ──► failed: the other items go on
              │          │ all done
              │          ▼
              │       assemble ──► ok
              └─ a row error or an unforeseen exception: failed (this item alone)
    every outcome ──► record (the item's ledger record, progress, summary)

A dry run is the same life with execution switched off: check, plan, find what is finished, estimate; no server
of any kind is opened (and the catalog is the embedded server's own, or a copy on disk:
:mod:`voxbatch.run.catalog_source`). :meth:`Kernel.finished_run` asks the same "finished?" the same way before a
run opens anything: when every item is finished, that is the run (recorded, :mod:`voxbatch.run.finished_run`).
The pipelines (:mod:`voxbatch.pipelines.audiobook.pipeline`, :mod:`voxbatch.pipelines.transcript.pipeline`) say
only what differs: how an item is planned, what one unit of its work is and how it is executed, how it is
assembled and estimated.

Where a chunk's life happens, once for both pipelines:

- **split**: in the pipeline's ``plan`` (``voxbatch.text.chunking`` for books, ``voxbatch.pipelines.transcript.split``
  for recordings); the cache key of every chunk is fixed there.
- **sent**: :meth:`voxbatch.client.client.SpeechClient._call`, reached from the pipeline's ``execute`` (which first
  looks in the cache: a cached chunk is never sent, and is recorded as ``cached``).
- **retried**: inside that call, by :mod:`voxbatch.client.retry` (and a 429's retry queues in the limiter).
- **paced**: by the run's one limiter (:mod:`voxbatch.client.limiter`, or the shared Prefect limit on workers),
  wrapped by :class:`voxbatch.run.shutdown.StopGate`; opened in :func:`voxbatch.run.context.open_run`.
- **stitched**: in the pipeline's ``assemble`` (``voxbatch.audio.stitch`` / ``voxbatch.pipelines.transcript.merge``).
- **billed**: the call's ledger record, written ahead (:mod:`voxbatch.client.call_books`) and tallied per item by
  the context's :class:`~voxbatch.ledger.items.TallyingSink`, which the budget and progress listen to; a worker's
  records travel back with its unit's result and are tallied here.

How each step runs (directly, as a Prefect task run, on a Dask worker) is the :class:`Steps` given to the kernel;
the lifecycle never changes with it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

from voxbatch.client.limits import Unit
from voxbatch.ledger.record import CallStatus
from voxbatch.plural import counted
from voxbatch.pricing import PriceTable, load_price_table
from voxbatch.run.budget import Budget
from voxbatch.run.catalog import Catalog
from voxbatch.run.catalog_source import load_catalog
from voxbatch.run.context import DOWNLOADS_DIR_NAME, RunContext, open_run
from voxbatch.run.endpoint import SecretResolver
from voxbatch.run.estimate import ItemEstimate, estimate_report
from voxbatch.run.finished_run import endpoint_description, record_finished_run
from voxbatch.run.progress import RunProgress
from voxbatch.run.report import ItemResult, ItemStatus, RunReport
from voxbatch.run.shutdown import RunStopped, current_stop
from voxbatch.run.spec import RunSpec

RowT = TypeVar("RowT", contravariant=True)
PlanT = TypeVar("PlanT")
WorkT = TypeVar("WorkT")


class Outcome(Protocol):
    """What became of one chunk of a unit of work."""

    @property
    def index(self) -> int: ...
    @property
    def error(self) -> str | None: ...
    @property
    def from_cache(self) -> bool: ...


@dataclass(frozen=True)
class PlanPlace:
    """What a plan depends on besides its row: the endpoint (cache keys) and where downloads go."""

    endpoint_id: str
    downloads: Path
    cache_root: Path


@dataclass(frozen=True)
class Planned(Generic[PlanT]):
    """A planned item: its plan, or its outputs already made for exactly these inputs, or why it cannot run."""

    plan: PlanT | None = None
    finished: ItemResult | None = None  # status "skipped"
    row_error: str | None = None  # listed with the run's row errors as well


class Pipeline(Protocol[RowT, PlanT, WorkT]):
    """The steps in which the audiobook and transcript pipelines differ. Must pickle (it travels to workers)."""

    @property
    def out_dir(self) -> Path: ...  # where the finished items go
    @property
    def kind(self) -> str: ...  # the item record's kind in the ledger: "audiobook" | "transcript"
    @property
    def flow(self) -> str: ...  # the run's name: "audiobook" | "transcripts"
    @property
    def unit(self) -> Unit: ...  # what its calls are paced and priced by
    @property
    def noun(self) -> str: ...  # "book" | "file", for log lines
    @property
    def items_in_flight(self) -> int | None: ...  # items between plan and record at once (None: all)

    def item_id(self, row: RowT) -> str: ...
    def describe(self, row: RowT) -> tuple[str | None, str | None]: ...  # model, voice (for the ledger)
    def fit(
        self, row: RowT, catalog: Catalog
    ) -> Any: ...  # the row (same type) with the catalog's defaults where it has none
    def check(self, row: RowT, catalog: Catalog) -> list[str]: ...  # its row errors against the provider's catalog
    def plan(self, row: RowT, place: PlanPlace) -> Planned[PlanT]: ...  # may block: run in a thread
    def plan_failure(self, row: RowT, exc: Exception) -> str: ...
    def chunks(self, plan: PlanT) -> int: ...
    def estimate(self, plan: PlanT, cache_root: Path, prices: PriceTable) -> ItemEstimate: ...
    def work(self, plan: PlanT) -> Sequence[WorkT]: ...  # its units: one task run each
    def work_label(self, work: WorkT) -> str: ...  # e.g. "synthesize-alice-chapter-3" (task-run names)
    def work_chunks(self, work: WorkT) -> int: ...  # chunks in the unit (bounds a worker's shared-rate lease)
    async def execute(self, ctx: RunContext, work: WorkT) -> list[Any]: ...  # the unit's chunk outcomes
    def failed(self, work: WorkT, reason: str) -> list[Any]: ...  # every chunk of the unit failed so
    async def assemble(self, plan: PlanT, outcomes: list[Any]) -> ItemResult: ...  # status "ok"


async def run_unit(pipeline: Pipeline[Any, Any, WorkT], ctx: RunContext, work: WorkT) -> list[Any]:
    """One unit of work in whichever process runs it; never raises: a failure is every chunk's outcome."""
    try:
        return await pipeline.execute(ctx, work)
    except RunStopped as exc:
        return pipeline.failed(work, str(exc))
    except Exception as exc:  # whatever happens, the calls already paid for are in the context's records
        return pipeline.failed(work, f"{type(exc).__name__}: {exc}")


class Steps(Protocol):
    """How the kernel runs a pipeline's steps: directly, as Prefect task runs, or with units on Dask workers."""

    async def plan(self, pipeline: Pipeline[Any, Any, Any], row: Any, place: PlanPlace) -> Planned[Any]: ...
    async def execute(self, pipeline: Pipeline[Any, Any, Any], ctx: RunContext, work: Any, item_id: str) -> list[Any]:
        """A unit's outcomes; its calls are tallied in ``ctx`` (wherever they were made)."""
        ...

    async def assemble(
        self, pipeline: Pipeline[Any, Any, Any], plan: Any, outcomes: list[Any], item_id: str
    ) -> ItemResult: ...
    def lost(self, item_id: str) -> None:
        """A unit's process vanished: what it spent is unknown (the budget keeps its reservation)."""
        ...


class DirectSteps:
    """Every step called here, in this process (plain Python; the tests' and the library's default)."""

    async def plan(self, pipeline: Pipeline[Any, Any, Any], row: Any, place: PlanPlace) -> Planned[Any]:
        return await asyncio.to_thread(pipeline.plan, row, place)

    async def execute(self, pipeline: Pipeline[Any, Any, Any], ctx: RunContext, work: Any, item_id: str) -> list[Any]:
        return await run_unit(pipeline, ctx, work)

    async def assemble(
        self, pipeline: Pipeline[Any, Any, Any], plan: Any, outcomes: list[Any], item_id: str
    ) -> ItemResult:
        return await pipeline.assemble(plan, outcomes)

    def lost(self, item_id: str) -> None:
        return None


StepsFor = Callable[[RunContext, Budget | None], AbstractAsyncContextManager[Steps]]


@asynccontextmanager
async def _direct(ctx: RunContext, budget: Budget | None) -> AsyncIterator[Steps]:
    yield DirectSteps()


@dataclass
class Kernel:
    """Runs one pipeline's rows: :meth:`run` for real, :meth:`dry_run` to plan and price only."""

    pipeline: Pipeline[Any, Any, Any]
    spec: RunSpec
    out_dir: Path
    steps_for: StepsFor = _direct  # the steps for the opened run (the Prefect layer's: task runs, a cluster)
    progress: RunProgress | None = None
    logger: logging.Logger | logging.LoggerAdapter[Any] = field(default_factory=lambda: logging.getLogger(__name__))
    resolve_secret: SecretResolver | None = None
    notice: Callable[[str], None] = print

    async def dry_run(self, rows: Sequence[Any], row_errors: Sequence[str], steps: Steps | None = None) -> RunReport:
        """Plan, find what is finished and price the rest; nothing is called and no server is started."""
        started = time.perf_counter()
        report = RunReport(self.pipeline.flow, row_errors=list(row_errors))
        root = self.spec.cache_root(self.out_dir)
        rows, unfit = await self._checked(rows, ask=False)  # a copy of the catalog only: a dry run calls nothing
        report.row_errors += unfit
        place = PlanPlace(self.spec.endpoint_id(), (root / DOWNLOADS_DIR_NAME).resolve(), root)
        steps = steps or DirectSteps()
        outcomes = await asyncio.gather(*(self._plan(steps, row, place) for row in rows))
        prices = load_price_table()
        estimates, finished = [], []
        for planned in outcomes:
            if planned.row_error is not None:
                report.row_errors.append(planned.row_error)
            elif planned.finished is not None:
                finished.append(planned.finished.item_id)
            elif planned.plan is not None:
                estimates.append(self.pipeline.estimate(planned.plan, root, prices))
        report.estimate = estimate_report(estimates, self.spec, finished)
        report.wall_s = round(time.perf_counter() - started, 2)
        return report

    async def finished_run(self, rows: Sequence[Any], row_errors: Sequence[str]) -> RunReport | None:
        """The run when every row's item is already finished for exactly these inputs (the "finished?" step
        :meth:`run` takes, in this process), each recorded ``skipped`` in the ledger as :meth:`run` records it;
        nothing is started or called. None, with nothing written, when a row has work or a row error, or the rows
        cannot be checked against the provider's catalog without asking it: then :meth:`run` must run. Rows are
        planned one at a time in input order, and the check stops at the first that has work."""
        started, begun = time.perf_counter(), datetime.now(UTC)
        unchecked: list[str] = []  # the catalog would have to be fetched: the run's own check may refuse a row
        kept, unfit = await self._checked(rows, ask=False, warn=unchecked.append)
        if not rows or row_errors or unfit or unchecked:
            return None
        root = self.spec.cache_root(self.out_dir)
        place = PlanPlace(self.spec.endpoint_id(), (root / DOWNLOADS_DIR_NAME).resolve(), root)
        finished = []
        for row in kept:
            t0 = time.perf_counter()
            planned = await self._plan(DirectSteps(), row, place)
            if planned.finished is None:
                return None
            finished.append((row, replace(planned.finished, wall_s=round(time.perf_counter() - t0, 2))))
        ledger = self.spec.ledger_root(self.out_dir).resolve()
        report = RunReport(self.pipeline.flow, items={r.item_id: r for _, r in finished}, ledger=str(ledger))
        report.run_id = record_finished_run(self.spec, self.pipeline, ledger, finished, begun)
        report.endpoint = endpoint_description(self.spec)
        report.wall_s = round(time.perf_counter() - started, 2)
        return report

    async def _checked(
        self, rows: Sequence[Any], *, ask: bool, warn: Callable[[str], None] | None = None
    ) -> tuple[list[Any], list[str]]:
        """The rows the provider's catalog accepts, and the others' row errors (nothing of theirs is planned or
        paid). With no catalog to be had (``warn``-ed, by default to the log, by :func:`load_catalog`), every row."""
        root = self.spec.cache_root(self.out_dir)
        catalog = await load_catalog(
            self.spec, root, ask=ask, resolve_secret=self.resolve_secret, warn=warn or self.logger.warning
        )
        if catalog is None:
            return list(rows), []
        kept, errors = [], []
        for row in (self.pipeline.fit(row, catalog) for row in rows):
            problems = self.pipeline.check(row, catalog)
            errors += problems
            if not problems:
                kept.append(row)
        return kept, errors

    async def _plan(self, steps: Steps, row: Any, place: PlanPlace) -> Planned[Any]:
        try:
            return await steps.plan(self.pipeline, row, place)
        except Exception as exc:  # an item that cannot be planned fails alone
            return Planned(row_error=self.pipeline.plan_failure(row, exc))

    async def run(self, rows: Sequence[Any], row_errors: Sequence[str], max_cost_usd: float | None = None) -> RunReport:
        """Every row through the item lifecycle; one item's failure never stops the others."""
        started = time.perf_counter()
        pipeline = self.pipeline
        report = RunReport(pipeline.flow, row_errors=list(row_errors), budget_usd=max_cost_usd)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        rows, unfit = await self._checked(rows, ask=True)
        for error in unfit:
            self.logger.error("%s", error)
        report.row_errors += unfit
        report.items = {pipeline.item_id(row): ItemResult(pipeline.item_id(row)) for row in rows}  # input order
        budget = Budget(max_cost_usd) if max_cost_usd is not None else None
        async with open_run(
            self.spec,
            flow=pipeline.flow,
            unit=pipeline.unit,
            out_dir=self.out_dir,
            resolve_secret=self.resolve_secret,
            notice=self.notice,
        ) as ctx:
            if self.progress is not None:
                ctx.tally.listeners.append(self.progress.observe)
                self.progress.add_items(len(rows))
            if budget is not None:
                ctx.tally.listeners.append(budget.observe)
            report.run_id, report.endpoint = ctx.run_id, ctx.endpoint.description
            async with self.steps_for(ctx, budget) as steps:
                life = _ItemLife(self, ctx, steps, budget, report, len(rows))
                await asyncio.gather(*(life.live(i, row) for i, row in enumerate(rows)))
                report.workers = getattr(steps, "worker_use", None)
            for item, result in report.items.items():
                tally = ctx.tally.tally(item)
                report.items[item] = replace(
                    result,
                    cost_usd=tally.cost_usd,
                    requests=tally.attempts,
                    possibly_billed_usd=tally.possibly_billed_usd,  # timed out or cut off after sending
                )
        report.ledger = str(ctx.ledger.root)
        report.wall_s = round(time.perf_counter() - started, 2)
        return report


class _ItemLife:
    """The lifecycle of each item of one run (see the module docstring)."""

    def __init__(
        self, kernel: Kernel, ctx: RunContext, steps: Steps, budget: Budget | None, report: RunReport, count: int
    ) -> None:
        self.kernel, self.pipeline, self.ctx, self.steps = kernel, kernel.pipeline, ctx, steps
        self.budget, self.report, self.log = budget, report, kernel.logger
        self.stop = current_stop()
        self.gate = asyncio.Semaphore(self.pipeline.items_in_flight or max(count, 1))
        self.admitted = [asyncio.Event() for _ in range(count)]  # budget admissions go in input order
        self.place = PlanPlace(ctx.endpoint_id, ctx.downloads.resolve(), ctx.cache.root)  # workers may run elsewhere

    async def live(self, position: int, row: Any) -> None:
        async with self.gate:
            item_id = self.pipeline.item_id(row)
            begun, t0 = datetime.now(UTC), time.perf_counter()
            try:
                result = await self._live(position, row, item_id)
            finally:
                self.admitted[position].set()
            if self.budget is not None:
                self.budget.release(item_id)
            self._finish(row, replace(result, wall_s=round(time.perf_counter() - t0, 2)), begun, t0)

    def _finish(self, row: Any, result: ItemResult, begun: datetime, t0: float) -> None:
        self.report.items[result.item_id] = result
        model, voice = self.pipeline.describe(row)
        wall = time.perf_counter() - t0
        status = cast(CallStatus, result.status)  # a finished item is never "pending"
        error = result.error
        if status == "ok" and result.flags:  # made, but not as asked: the ledger says so, and why
            status, error = "flagged", "; ".join(result.flags)
        kind = self.pipeline.kind
        self.ctx.record_item(kind, result.item_id, model, voice, status, error, begun, wall, result.duration_s)
        if self.kernel.progress is not None:
            self.kernel.progress.item_done(failed=result.failed, item_id=result.item_id)

    def _stopped(self, item_id: str, error: str, chunks: int | None = None) -> ItemResult:
        return ItemResult(item_id, "stopped", error=f"{error}: {self.stop.reason}", chunks=chunks)

    async def _live(self, position: int, row: Any, item_id: str) -> ItemResult:
        noun = self.pipeline.noun
        if self.stop.requested:
            return self._stopped(item_id, "not started")
        try:
            planned = await self.kernel._plan(self.steps, row, self.place)
            if position and self.budget is not None:
                await self.admitted[position - 1].wait()
            if planned.row_error is not None:
                self.log.error("%s", planned.row_error)
                self.report.row_errors.append(planned.row_error)
                return ItemResult(item_id, "failed", error=planned.row_error)
            if planned.finished is not None:
                return planned.finished
            plan = planned.plan
            chunks = self.pipeline.chunks(plan)
            if self.kernel.progress is not None:
                self.kernel.progress.add_chunks(chunks, item_id=item_id)
            if self.budget is not None:
                estimate = self.pipeline.estimate(plan, self.ctx.cache.root, self.ctx.client.prices)
                admission = self.budget.admit(item_id, estimate.cost_usd)
                if not admission.admitted:
                    reason = f"not started under the budget cap: {admission.reason}"
                    self.log.warning("%s %s %s", noun, item_id, reason)
                    return ItemResult(item_id, "skipped_budget", error=reason, chunks=estimate.chunks)
        except Exception as exc:  # anything unforeseen before the work fails this item alone
            return self._unforeseen(item_id, exc, "could not be planned: ")
        finally:
            self.admitted[position].set()
        if self.stop.requested:
            return self._stopped(item_id, "not started", chunks)
        try:
            return await self._work(item_id, plan, chunks)
        except Exception as exc:  # anything unforeseen fails this item alone; its chunks stay cached
            return self._unforeseen(item_id, exc)

    def _unforeseen(self, item_id: str, exc: Exception, what: str = "") -> ItemResult:
        if not self.stop.requested:  # (once stopping, e.g. an encoder a terminal's Ctrl-C reached as well)
            self.log.exception("%s %s failed", self.pipeline.noun, item_id)
        status: ItemStatus = "stopped" if self.stop.requested else "failed"
        return ItemResult(item_id, status, error=f"{what}{type(exc).__name__}: {exc}")

    async def _work(self, item_id: str, plan: Any, chunks: int) -> ItemResult:
        units = self.pipeline.work(plan)
        batches = await asyncio.gather(*(self.steps.execute(self.pipeline, self.ctx, w, item_id) for w in units))
        outcomes = [o for batch in batches for o in batch]
        failures = [o for o in outcomes if o.error is not None]
        if self.stop.requested:  # every answer that arrived is cached; the re-run sends only the rest, then builds
            done = len(outcomes) - len(failures)
            done_of = f"{done} of {counted(len(outcomes), 'chunk')} done, not assembled"
            return self._stopped(item_id, done_of, len(outcomes))
        if failures:
            first = failures[0]
            failed = f"{len(failures)} of {counted(len(outcomes), 'chunk')} failed"
            reason = f"{failed}; first: chunk {first.index}: {first.error}"
            self.log.error("%s %s failed: %s", self.pipeline.noun, item_id, reason)
            return ItemResult(item_id, "failed", error=reason, chunks=len(outcomes))
        try:
            built = await self.steps.assemble(self.pipeline, plan, outcomes, item_id)
        except Exception as exc:  # an item whose outputs cannot be made fails alone; its chunks stay cached
            self.log.error("%s %s: outputs could not be written: %s", self.pipeline.noun, item_id, exc)
            status: ItemStatus = "stopped" if self.stop.requested else "failed"
            error = f"outputs could not be written: {type(exc).__name__}: {exc}"
            return ItemResult(item_id, status, error=error, chunks=len(outcomes))
        return replace(built, from_cache=sum(o.from_cache for o in outcomes))
