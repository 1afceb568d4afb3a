"""Turning a recording's chunk transcripts into its finished files: merge, render each format, write.

The ``.json`` carries, besides the merged transcript, where it came from (source, audio hash, probe) and
how it was made (model, task, options): enough to audit a transcript months later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from voxbatch.pipelines.transcript.captions import CaptionOptions, to_json, to_srt, to_text, to_vtt
from voxbatch.pipelines.transcript.fetch import public_source
from voxbatch.pipelines.transcript.merge import ChunkTranscript, MergedTranscript, merge_chunks
from voxbatch.pipelines.transcript.outputs import write_outputs
from voxbatch.pipelines.transcript.prepare import FilePlan
from voxbatch.pipelines.transcript.transcribe import ChunkOutcome


@dataclass(frozen=True)
class AssembledTranscript:
    """A finished recording: its files and a few figures for the summary."""

    paths: dict[str, Path]
    duration_s: float
    chunks: int
    words: int
    language: str | None


def provenance(plan: FilePlan) -> dict[str, Any]:
    row = plan.row
    return {
        "id": row.id,
        "source": public_source(row.source),
        "audio_sha256": plan.sha256,
        "model": row.model,
        "requested": {"task": row.task, "language": row.language, "prompt": row.prompt, "diarize": row.diarize},
        "probe": asdict(plan.probe),
    }


def render(
    merged: MergedTranscript, plan: FilePlan, formats: tuple[str, ...], captions: CaptionOptions
) -> dict[str, str]:
    """Each chosen format's text."""
    renderers = {
        "txt": lambda: to_text(merged),
        "srt": lambda: to_srt(merged, captions),
        "vtt": lambda: to_vtt(merged, captions),
        "json": lambda: to_json(merged, provenance(plan)),
    }
    return {fmt: renderers[fmt]() for fmt in formats}


def assemble_transcript(
    plan: FilePlan,
    outcomes: list[ChunkOutcome],
    out_dir: Path,
    formats: tuple[str, ...],
    captions: CaptionOptions | None = None,
) -> AssembledTranscript:
    """Merge every chunk's transcript and write the chosen formats (all chunks must have succeeded)."""
    parts = []
    for outcome in outcomes:
        if outcome.transcript is None:
            raise ValueError(f"chunk {outcome.span.index} has no transcript")
        parts.append(ChunkTranscript(outcome.span, outcome.transcript))
    merged = merge_chunks(parts, plan.duration_s)
    paths = write_outputs(
        out_dir,
        plan.row.id,
        render(merged, plan, formats, captions or CaptionOptions()),
        fingerprint=plan.fingerprint,
        duration_s=merged.duration_s,
        chunks=len(outcomes),
        extra={"audio_sha256": plan.sha256, "source": public_source(plan.row.source)},
    )
    return AssembledTranscript(paths, merged.duration_s, len(outcomes), len(merged.words), merged.language)
