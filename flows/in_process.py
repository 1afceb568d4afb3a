"""What ``voxbatch tts|stt`` settles in its own process, with no server of any kind: the dry run, and a run with
nothing left to do. Each ends the command; otherwise the command goes on to start the flow run.

- The dry run (``--dry-run``): the kernel's lifecycle with execution off (:func:`flows.run_command.dry_run`).
- A run whose every item is already finished for exactly its inputs: before anything starts (the embedded audio
  server, a Prefect API, a flow run) the command asks. First cheaply, from the items' ids alone: an item whose
  done marker is not on disk (a book's build record, a recording's done marker) has work, and the run starts at
  once. Else with the kernel's own "finished?" step (:meth:`voxbatch.run.kernel.Kernel.finished_run`, the flow's
  planning in this process: manuscripts read and chunked, recordings hashed), so an edited manuscript, another
  voice or other options are work exactly as in the flow. When every item is finished the command prints the
  usual summary (each item ``skipped``, $0), records the items in the ledger as a run does, and exits 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer

from flows import run_command

Rows = tuple[list[Any], list[Any]]  # valid rows, row errors


def finish_if_done(
    markers: Sequence[Path] | None, pipeline: Callable[[], Any], rows: Callable[[], Rows], spec: Any
) -> None:
    """End the command (exit 0) if every item is finished; return when there is work (or it cannot be known
    without the flow). ``markers``: every item's done marker (None: the items are not known cheaply)."""
    if not markers or not all(marker.is_file() for marker in markers):
        return
    import asyncio

    from voxbatch.run.kernel import Kernel

    made = pipeline()
    found, errors = rows()
    report = asyncio.run(Kernel(made, spec, made.out_dir).finished_run(found, [str(e) for e in errors]))
    if report is None:
        return
    run_command.finish(report)
    raise typer.Exit(code=0)


def books_if_done(manifest: Path, out: Path, spec: Any, rows: Callable[[], Rows]) -> None:
    """``voxbatch tts``: end here when every book of ``manifest`` is built for exactly its inputs."""
    from voxbatch.manifest.table import table_ids
    from voxbatch.pipelines.audiobook.build_record import build_record_path

    ids = table_ids(manifest)

    def pipeline() -> Any:
        from voxbatch.pipelines.audiobook.pipeline import AudiobookPipeline

        return AudiobookPipeline(out)

    finish_if_done(None if ids is None else [build_record_path(out, i) for i in ids], pipeline, rows, spec)


def transcripts(
    source: Path,
    out: Path,
    defaults: Any,
    allowed: list[str],
    formats: str,
    split: Any,
    max_upload_bytes: int,
    spec: Any,
    dry_run: bool,
) -> None:
    """``voxbatch stt``: the dry run, or the end when every recording is transcribed for exactly its options."""
    from voxbatch.manifest.stt import load_stt_inputs
    from voxbatch.pipelines.transcript.outputs import marker_path, parse_formats

    found, errors = load_stt_inputs(source, defaults, allowed)

    def pipeline() -> Any:
        from voxbatch.pipelines.transcript.pipeline import TranscriptPipeline

        return TranscriptPipeline(out, parse_formats(formats), split=split, max_upload_bytes=max_upload_bytes)

    if dry_run:
        run_command.finish(run_command.dry_run(pipeline(), found, errors, spec))
    markers = None if errors else [marker_path(out, row.id) for row in found]
    finish_if_done(markers, pipeline, lambda: (found, errors), spec)
