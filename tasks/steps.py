"""The run kernel's steps as Prefect task runs on the flow's own event loop.

Granularity (measured, BENCHMARKS.md and prefect-notes.md): one task run per item for planning and assembly, and
one per *unit of work* for execution: a book's chapter (12 chapter task runs took 18.8 s where 377 chunk task runs
took 23.7 s for the same calls on Alice, and each task run keeps ~38 KB), a recording's whole file. Inside a unit
the calls run concurrently, paced by the run's one limiter. The lifecycle around these steps is
:mod:`voxbatch.run.kernel`'s; :class:`tasks.scale.dask.ClusterSteps` runs the units on Dask workers instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from voxbatch.manifest.errors import RowError
from voxbatch.manifest.stt import AudioRow, SttDefaults, load_stt_inputs
from voxbatch.manifest.tts import BookDefaults, BookRow, load_tts_manifest
from voxbatch.run.context import RunContext
from voxbatch.run.kernel import Pipeline, Planned, PlanPlace, run_unit
from voxbatch.run.report import ItemResult, WorkerUse


@task(name="load-tts-manifest", cache_policy=NO_CACHE)
def load_tts_rows(
    path: str, defaults: BookDefaults, allowed: list[str] | None = None
) -> tuple[list[BookRow], list[RowError]]:
    """Every valid row and every row error of the manifest (paths may lead into ``allowed`` folders too)."""
    return load_tts_manifest(Path(path), defaults, allowed or ())


@task(name="load-stt-inputs", cache_policy=NO_CACHE)
def load_stt_rows(
    source: str, defaults: SttDefaults, allowed: list[str] | None = None
) -> tuple[list[AudioRow], list[RowError]]:
    """Every input of a manifest or folder, and every row error (paths may lead into ``allowed`` folders too)."""
    return load_stt_inputs(Path(source), defaults, allowed or ())


@task(name="plan", cache_policy=NO_CACHE, task_run_name="plan-{item_id}")
async def plan_item(pipeline: Pipeline[Any, Any, Any], row: Any, place: PlanPlace, item_id: str) -> Planned[Any]:
    """Plan one item (chunk a book; fetch, hash, probe and split a recording), in a thread."""
    return await asyncio.to_thread(pipeline.plan, row, place)


@task(name="execute", cache_policy=NO_CACHE, task_run_name="{label}")
async def execute_unit(pipeline: Pipeline[Any, Any, Any], ctx: RunContext, work: Any, label: str) -> list[Any]:
    """One unit of work (a chapter, a file) on the flow's event loop; cached chunks make no request."""
    return await run_unit(pipeline, ctx, work)


@task(name="assemble", cache_policy=NO_CACHE, task_run_name="assemble-{item_id}")
async def assemble_item(pipeline: Pipeline[Any, Any, Any], plan: Any, outcomes: list[Any], item_id: str) -> ItemResult:
    """Stitch and encode a book, or merge and write a recording's transcripts."""
    return await pipeline.assemble(plan, outcomes)


class TaskSteps:
    """The kernel's steps, each a Prefect task run in the flow's process."""

    worker_use: WorkerUse | None = None  # task runs in this process: no cluster

    async def plan(self, pipeline: Pipeline[Any, Any, Any], row: Any, place: PlanPlace) -> Planned[Any]:
        return await plan_item(pipeline, row, place, pipeline.item_id(row))

    async def execute(self, pipeline: Pipeline[Any, Any, Any], ctx: RunContext, work: Any, item_id: str) -> list[Any]:
        return await execute_unit(pipeline, ctx, work, pipeline.work_label(work))

    async def assemble(
        self, pipeline: Pipeline[Any, Any, Any], plan: Any, outcomes: list[Any], item_id: str
    ) -> ItemResult:
        return await assemble_item(pipeline, plan, outcomes, item_id)

    def lost(self, item_id: str) -> None:
        return None
