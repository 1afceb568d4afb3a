"""The audiobook pipeline as the run kernel drives it: a manuscript row in, one finished audiobook out.

What differs from transcripts, and only that: a book is checked against the provider's catalog (model, voices,
sample rate, language), planned by chunking its text (:mod:`.plan`), its unit of
work is one chapter's chunks (synthesized concurrently, :mod:`.synthesize`, each checked and repeated while bad,
:mod:`.verify`), and it is assembled by stitching, normalizing and encoding (:mod:`.assemble`), with its audit report
``<id>.audit.json`` (:mod:`voxbatch.audit.report`). Everything else (admission, budget, stop, failure isolation,
records) is :mod:`voxbatch.run.kernel`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from voxbatch.audit.options import NO_AUDIT, AuditOptions
from voxbatch.audit.report import AuditedChunk, audit_document, flags, write_audit
from voxbatch.cache import ChunkCache
from voxbatch.client.limits import Unit
from voxbatch.manifest.errors import RowError
from voxbatch.manifest.tts import BookRow
from voxbatch.pipelines.audiobook.assemble import AssembledBook, BookOutputs, already_built, assemble_book
from voxbatch.pipelines.audiobook.estimate import book_estimate
from voxbatch.pipelines.audiobook.plan import BookPlan, ChunkJob, plan_book, speech_options
from voxbatch.pipelines.audiobook.speakers import book_voices
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome, synthesize_batch
from voxbatch.pipelines.audiobook.verify import ChunkChecks
from voxbatch.pricing import PriceTable
from voxbatch.run.catalog import Catalog
from voxbatch.run.context import RunContext
from voxbatch.run.estimate import ItemEstimate
from voxbatch.run.kernel import Planned, PlanPlace
from voxbatch.run.report import ItemResult
from voxbatch.text.chapter_selection import ChapterSelectionError
from voxbatch.text.voicing import NARRATOR_VOICE

Chapter = tuple[ChunkJob, ...]  # the unit of work: one chapter's chunks, one task run

__all__ = ["AudiobookPipeline", "Chapter", "book_estimate"]


def _skipped(item_id: str, built: AssembledBook) -> ItemResult:
    """A book whose outputs exist for exactly these inputs."""
    return ItemResult(item_id, "skipped", path=str(built.outputs.audio), duration_s=round(built.duration_s, 2))


@dataclass(frozen=True)
class AudiobookPipeline:
    """Books into ``out_dir/<id>.<format>`` plus chapters.json and .srt (and ``<id>.loudness.png``)."""

    out_dir: Path
    loudness_chart: bool = False  # draw <id>.loudness.png beside each book this run stitches
    kind: str = "audiobook"
    flow: str = "audiobook"
    unit: Unit = "chars"
    noun: str = "book"
    items_in_flight: int | None = None  # every book at once: the limiter paces their chunks
    audit: AuditOptions = NO_AUDIT  # whether chunks are heard back (their durations are always checked)

    def item_id(self, row: BookRow) -> str:
        return row.id

    def describe(self, row: BookRow) -> tuple[str | None, str | None]:
        return row.model, row.voice

    def fit(self, row: BookRow, catalog: Catalog) -> BookRow:
        """A row nobody named a voice for reads with its model's default voice in the catalog, when the one
        voxbatch knows (:func:`voxbatch.defaults.default_voice`) is not among the model's voices there."""
        entry = catalog.tts.get(row.model) if catalog.tts is not None else None
        if not row.voice_is_default or entry is None or entry.default_voice is None:
            return row
        return row if entry.voice_problem(row.voice) is None else replace(row, voice=entry.default_voice)

    def check(self, row: BookRow, catalog: Catalog) -> list[str]:
        """The row's model, voice, sample rate and language against the provider's catalog, and every other
        (model, voice) its markup reads with: the dialogue voice and the cast's, each at the book's one rate."""
        problems = catalog.tts_problems(row.model, row.voice, row.sample_rate_hz, row.language)
        unknown_model = any(column == "model" for column, _ in problems)
        voices = book_voices(row, speech_options(row))
        for label, speech in voices.speech.items():
            if label == NARRATOR_VOICE or (speech.model == row.model and unknown_model):
                continue  # the narrator's, or a voice of a model already refused
            # Every chunk is asked for at the book's rate: another model must answer at it too.
            rate = None if speech.model == row.model else speech.sample_rate_hz
            for column, reason in catalog.tts_problems(speech.model, speech.voice, rate, None):
                said = f" must read at the book's rate, but {reason}" if column == "sample_rate" else f": {reason}"
                problems += [(reader.column, reader.who + said) for reader in voices.readers[label]]
        return [str(RowError(row.row, column, reason, row.id)) for column, reason in problems]

    def plan(self, row: BookRow, place: PlanPlace) -> Planned[BookPlan]:
        """Normalize, find chapters, chunk and key every chunk; a book already built is finished."""
        try:
            book = plan_book(row, place.endpoint_id)
        except ChapterSelectionError as exc:  # the selection names chapters this book does not have
            return Planned(row_error=str(RowError(row.row, "chapters", str(exc), row.id)))
        built = already_built(book, self.out_dir)
        return Planned(book) if built is None else Planned(finished=_skipped(row.id, built))

    def plan_failure(self, row: BookRow, exc: Exception) -> str:
        return f"book {row.id}: could not chunk the text: {exc}"

    def chunks(self, plan: BookPlan) -> int:
        return len(plan.jobs)

    def estimate(self, plan: BookPlan, cache_root: Path, prices: PriceTable) -> ItemEstimate:
        return book_estimate(plan, ChunkCache(cache_root), prices, self.audit)

    def work(self, plan: BookPlan) -> Sequence[Chapter]:
        return plan.chapter_batches()

    def work_label(self, work: Chapter) -> str:
        return f"synthesize-{work[0].item_id}-chapter-{work[0].chunk.chapter_index}"

    def work_chunks(self, work: Chapter) -> int:
        return len(work)

    async def execute(self, ctx: RunContext, work: Chapter) -> list[ChunkOutcome]:
        """Every chunk of one chapter, concurrently, each checked (:mod:`.verify`); cached chunks make no request
        unless they are bad."""
        checks = ChunkChecks.for_run(ctx.client, ctx.cache, self.audit)
        return await synthesize_batch(ctx.client, ctx.cache, work, each=checks.chunk)

    def failed(self, work: Chapter, reason: str) -> list[ChunkOutcome]:
        return [ChunkOutcome(job.item_id, job.chunk.index, None, from_cache=False, error=reason) for job in work]

    async def assemble(self, plan: BookPlan, outcomes: list[ChunkOutcome]) -> ItemResult:
        """Write the audit report, then stitch, normalize and encode the book, with its chapters.json, captions and
        words.json (off the event loop); a chunk still bad after its repeats flags the book."""
        outputs = BookOutputs.for_book(self.out_dir, plan.row.id, plan.row.audio_format)
        checks = {o.chunk_index: o.check for o in outcomes if o.check is not None}
        audited = [
            AuditedChunk(job.chunk.index, job.chunk.chapter_index, checks[job.chunk.index])
            for job in plan.jobs
            if job.chunk.index in checks
        ]
        document = audit_document(plan.row.id, outputs.audio.name, audited, self.audit)
        await asyncio.to_thread(write_audit, outputs.audit, document)
        built = await asyncio.to_thread(assemble_book, plan, outcomes, self.out_dir, loudness_chart=self.loudness_chart)
        return ItemResult(
            plan.row.id,
            "ok",
            path=str(built.outputs.audio),
            paths=_paths(built.outputs, built.loudness_chart),
            duration_s=round(built.duration_s, 2),
            chapters=built.chapters,
            chunks=len(outcomes),
            flags=flags(audited, outputs.audit),
        )


def _paths(outputs: BookOutputs, loudness_chart: Path | None) -> dict[str, str]:
    """A book's outputs by kind (the loudness chart only when this build drew one)."""
    kinds = ("audio", "chapters", "srt", "vtt", "words", "audit")
    paths = {kind: str(getattr(outputs, kind)) for kind in kinds if getattr(outputs, kind).is_file()}
    return paths if loudness_chart is None else paths | {"loudness": str(loudness_chart)}
