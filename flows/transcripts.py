"""The transcript flow: a manifest or folder of recordings in, timed transcripts per recording out.

Orchestration only: every step is a task from ``tasks.transcripts``. Files are prepared and transcribed
concurrently (at most ``max_files_in_flight`` at a time) on the flow's event loop, all chunks through one
client and one rate limiter. A file that cannot be read, or whose chunk still fails after the client's
retries, fails alone; the others finish, and each finished file's outputs are written as soon as it is done.
With ``dry_run`` the files are probed, split and priced, and nothing is called. With ``max_cost_usd`` files
are admitted in input order while their price (uncached chunks) fits in what the cap has left; the others
are recorded as ``skipped_budget`` for a later run.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from tasks.items import record_item
from tasks.progress_artifact import publish_progress
from tasks.run_resources import cache_root, planned_endpoint_id
from tasks.run_summary import publish_summary
from tasks.scale_out import ScaleOut, open_cluster
from tasks.transcripts import (
    RunSettings,
    SttDefaults,
    assemble,
    estimate_files,
    load_inputs,
    prepare,
    run_resources,
    transcribe_anywhere,
)
from voxbatch.budget import Budget
from voxbatch.cache import JsonCache
from voxbatch.defaults import DEFAULT_TRANSCRIPT_FORMATS, DEFAULT_TRANSCRIPT_OUT_DIR, PROVIDER_UPLOAD_LIMIT_BYTES
from voxbatch.estimate import file_estimate
from voxbatch.manifest.stt import AudioRow
from voxbatch.progress import RunProgress
from voxbatch.progress_bar import TerminalBar
from voxbatch.shutdown import current_stop
from voxbatch.transcript.captions import CaptionOptions
from voxbatch.transcript.outputs import parse_formats
from voxbatch.transcript.prepare import PrepareOptions
from voxbatch.transcript.split_options import SplitOptions
from voxbatch.transcript.transcribe import TRANSCRIPTS_CACHE_DIR

DEFAULT_MAX_FILES_IN_FLIGHT = 8


@flow(name="transcripts")
async def transcript_flow(
    source: str,
    out_dir: str = DEFAULT_TRANSCRIPT_OUT_DIR,
    defaults: SttDefaults | None = None,
    formats: str = DEFAULT_TRANSCRIPT_FORMATS,
    split: SplitOptions | None = None,
    captions: CaptionOptions | None = None,
    max_upload_bytes: int = PROVIDER_UPLOAD_LIMIT_BYTES,
    max_files_in_flight: int = DEFAULT_MAX_FILES_IN_FLIGHT,
    settings: RunSettings | None = None,
    dry_run: bool = False,
    max_cost_usd: float | None = None,
    scale_out: ScaleOut | None = None,
    allow_paths: list[str] | None = None,
) -> dict[str, Any]:
    """Transcribe every recording of ``source`` (a CSV/Parquet manifest, a folder or one file) into ``out_dir``.

    Local paths must stay inside the manifest's folder (or the input folder) or inside one of ``allow_paths``.
    """
    logger = get_run_logger()
    started = time.perf_counter()
    stop = current_stop()  # SIGINT/SIGTERM: start no new file, chunk or assembly
    stop.rearm()  # Prefect's flow engine installs its own SIGTERM handler for the run; ours comes first
    settings = settings or RunSettings()
    chosen = parse_formats(formats)
    if max_files_in_flight < 1:
        raise ValueError(f"max_files_in_flight must be at least 1, not {max_files_in_flight}")
    rows, row_errors = load_inputs(source, defaults or SttDefaults(), allow_paths)
    for error in row_errors:
        logger.error("%s: %s (row skipped)", source, error)
    out = Path(out_dir)
    files: dict[str, Any] = {}
    report: dict[str, Any] = {"files": files, "items": files, "row_errors": [str(e) for e in row_errors]}
    report["budget_usd"] = max_cost_usd
    report["flow_run_id"] = str(flow_run.id) if flow_run.id else None

    def prepare_options(endpoint_id: str, downloads: Path) -> PrepareOptions:
        return PrepareOptions(
            endpoint_id=endpoint_id,
            download_dir=downloads,
            out_dir=out,
            formats=chosen,
            split=split,  # None: chosen for the endpoint (short chunks for the embedded recognizer)
            max_upload_bytes=max_upload_bytes,
        )

    if dry_run:
        root = cache_root(out, settings)
        options = prepare_options(planned_endpoint_id(settings), (root / "downloads").resolve())
        outcomes = await asyncio.gather(*(prepare(row, options) for row in rows), return_exceptions=True)
        prepared = []
        for row, p in zip(rows, outcomes, strict=True):
            if isinstance(p, BaseException):  # a file that cannot even be prepared is a row error, not a crash
                report["row_errors"].append(str(row.error("audio_path", f"could not be prepared: {p}")))
            else:
                if p.error is not None:
                    report["row_errors"].append(str(p.error))
                prepared.append(p)
        report.update(estimate_files(prepared, JsonCache(root / TRANSCRIPTS_CACHE_DIR), settings))
        report["wall_s"] = round(time.perf_counter() - started, 2)
        return report

    out.mkdir(parents=True, exist_ok=True)
    budget = Budget(max_cost_usd) if max_cost_usd is not None else None
    progress = RunProgress([TerminalBar.for_stream(label="transcripts")])
    async with (
        run_resources("transcripts", out, settings, "audio_s", notice=logger.warning) as res,
        publish_progress(progress, title="transcripts"),
    ):
        res.tally.listeners.append(progress.observe)
        if budget is not None:
            res.tally.listeners.append(budget.observe)
        report["run_id"] = res.run_id
        report["endpoint"] = res.endpoint.description
        options = prepare_options(res.endpoint_id, res.downloads.resolve())  # workers may run elsewhere
        cache = JsonCache(res.cache.root / TRANSCRIPTS_CACHE_DIR)
        gate = asyncio.Semaphore(max_files_in_flight)
        # Budget admissions happen in input order, whichever file finishes preparing first.
        admitted_in_turn = [asyncio.Event() for _ in rows]

        async def one_file(position: int, row: AudioRow) -> None:
            async with gate:
                begun, t0 = datetime.now(UTC), time.perf_counter()

                def finish(status: Any, entry: dict[str, Any], audio_s: float | None) -> None:
                    entry["wall_s"] = round(time.perf_counter() - t0, 2)
                    files[row.id] = {"status": status, **entry}
                    wall = time.perf_counter() - t0
                    error = entry.get("error")
                    record_item(res, "transcript", row.id, row.model, None, status, error, begun, wall, audio_s)
                    progress.item_done(failed=status == "failed", item_id=row.id)

                try:
                    if stop.requested:
                        finish("stopped", {"error": f"not started: {stop.reason}"}, None)
                        return
                    prepared = await prepare(row, options)
                    if position and budget is not None:  # admissions go in input order
                        await admitted_in_turn[position - 1].wait()
                    if prepared.error is not None:
                        logger.error("%s", prepared.error)
                        report["row_errors"].append(str(prepared.error))
                        finish("failed", {"error": str(prepared.error)}, None)
                        return
                    if prepared.finished is not None:
                        was = prepared.finished
                        paths = {k: str(v) for k, v in was.paths.items()}
                        finish("skipped", {"paths": paths, "duration_s": round(was.duration_s, 2)}, was.duration_s)
                        return
                    plan = prepared.plan
                    assert plan is not None
                    progress.add_chunks(len(plan.spans), item_id=row.id)
                    if budget is not None:
                        estimate = file_estimate(plan, cache, res.client.prices)
                        admission = budget.admit(row.id, estimate.cost_usd)
                        if not admission.admitted:
                            reason = f"not started under the budget cap: {admission.reason}"
                            logger.warning("file %s %s", row.id, reason)
                            finish("skipped_budget", {"chunks": estimate.chunks, "error": reason}, None)
                            return
                except Exception as exc:  # anything unforeseen while preparing fails this file alone
                    if not stop.requested:  # (once stopping, e.g. ffmpeg a terminal's Ctrl-C reached as well)
                        logger.exception("file %s could not be prepared", row.id)
                    finish(
                        "stopped" if stop.requested else "failed",
                        {"error": f"could not be prepared: {type(exc).__name__}: {exc}"},
                        None,
                    )
                    return
                finally:
                    admitted_in_turn[position].set()
                if stop.requested:
                    finish("stopped", {"chunks": len(plan.spans), "error": f"not started: {stop.reason}"}, None)
                    if budget is not None:
                        budget.release(row.id)
                    return
                try:
                    await transcribe_file(row, plan, finish)
                except Exception as exc:  # anything unforeseen fails this file alone; chunks stay cached
                    if not stop.requested:  # (once stopping, e.g. ffmpeg a terminal's Ctrl-C reached as well)
                        logger.exception("file %s failed", row.id)
                    finish("stopped" if stop.requested else "failed", {"error": f"{type(exc).__name__}: {exc}"}, None)
                finally:
                    if budget is not None:
                        budget.release(row.id)

        async def transcribe_file(row: AudioRow, plan: Any, finish: Any) -> None:
            outcomes = await transcribe_anywhere(res, cluster, cache, plan)
            failures = [o for o in outcomes if o.error is not None]
            if stop.requested:  # every answer that arrived is cached; the re-run sends only the rest
                saved = len(outcomes) - len(failures)
                reason = f"{saved} of {len(outcomes)} chunks done, not assembled: {stop.reason}"
                finish("stopped", {"chunks": len(outcomes), "error": reason}, None)
                return
            if failures:
                first = failures[0]
                reason = f"{len(failures)} of {len(outcomes)} chunks failed; first: chunk {first.span.index}: "
                reason += str(first.error)
                logger.error("file %s failed: %s", row.id, reason)
                finish("failed", {"chunks": len(outcomes), "error": reason}, None)
                return
            try:
                done = await assemble(plan, outcomes, out_dir, chosen, captions or CaptionOptions())
            except Exception as exc:  # a file whose outputs cannot be made fails alone; its chunks stay cached
                logger.error("file %s: outputs could not be written: %s", row.id, exc)
                finish(
                    "stopped" if stop.requested else "failed",
                    {"error": f"outputs could not be written: {type(exc).__name__}: {exc}"},
                    None,
                )
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

        progress.add_items(len(rows))
        for row in rows:
            files[row.id] = {"status": "pending"}  # the summary lists files in input order
        lost = budget.forfeit if budget is not None else None
        async with open_cluster(scale_out, res, settings.limit_name, on_lost=lost) as cluster:
            await asyncio.gather(*(one_file(i, row) for i, row in enumerate(rows)))
            if cluster is not None:
                report["worker_processes"] = len(cluster.pids)
        tallies = {row.id: res.tally.tally(row.id) for row in rows}
    for item, tally in tallies.items():
        files[item]["cost_usd"] = tally.cost_usd
        files[item]["requests"] = tally.attempts
        files[item]["possibly_billed_usd"] = tally.possibly_billed_usd  # timed out or cut off after sending
    report["wall_s"] = round(time.perf_counter() - started, 2)
    report["ledger"] = str(res.ledger.root)
    await publish_summary(report, key="transcripts", title="Transcript run", logger=logger)
    return report
