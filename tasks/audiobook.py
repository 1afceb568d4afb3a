"""Prefect tasks of the audiobook flow, each a thin wrapper over one plain step of ``voxbatch.pipelines.audiobook``.

Granularity: one task run per book for planning and assembly, and one per *chapter* for synthesis. Measured on
Alice (bench/bench_granularity.py, BENCHMARKS.md): 12 chapter task runs took 18.8 s where 377 chunk task runs
took 23.7 s for the same calls, and each task run also keeps ~38 KB for the run (prefect-notes.md). Per-book
synthesis would hide progress and serialize a book's chapters. Inside a chapter task the calls run
concurrently on the flow's event loop, paced by the run's one limiter.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.run_resources import RunResources, RunSettings, run_resources
from tasks.scale_out import Cluster, RemoteBatch, run_remote, worker_resources
from voxbatch.cache import ChunkCache
from voxbatch.client.client import SpeechClient
from voxbatch.manifest.errors import RowError
from voxbatch.manifest.tts import BookDefaults, BookRow, load_tts_manifest
from voxbatch.pipelines.audiobook.assemble import AssembledBook, already_built, assemble_book
from voxbatch.pipelines.audiobook.plan import BookPlan, ChunkJob, plan_book
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome, synthesize_batch
from voxbatch.pricing import load_price_table
from voxbatch.run.estimate import RunLimits, book_estimate, estimate_report
from voxbatch.worker_spec import WorkerSpec

__all__ = ["BookDefaults", "RunSettings", "run_resources"]


@task(name="load-tts-manifest", cache_policy=NO_CACHE)
def load_manifest(
    path: str, defaults: BookDefaults, allowed: list[str] | None = None
) -> tuple[list[BookRow], list[RowError]]:
    """Every valid row and every row error of the manifest (paths may lead into ``allowed`` folders too)."""
    return load_tts_manifest(Path(path), defaults, allowed or ())


@task(name="plan-book", cache_policy=NO_CACHE, task_run_name="plan-{row.id}")
def plan(row: BookRow, endpoint_id: str) -> BookPlan:
    """Normalize, find chapters, chunk, and key every chunk."""
    return plan_book(row, endpoint_id)


@task(name="find-finished-book", cache_policy=NO_CACHE, task_run_name="find-{book.row.id}")
def find_finished(book: BookPlan, out_dir: str) -> AssembledBook | None:
    """The book's outputs when they already exist for exactly these inputs."""
    return already_built(book, Path(out_dir))


@task(name="synthesize-chapter", cache_policy=NO_CACHE, task_run_name="synthesize-{item_id}-chapter-{chapter}")
async def synthesize_chapter(
    client: SpeechClient, cache: ChunkCache, jobs: tuple[ChunkJob, ...], item_id: str, chapter: int
) -> list[ChunkOutcome]:
    """Every chunk of one chapter, concurrently; cached chunks make no request."""
    return await synthesize_batch(client, cache, jobs)


@task(
    name="synthesize-chapter-on-worker", cache_policy=NO_CACHE, task_run_name="synthesize-{item_id}-chapter-{chapter}"
)
async def synthesize_chapter_on_worker(
    spec: WorkerSpec, jobs: tuple[ChunkJob, ...], item_id: str, chapter: int
) -> RemoteBatch:
    """The same chapter synthesis, in a worker process with its own client (paced by the shared limit)."""
    async with worker_resources(spec, expected_requests=len(jobs)) as worker:
        try:
            outcomes = await synthesize_batch(worker.client, worker.cache, jobs)
        except Exception as exc:  # whatever happens, the calls already paid for travel back with the result
            reason = f"{type(exc).__name__}: {exc}"
            outcomes = [ChunkOutcome(item_id, job.chunk.index, None, from_cache=False, error=reason) for job in jobs]
    return RemoteBatch(outcomes, tuple(worker.records), os.getpid())


async def synthesize_anywhere(
    res: RunResources, cluster: Cluster | None, jobs: tuple[ChunkJob, ...], item_id: str, chapter: int
) -> list[ChunkOutcome]:
    """One chapter on the flow's own loop, or on a cluster worker (its calls then tallied here as well)."""
    if cluster is None:
        return await synthesize_chapter(res.client, res.cache, jobs, item_id, chapter)
    parameters = {"spec": cluster.spec, "jobs": jobs, "item_id": item_id, "chapter": chapter}
    try:
        batch = await run_remote(cluster.runner, synthesize_chapter_on_worker, parameters)
    except Exception as exc:  # the worker died: its chunks fail, the run goes on, its spend counts as reserved
        cluster.lost(item_id)
        reason = f"worker task failed: {type(exc).__name__}: {exc}"
        return [ChunkOutcome(item_id, job.chunk.index, None, from_cache=False, error=reason) for job in jobs]
    cluster.absorb(batch, res)
    return list(batch.outcomes)


@task(name="assemble-book", cache_policy=NO_CACHE, task_run_name="assemble-{book.row.id}")
async def assemble(book: BookPlan, outcomes: list[ChunkOutcome], out_dir: str) -> AssembledBook:
    """Stitch, normalize and encode the book, with its chapters.json and .srt (off the event loop)."""
    return await asyncio.to_thread(assemble_book, book, outcomes, Path(out_dir))


@task(name="estimate-books", cache_policy=NO_CACHE)
def estimate_books(plans: list[BookPlan], cache: ChunkCache, settings: RunSettings, out_dir: str) -> dict[str, Any]:
    """The dry run: what the books not yet built would cost and take; nothing is called."""
    prices = load_price_table()
    todo = [book for book in plans if already_built(book, Path(out_dir)) is None]
    finished = [book.row.id for book in plans if book not in todo]
    limits = RunLimits(settings.requests_per_minute, settings.units_per_minute, settings.max_in_flight)
    return {"estimate": estimate_report([book_estimate(b, cache, prices) for b in todo], limits, finished)}
