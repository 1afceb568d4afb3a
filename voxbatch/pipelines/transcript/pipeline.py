"""The transcript pipeline as the run kernel drives it: a recording in, its timed transcripts out.

What differs from audiobooks, and only that: a recording is planned by fetching, hashing, probing and splitting it
(:mod:`.prepare`), its unit of work is the whole file's chunks (cut in one streaming decode, :mod:`.transcribe`),
and it is assembled by merging the chunk transcripts and writing every format (:mod:`.assemble`). Everything else
(admission in input order, budget, stop, failure isolation, records) is :mod:`voxbatch.run.kernel`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voxbatch.cache import JsonCache
from voxbatch.client.limits import Unit
from voxbatch.manifest.stt import AudioRow
from voxbatch.pipelines.transcript.assemble import assemble_transcript
from voxbatch.pipelines.transcript.captions import CaptionOptions
from voxbatch.pipelines.transcript.prepare import PROVIDER_UPLOAD_LIMIT_BYTES, FilePlan, PrepareOptions, prepare_file
from voxbatch.pipelines.transcript.split import SplitOptions
from voxbatch.pipelines.transcript.transcribe import TRANSCRIPTS_CACHE_DIR, ChunkOutcome, transcribe_plan
from voxbatch.pricing import PriceTable
from voxbatch.run.catalog import Catalog
from voxbatch.run.context import RunContext
from voxbatch.run.estimate import ItemEstimate, item_estimate, stt_latency_s
from voxbatch.run.kernel import Planned, PlanPlace
from voxbatch.run.report import ItemResult

DEFAULT_MAX_FILES_IN_FLIGHT = 8  # files between preparing and writing at once (each holds a decode and chunks)


def file_estimate(plan: FilePlan, cache: JsonCache, prices: PriceTable) -> ItemEstimate:
    """The uncached chunks of a recording: audio seconds, cost and latency."""
    seconds = [
        plan.probe.duration_s if plan.whole else span.duration_s
        for span, key in zip(plan.spans, plan.chunk_keys, strict=True)
        if not cache.has(key)
    ]
    costs = [prices.cost_usd(plan.row.model, audio_seconds=s) for s in seconds]
    latencies = [stt_latency_s(s) for s in seconds]
    return item_estimate(plan.row.id, plan.row.model, "audio_s", len(plan.spans), seconds, costs, latencies)


@dataclass(frozen=True)
class TranscriptPipeline:
    """Recordings into ``out_dir/<id>.<format>`` for every chosen format."""

    out_dir: Path
    formats: tuple[str, ...]
    split: SplitOptions | None = None  # None: chosen for the endpoint (short chunks for the embedded recognizer)
    captions: CaptionOptions = field(default_factory=CaptionOptions)
    max_upload_bytes: int = PROVIDER_UPLOAD_LIMIT_BYTES
    items_in_flight: int | None = DEFAULT_MAX_FILES_IN_FLIGHT
    kind: str = "transcript"
    flow: str = "transcripts"
    unit: Unit = "audio_s"
    noun: str = "file"

    def __post_init__(self) -> None:
        if self.items_in_flight is not None and self.items_in_flight < 1:
            raise ValueError(f"max_files_in_flight must be at least 1, not {self.items_in_flight}")

    def item_id(self, row: AudioRow) -> str:
        return row.id

    def describe(self, row: AudioRow) -> tuple[str | None, str | None]:
        return row.model, None

    def fit(self, row: AudioRow, catalog: Catalog) -> AudioRow:
        return row  # a transcript row's model is always named (its default is the command's)

    def check(self, row: AudioRow, catalog: Catalog) -> list[str]:
        """The row's model against the provider's catalog (its language is checked when the manifest is read)."""
        problem = catalog.stt_problem(row.model)
        return [] if problem is None else [str(row.error("model", problem))]

    def plan(self, row: AudioRow, place: PlanPlace) -> Planned[FilePlan]:
        """Fetch (URLs), hash, find finished outputs, probe and split; a bad file is a row error."""
        options = PrepareOptions(
            endpoint_id=place.endpoint_id,
            download_dir=place.downloads,
            out_dir=self.out_dir,
            formats=self.formats,
            split=self.split,
            max_upload_bytes=self.max_upload_bytes,
        )
        prepared = prepare_file(row, options)
        if prepared.error is not None:
            return Planned(row_error=str(prepared.error))
        if prepared.finished is not None:
            was = prepared.finished
            paths = {k: str(v) for k, v in was.paths.items()}
            return Planned(finished=ItemResult(row.id, "skipped", paths=paths, duration_s=round(was.duration_s, 2)))
        return Planned(prepared.plan)

    def plan_failure(self, row: AudioRow, exc: Exception) -> str:
        return str(row.error("audio_path", f"could not be prepared: {type(exc).__name__}: {exc}"))

    def chunks(self, plan: FilePlan) -> int:
        return len(plan.spans)

    def estimate(self, plan: FilePlan, cache_root: Path, prices: PriceTable) -> ItemEstimate:
        return file_estimate(plan, JsonCache(cache_root / TRANSCRIPTS_CACHE_DIR), prices)

    def work(self, plan: FilePlan) -> Sequence[FilePlan]:
        return (plan,)  # one unit: a file's chunks come from one streaming decode

    def work_label(self, work: FilePlan) -> str:
        return f"transcribe-{work.row.id}"

    def work_chunks(self, work: FilePlan) -> int:
        return len(work.spans)

    async def execute(self, ctx: RunContext, work: FilePlan) -> list[ChunkOutcome]:
        """Every chunk of one file, concurrently; cached chunks make no request."""
        return await transcribe_plan(ctx.client, JsonCache(ctx.cache.root / TRANSCRIPTS_CACHE_DIR), work)

    def failed(self, work: FilePlan, reason: str) -> list[ChunkOutcome]:
        return [ChunkOutcome(span, None, reason) for span in work.spans]

    async def assemble(self, plan: FilePlan, outcomes: list[ChunkOutcome]) -> ItemResult:
        """Merge the chunks and write the file's transcripts atomically (in a thread)."""
        done = await asyncio.to_thread(assemble_transcript, plan, outcomes, self.out_dir, self.formats, self.captions)
        return ItemResult(
            plan.row.id,
            "ok",
            paths={k: str(v) for k, v in done.paths.items()},
            duration_s=round(done.duration_s, 2),
            chunks=done.chunks,
            words=done.words,
            language=done.language,
        )
