"""The transcript flow: a manifest or folder of recordings in, timed transcripts per recording out.

Wiring only: the inputs are loaded, and :class:`~voxbatch.pipelines.transcript.pipeline.TranscriptPipeline` is
handed to the run kernel (:mod:`voxbatch.run.kernel`, through :func:`tasks.run.run_pipeline`). Files are prepared
and transcribed concurrently (at most ``max_files_in_flight`` at a time), all chunks through one client and one
rate limiter (or on Dask workers with ``scale_out``). A file that cannot be read, or whose chunk still fails after
the client's retries, fails alone; the others finish, and each finished file's outputs are written as soon as it
is done. With ``dry_run`` the files are probed, split and priced, and nothing is called. With ``max_cost_usd``
files are admitted in input order while their price (uncached chunks) fits in what the cap has left; the others
are recorded as ``skipped_budget`` for a later run.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from tasks.run import flow_run_name, run_pipeline
from tasks.scale.dask import ScaleOut
from tasks.steps import load_stt_rows
from voxbatch.defaults import DEFAULT_TRANSCRIPT_FORMATS, DEFAULT_TRANSCRIPT_OUT_DIR, PROVIDER_UPLOAD_LIMIT_BYTES
from voxbatch.manifest.stt import SttDefaults
from voxbatch.pipelines.transcript.captions import CaptionOptions
from voxbatch.pipelines.transcript.outputs import parse_formats
from voxbatch.pipelines.transcript.pipeline import DEFAULT_MAX_FILES_IN_FLIGHT, TranscriptPipeline
from voxbatch.pipelines.transcript.split_options import SplitOptions
from voxbatch.run.report import RunReport
from voxbatch.run.spec import RunSpec


@flow(name="transcripts", flow_run_name=flow_run_name)  # "transcripts: inbox/ (2 items)"
async def transcript_flow(
    source: str,
    out_dir: str = DEFAULT_TRANSCRIPT_OUT_DIR,
    defaults: SttDefaults | None = None,
    formats: str = DEFAULT_TRANSCRIPT_FORMATS,
    split: SplitOptions | None = None,
    captions: CaptionOptions | None = None,
    max_upload_bytes: int = PROVIDER_UPLOAD_LIMIT_BYTES,
    max_files_in_flight: int = DEFAULT_MAX_FILES_IN_FLIGHT,
    spec: RunSpec | None = None,
    dry_run: bool = False,
    max_cost_usd: float | None = None,
    scale_out: ScaleOut | None = None,
    allow_paths: list[str] | None = None,
) -> RunReport:
    """Transcribe every recording of ``source`` (a CSV/Parquet manifest, a folder or one file) into ``out_dir``.

    Local paths must stay inside the manifest's folder (or the input folder) or inside one of ``allow_paths``.
    """
    pipeline = TranscriptPipeline(
        Path(out_dir),
        parse_formats(formats),
        split=split,
        captions=captions or CaptionOptions(),
        max_upload_bytes=max_upload_bytes,
        items_in_flight=max_files_in_flight,
    )
    rows, row_errors = load_stt_rows(source, defaults or SttDefaults(), allow_paths)
    return await run_pipeline(
        pipeline,
        rows,
        row_errors,
        source=source,
        spec=spec,
        dry_run=dry_run,
        max_cost_usd=max_cost_usd,
        scale_out=scale_out,
    )
