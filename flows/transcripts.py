"""The transcript flow: a manifest or folder of recordings in, timed transcripts per recording out.

Orchestration only: every step is a task from ``tasks.transcripts``. Files are prepared and transcribed
concurrently (at most ``max_files_in_flight`` at a time) on the flow's event loop, all chunks through one
client and one rate limiter. A file that cannot be read, or whose chunk still fails after the client's
retries, fails alone; the others finish, and each finished file's outputs are written as soon as it is done.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from tasks.transcripts import (
    RunSettings,
    SttDefaults,
    assemble,
    load_inputs,
    prepare,
    record_file,
    run_resources,
    transcribe,
)
from voxbatch.manifest.stt import AudioRow
from voxbatch.transcript.captions import CaptionOptions
from voxbatch.transcript.outputs import parse_formats
from voxbatch.transcript.prepare import PROVIDER_UPLOAD_LIMIT_BYTES, PrepareOptions
from voxbatch.transcript.split import SplitOptions

DEFAULT_OUT_DIR = "out/transcripts"
DEFAULT_FORMATS = "txt,srt,vtt,json"
DEFAULT_MAX_FILES_IN_FLIGHT = 8


@flow(name="transcripts")
async def transcript_flow(
    source: str,
    out_dir: str = DEFAULT_OUT_DIR,
    defaults: SttDefaults | None = None,
    formats: str = DEFAULT_FORMATS,
    split: SplitOptions | None = None,
    captions: CaptionOptions | None = None,
    max_upload_bytes: int = PROVIDER_UPLOAD_LIMIT_BYTES,
    max_files_in_flight: int = DEFAULT_MAX_FILES_IN_FLIGHT,
    settings: RunSettings | None = None,
) -> dict[str, Any]:
    """Transcribe every recording of ``source`` (a CSV/Parquet manifest or a folder) into ``out_dir``."""
    logger = get_run_logger()
    started = time.perf_counter()
    chosen = parse_formats(formats)
    rows, row_errors = load_inputs(source, defaults or SttDefaults())
    for error in row_errors:
        logger.error("%s: %s (row skipped)", source, error)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"files": {}, "row_errors": [str(e) for e in row_errors]}
    async with run_resources("transcripts", out, settings or RunSettings(), "audio_s", notice=logger.warning) as res:
        report["run_id"] = res.run_id
        report["endpoint"] = res.endpoint.description
        options = PrepareOptions(
            endpoint_id=res.endpoint_id,
            download_dir=res.downloads,
            out_dir=out,
            formats=chosen,
            split=split or SplitOptions(),
            max_upload_bytes=max_upload_bytes,
        )
        gate = asyncio.Semaphore(max_files_in_flight)

        async def one_file(row: AudioRow) -> None:
            async with gate:
                begun, t0 = datetime.now(UTC), time.perf_counter()

                def finish(status: Any, entry: dict[str, Any], audio_s: float | None) -> None:
                    report["files"][row.id] = {"status": status, **entry}
                    record_file(
                        res, row.id, row.model, status, entry.get("error"), begun, time.perf_counter() - t0, audio_s
                    )

                prepared = await prepare(row, options)
                if prepared.error is not None:
                    logger.error("%s", prepared.error)
                    report["row_errors"].append(str(prepared.error))
                    finish("failed", {"error": str(prepared.error)}, None)
                    return
                if prepared.finished is not None:
                    done_before = prepared.finished
                    paths = {k: str(v) for k, v in done_before.paths.items()}
                    entry = {"paths": paths, "duration_s": round(done_before.duration_s, 2)}
                    finish("skipped", entry, done_before.duration_s)
                    return
                plan = prepared.plan
                assert plan is not None
                outcomes = await transcribe(res.client, res.transcripts, plan)
                failures = [o for o in outcomes if o.error is not None]
                if failures:
                    first = failures[0]
                    reason = f"{len(failures)} of {len(outcomes)} chunks failed; first: chunk {first.span.index}: "
                    reason += str(first.error)
                    logger.error("file %s failed: %s", row.id, reason)
                    finish("failed", {"error": reason}, None)
                    return
                try:
                    done = await assemble(plan, outcomes, out_dir, chosen, captions or CaptionOptions())
                except Exception as exc:  # a file whose outputs cannot be made fails alone; its chunks stay cached
                    logger.error("file %s: outputs could not be written: %s", row.id, exc)
                    finish("failed", {"error": f"outputs could not be written: {type(exc).__name__}: {exc}"}, None)
                    return
                entry = {
                    "paths": {k: str(v) for k, v in done.paths.items()},
                    "duration_s": round(done.duration_s, 2),
                    "chunks": done.chunks,
                    "from_cache": sum(o.from_cache for o in outcomes),
                    "words": done.words,
                    "language": done.language,
                }
                finish("ok", entry, done.duration_s)

        await asyncio.gather(*(one_file(row) for row in rows))
        tallies = {row.id: res.tally.tally(row.id) for row in rows}
    for item, tally in tallies.items():
        report["files"][item]["cost_usd"] = tally.cost_usd
        report["files"][item]["requests"] = tally.attempts
    report["wall_s"] = round(time.perf_counter() - started, 2)
    report["ledger"] = str(res.ledger.root)
    return report
