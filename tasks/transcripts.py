"""Prefect tasks of the transcript flow, each a thin wrapper over one plain step of ``voxbatch.pipelines.transcript``.

Granularity: one task run per *file* for each step (prepare, transcribe, assemble, record). A file's chunks
are transcribed concurrently inside its one task run on the flow's event loop, paced by the run's one
limiter; a task run per chunk would add 4-7 ms and ~38 KB each (prefect-notes.md) for no gain in control,
and the audiobook measurement (BENCHMARKS.md) showed the coarser grain faster. CPU-bound steps (hashing,
probing, silence scans, encoding) run in threads so files prepare in parallel.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.run_resources import RunResources, RunSettings, run_resources
from tasks.scale_out import Cluster, RemoteBatch, run_remote, worker_resources
from voxbatch.cache import JsonCache
from voxbatch.client.client import SpeechClient
from voxbatch.manifest.errors import RowError
from voxbatch.manifest.stt import AudioRow, SttDefaults, load_stt_inputs
from voxbatch.pipelines.transcript.assemble import AssembledTranscript, assemble_transcript
from voxbatch.pipelines.transcript.captions import CaptionOptions
from voxbatch.pipelines.transcript.prepare import FilePlan, Prepared, PrepareOptions, prepare_file
from voxbatch.pipelines.transcript.transcribe import TRANSCRIPTS_CACHE_DIR, ChunkOutcome, transcribe_plan
from voxbatch.pricing import load_price_table
from voxbatch.run.estimate import RunLimits, estimate_report, file_estimate
from voxbatch.worker_spec import WorkerSpec

__all__ = ["RunSettings", "SttDefaults", "run_resources"]


@task(name="load-stt-inputs", cache_policy=NO_CACHE)
def load_inputs(
    source: str, defaults: SttDefaults, allowed: list[str] | None = None
) -> tuple[list[AudioRow], list[RowError]]:
    """Every input of a manifest or folder, and every row error (paths may lead into ``allowed`` folders too)."""
    return load_stt_inputs(Path(source), defaults, allowed or ())


@task(name="prepare-file", cache_policy=NO_CACHE, task_run_name="prepare-{row.id}")
async def prepare(row: AudioRow, options: PrepareOptions) -> Prepared:
    """Fetch, hash, skip-if-done, probe and plan the chunks of one file (in a thread)."""
    return await asyncio.to_thread(prepare_file, row, options)


@task(name="transcribe-file", cache_policy=NO_CACHE, task_run_name="transcribe-{plan.row.id}")
async def transcribe(client: SpeechClient, cache: JsonCache, plan: FilePlan) -> list[ChunkOutcome]:
    """Every chunk of one file, concurrently; cached chunks make no request."""
    return await transcribe_plan(client, cache, plan)


@task(name="transcribe-file-remote", cache_policy=NO_CACHE, task_run_name="transcribe-{plan.row.id}")
async def transcribe_on_worker(spec: WorkerSpec, plan: FilePlan) -> RemoteBatch:
    """The same file transcription, in a worker process with its own client (paced by the shared limit)."""
    async with worker_resources(spec, expected_requests=len(plan.spans)) as worker:
        cache = JsonCache(Path(spec.cache_dir) / TRANSCRIPTS_CACHE_DIR)
        try:
            outcomes = await transcribe_plan(worker.client, cache, plan)
        except Exception as exc:  # whatever happens, the calls already paid for travel back with the result
            outcomes = [ChunkOutcome(span, None, exc) for span in plan.spans]
    # Errors travel back as plain RuntimeErrors: an HTTP library's exception may not survive pickling.
    portable = [o if o.error is None else replace(o, error=RuntimeError(_describe(o.error))) for o in outcomes]
    return RemoteBatch(portable, tuple(worker.records), os.getpid())


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def transcribe_anywhere(
    res: RunResources, cluster: Cluster | None, cache: JsonCache, plan: FilePlan
) -> list[ChunkOutcome]:
    """One file's chunks on the flow's own loop, or on a cluster worker (its calls then tallied here as well)."""
    if cluster is None:
        return await transcribe(res.client, cache, plan)
    try:
        batch = await run_remote(cluster.runner, transcribe_on_worker, {"spec": cluster.spec, "plan": plan})
    except Exception as exc:  # the worker died: the file fails, the run goes on, its spend counts as reserved
        cluster.lost(plan.row.id)
        error = RuntimeError(f"worker task failed: {_describe(exc)}")
        return [ChunkOutcome(span, None, error) for span in plan.spans]
    cluster.absorb(batch, res)
    return list(batch.outcomes)


@task(name="assemble-transcript", cache_policy=NO_CACHE, task_run_name="assemble-{plan.row.id}")
async def assemble(
    plan: FilePlan, outcomes: list[ChunkOutcome], out_dir: str, formats: tuple[str, ...], captions: CaptionOptions
) -> AssembledTranscript:
    """Merge the chunks and write the file's transcripts atomically (in a thread)."""
    return await asyncio.to_thread(assemble_transcript, plan, outcomes, Path(out_dir), formats, captions)


@task(name="estimate-files", cache_policy=NO_CACHE)
def estimate_files(prepared: list[Prepared], cache: JsonCache, settings: RunSettings) -> dict[str, Any]:
    """The dry run: what the files not yet done would cost and take; nothing is called."""
    prices = load_price_table()
    plans = [p.plan for p in prepared if p.plan is not None]
    finished = [p.row.id for p in prepared if p.finished is not None]
    limits = RunLimits(settings.requests_per_minute, settings.units_per_minute, settings.max_in_flight)
    return {"estimate": estimate_report([file_estimate(p, cache, prices) for p in plans], limits, finished)}
