"""Assembling a finished book from its cached chunks: the audio file, chapters.json, its captions (.srt, .vtt) and
every word's time (``<id>.words.json``, :mod:`.timing`).

A book is skipped when its outputs exist and were built from the same chunks, metadata and options
(recorded in ``<id>.build.json``, written last), unless it was flagged (a chunk still bad after its repeats, see
:mod:`.verify`): a flagged book is tried again. A manuscript's own cover (an EPUB's cover image), used when the
row names no ``cover_path``, is written beside the book as ``<id>.cover.jpg`` (or ``.png``) and embedded from there.
With ``loudness_chart``, ``<id>.loudness.png`` shows the book's level along its length, collected while it was
encoded (no decode); it is an extra: a chart that cannot be drawn is logged and the book is finished without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

from voxbatch.atomic import write_bytes_atomic, write_text_atomic
from voxbatch.audio.loudness_series import LoudnessCollector
from voxbatch.audio.stitch import (
    AudioFormat,
    BookMeta,
    Piece,
    StitchOptions,
    StitchResult,
    stitch_book,
    write_chapters_json,
)
from voxbatch.cache import chunk_key
from voxbatch.pipelines.audiobook.build_record import build_record_path
from voxbatch.pipelines.audiobook.plan import BookPlan
from voxbatch.pipelines.audiobook.readalong import readalong_missing, write_book_readalong
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome
from voxbatch.pipelines.audiobook.timing import write_timed_sidecars

logger = logging.getLogger(__name__)

BUILD_VERSION = 1


@dataclass(frozen=True)
class BookOutputs:
    """Where a book's files go."""

    audio: Path
    chapters: Path
    srt: Path
    build: Path
    vtt: Path
    words: Path
    audit: Path
    loudness: Path  # the loudness chart, when one is drawn

    @classmethod
    def for_book(cls, out_dir: Path, item_id: str, audio_format: str) -> BookOutputs:
        return cls(
            audio=out_dir / f"{item_id}.{audio_format}",
            chapters=out_dir / f"{item_id}.chapters.json",
            srt=out_dir / f"{item_id}.srt",
            build=build_record_path(out_dir, item_id),
            vtt=out_dir / f"{item_id}.vtt",
            words=out_dir / f"{item_id}.words.json",
            audit=out_dir / f"{item_id}.audit.json",
            loudness=out_dir / f"{item_id}.loudness.png",
        )


@dataclass(frozen=True)
class AssembledBook:
    """A finished (or skipped, already finished) book."""

    item_id: str
    outputs: BookOutputs
    duration_s: float
    chapters: int
    skipped: bool
    loudness_chart: Path | None = None  # drawn by this assembly


def stitch_options(plan: BookPlan) -> StitchOptions:
    """The stitch of ``plan``: its format and rate, and its own pauses (the book's options, a pause tag before its
    words)."""
    default = StitchOptions()
    pauses = plan.row.markup.pauses
    lead_in_s = plan.chunked.pause_before_s
    return StitchOptions(
        audio_format=cast(AudioFormat, plan.row.audio_format),
        sample_rate_hz=plan.sample_rate_hz,
        sentence_pause_s=default.sentence_pause_s if pauses.sentence_s is None else pauses.sentence_s,
        paragraph_pause_s=default.paragraph_pause_s if pauses.paragraph_s is None else pauses.paragraph_s,
        chapter_pause_s=default.chapter_pause_s if pauses.chapter_s is None else pauses.chapter_s,
        lead_in_s=default.lead_in_s if lead_in_s is None else lead_in_s,
    )


def _file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _cover_sha256(plan: BookPlan) -> str | None:
    row = plan.row
    if row.cover_path is not None:
        return _file_sha256(row.cover_path)  # a new image at the same path counts
    if row.embedded_cover is not None:
        return hashlib.sha256(row.embedded_cover.data).hexdigest()
    return None


def build_key(plan: BookPlan, opts: StitchOptions) -> str:
    """What the outputs depend on: every chunk's audio, the metadata and the stitching options."""
    row = plan.row
    tagged = [(number, job.chunk.pause_s) for number, job in enumerate(plan.jobs) if job.chunk.pause_s is not None]
    return chunk_key(
        build=BUILD_VERSION,
        chunks=[job.key for job in plan.jobs],
        title=row.title,
        author=row.author,
        cover=_cover_sha256(plan),
        options=asdict(opts),
        **({"pauses": tagged} if tagged else {}),  # pause tags; absent without them, so older builds still match
    )


def cover_file(plan: BookPlan, out_dir: Path) -> Path | None:
    """The image to embed: the row's ``cover_path``, else the manuscript's own cover written beside the book."""
    row = plan.row
    if row.cover_path is not None or row.embedded_cover is None:
        return row.cover_path
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_bytes_atomic(out_dir / f"{row.id}.cover{row.embedded_cover.suffix}", row.embedded_cover.data)


def already_built(plan: BookPlan, out_dir: Path) -> AssembledBook | None:
    """The finished book when its outputs exist for exactly these inputs."""
    opts = stitch_options(plan)
    outputs = BookOutputs.for_book(out_dir, plan.row.id, plan.row.audio_format)
    try:
        build = json.loads(outputs.build.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if (
        build.get("key") != build_key(plan, opts)
        or build.get("flagged")
        or not all(p.is_file() for p in (outputs.audio, outputs.chapters, outputs.srt, outputs.vtt, outputs.words))
    ):
        return None
    if readalong_missing(plan, out_dir):  # asked for after the book was made: make it again, from the cache
        return None
    return AssembledBook(plan.row.id, outputs, float(build["duration_s"]), int(build["chapters"]), skipped=True)


def assemble_book(
    plan: BookPlan, outcomes: Sequence[ChunkOutcome], out_dir: Path, *, loudness_chart: bool = False
) -> AssembledBook:
    """Stitch the book from its chunks (all of which must have succeeded) and write its sidecars (and, with
    ``loudness_chart``, its loudness chart)."""
    by_index = {o.chunk_index: o for o in outcomes}
    chapters = plan.chunked.chapters
    pieces = []
    for job in plan.jobs:
        outcome = by_index[job.chunk.index]
        assert outcome.chunk is not None, f"chunk {job.chunk.index} of {plan.row.id} has no audio"
        pieces.append(
            Piece(
                pcm_path=outcome.chunk.pcm_path,
                pause_after=job.chunk.pause_after,
                chapter_index=job.chunk.chapter_index,
                text=job.chunk.caption,
                chapter_title=chapters[job.chunk.chapter_index].title,
                pause_s=job.chunk.pause_s,
                sample_rate_hz=outcome.chunk.sample_rate_hz,
                levels_path=outcome.chunk.levels_path,
            )
        )
    opts = stitch_options(plan)
    outputs = BookOutputs.for_book(out_dir, plan.row.id, plan.row.audio_format)
    meta = BookMeta(title=plan.row.title, author=plan.row.author, cover_path=cover_file(plan, out_dir))
    levels = LoudnessCollector(opts.sample_rate_hz) if loudness_chart else None
    result: StitchResult = stitch_book(
        pieces, outputs.audio, meta, opts, on_pcm=None if levels is None else levels.add_at
    )
    write_chapters_json(result, outputs.chapters)
    write_timed_sidecars(plan, outcomes, result, opts, outputs.srt, outputs.vtt, outputs.words)
    write_book_readalong(plan, outputs.audio, outputs.chapters, meta.cover_path)  # after words.json
    chart = None if levels is None else _draw_loudness(levels, result, opts, plan, outputs.loudness)
    if chart is None:
        outputs.loudness.unlink(missing_ok=True)  # an older build's chart does not describe this book
    build = {"key": build_key(plan, opts), "duration_s": result.duration_s, "chapters": len(result.chapters)}
    flagged = sum(o.check is not None and o.check.flagged for o in outcomes)
    if flagged:
        build["flagged"] = flagged  # not finished: the next run tries its bad chunks again
    write_text_atomic(outputs.build, json.dumps(build))
    return AssembledBook(plan.row.id, outputs, result.duration_s, len(result.chapters), False, chart)


def _draw_loudness(
    levels: LoudnessCollector, result: StitchResult, opts: StitchOptions, plan: BookPlan, path: Path
) -> Path | None:
    """The book's loudness chart at ``path``, or None (logged) when it cannot be drawn or written."""
    from voxbatch.charts.loudness_chart import write_loudness_chart

    normalized = opts.normalize_loudness
    series = levels.series(
        [(chapter.title, chapter.start_s) for chapter in result.chapters],
        target_rms_dbfs=opts.target_rms_dbfs if normalized else None,
        peak_ceiling_dbfs=opts.peak_ceiling_dbfs if normalized else None,
    )
    try:
        return write_loudness_chart(series, path, f"{plan.row.title} ({plan.row.id}): level along the book")
    except Exception as exc:  # the book is finished; its chart is an extra
        logger.warning("book %s: loudness chart not written to %s: %s", plan.row.id, path, exc)
        return None
