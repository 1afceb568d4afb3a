"""The audiobook flow: a manuscript manifest in, one finished audiobook per valid row out.

Orchestration only: every step is a task from ``tasks.audiobook``. Chapters of all books are synthesized
concurrently on the flow's event loop through one client and one rate limiter; a chunk that still fails
after the client's retries fails its book, and the other books finish. With ``dry_run`` nothing is called:
the books are planned and priced. With ``max_cost_usd`` a book starts only if its price (uncached chunks)
fits in what the cap has left; the others are recorded as ``skipped_budget`` for a later run.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from tasks.audiobook import (
    BookDefaults,
    RunSettings,
    assemble,
    estimate_books,
    find_finished,
    load_manifest,
    plan,
    run_resources,
    synthesize_anywhere,
)
from tasks.items import record_item
from tasks.progress_artifact import publish_progress
from tasks.run_resources import cache_root, planned_endpoint_id
from tasks.run_summary import publish_summary
from tasks.scale_out import ScaleOut, open_cluster
from voxbatch.budget import Budget
from voxbatch.cache import ChunkCache
from voxbatch.defaults import DEFAULT_AUDIO_FORMAT, DEFAULT_AUDIOBOOK_OUT_DIR, DEFAULT_TTS_MODEL
from voxbatch.estimate import book_estimate
from voxbatch.progress import RunProgress
from voxbatch.progress_bar import TerminalBar
from voxbatch.shutdown import current_stop


@flow(name="audiobook")
async def audiobook_flow(
    manifest: str,
    out_dir: str = DEFAULT_AUDIOBOOK_OUT_DIR,
    model: str = DEFAULT_TTS_MODEL,
    voice: str | None = None,  # None: each book's model's default voice
    audio_format: str = DEFAULT_AUDIO_FORMAT,
    language: str | None = None,
    author: str | None = None,
    settings: RunSettings | None = None,
    dry_run: bool = False,
    max_cost_usd: float | None = None,
    scale_out: ScaleOut | None = None,
    allow_paths: list[str] | None = None,
) -> dict[str, Any]:
    """Turn every valid row of ``manifest`` into ``out_dir/<id>.<format>`` plus chapters.json and .srt.

    The manifest's paths must stay inside its folder or inside one of ``allow_paths`` (``--allow-path``).
    """
    logger = get_run_logger()
    started = time.perf_counter()
    stop = current_stop()  # SIGINT/SIGTERM: start no new book, chunk or assembly
    stop.rearm()  # Prefect's flow engine installs its own SIGTERM handler for the run; ours comes first
    settings = settings or RunSettings()
    defaults = BookDefaults(model=model, voice=voice, language=language, audio_format=audio_format, author=author)
    rows, row_errors = load_manifest(manifest, defaults, allow_paths)
    for error in row_errors:
        logger.error("manifest %s: %s (row skipped)", manifest, error)
    books: dict[str, Any] = {}
    report: dict[str, Any] = {"books": books, "items": books, "row_errors": [str(e) for e in row_errors]}
    report["budget_usd"] = max_cost_usd
    report["flow_run_id"] = str(flow_run.id) if flow_run.id else None
    if dry_run:
        endpoint_id = planned_endpoint_id(settings)
        plans = {row.id: plan(row, endpoint_id) for row in rows}
        report.update(
            estimate_books(list(plans.values()), ChunkCache(cache_root(Path(out_dir), settings)), settings, out_dir)
        )
        report["wall_s"] = round(time.perf_counter() - started, 2)
        return report
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    budget = Budget(max_cost_usd) if max_cost_usd is not None else None
    progress = RunProgress([TerminalBar.for_stream(label="audiobook")])
    async with (
        run_resources("audiobook", Path(out_dir), settings, "chars", notice=logger.warning) as res,
        publish_progress(progress, title="audiobook"),
    ):
        res.tally.listeners.append(progress.observe)
        if budget is not None:
            res.tally.listeners.append(budget.observe)
        report["run_id"] = res.run_id
        report["endpoint"] = res.endpoint.description
        plans = {}
        for row in rows:
            books[row.id] = {"status": "pending"}  # the summary lists books in manifest order
            try:
                plans[row.id] = plan(row, res.endpoint_id)
            except Exception as exc:  # a book that cannot be planned fails alone
                books[row.id] = {"status": "failed", "error": f"could not chunk the text: {exc}", "cost_usd": 0.0}
        finished = {item: find_finished(book, out_dir) for item, book in plans.items()}
        progress.add_items(len(plans))
        for item_id, book in plans.items():
            if finished[item_id] is None:
                progress.add_chunks(len(book.jobs), item_id=item_id)

        async def one_book(item_id: str) -> None:
            book, begun = plans[item_id], datetime.now(UTC)
            t0 = time.perf_counter()

            def done(status: Any, entry: dict[str, Any], duration_s: float | None) -> None:
                entry["wall_s"] = round(time.perf_counter() - t0, 2)
                books[item_id] = {"status": status, **entry}
                row = book.row
                wall = time.perf_counter() - t0
                error = entry.get("error")
                record_item(res, "audiobook", item_id, row.model, row.voice, status, error, begun, wall, duration_s)
                progress.item_done(failed=status == "failed", item_id=item_id)

            already = finished[item_id]
            if already is not None:
                path, seconds = str(already.outputs.audio), already.duration_s
                done("skipped", {"path": path, "duration_s": round(seconds, 2)}, seconds)
                return
            if stop.requested:
                done("stopped", {"chunks": len(book.jobs), "error": f"not started: {stop.reason}"}, None)
                return
            if budget is not None:
                estimate = book_estimate(book, res.cache, res.client.prices)
                admission = budget.admit(item_id, estimate.cost_usd)
                if not admission.admitted:
                    reason = f"not started under the budget cap: {admission.reason}"
                    logger.warning("book %s %s", item_id, reason)
                    done("skipped_budget", {"chunks": estimate.chunks, "error": reason}, None)
                    return
            try:
                await synthesize_book(item_id, book, done)
            except Exception as exc:  # anything unforeseen fails this book alone; chunks stay cached
                if not stop.requested:  # (once stopping, e.g. an encoder a terminal's Ctrl-C reached as well)
                    logger.exception("book %s failed", item_id)
                done("stopped" if stop.requested else "failed", {"error": f"{type(exc).__name__}: {exc}"}, None)
            finally:
                if budget is not None:
                    budget.release(item_id)

        async def synthesize_book(item_id: str, book: Any, done: Any) -> None:
            batches = book.chapter_batches()
            results = await asyncio.gather(
                *(synthesize_anywhere(res, cluster, jobs, item_id, jobs[0].chunk.chapter_index) for jobs in batches)
            )
            outcomes = [o for batch in results for o in batch]
            failures = [o for o in outcomes if o.error is not None]
            if stop.requested:  # every answer that arrived is cached; the re-run sends only the rest, then builds
                saved = len(outcomes) - len(failures)
                reason = f"{saved} of {len(outcomes)} chunks done, not assembled: {stop.reason}"
                done("stopped", {"chunks": len(outcomes), "error": reason}, None)
                return
            if failures:
                reason = f"{len(failures)} of {len(outcomes)} chunks failed; first: chunk {failures[0].chunk_index}: "
                reason += str(failures[0].error)
                logger.error("book %s failed: %s", item_id, reason)
                done("failed", {"chunks": len(outcomes), "error": reason}, None)
                return
            built = await assemble(book, outcomes, out_dir)
            entry = {
                "path": str(built.outputs.audio),
                "duration_s": round(built.duration_s, 2),
                "chapters": built.chapters,
                "chunks": len(outcomes),
                "from_cache": sum(o.from_cache for o in outcomes),
            }
            done("ok", entry, built.duration_s)

        for item in plans:
            books[item] = {"status": "pending"}  # the summary lists books in manifest order
        lost = budget.forfeit if budget is not None else None
        async with open_cluster(scale_out, res, settings.limit_name, on_lost=lost) as cluster:
            await asyncio.gather(*(one_book(item) for item in plans))
            if cluster is not None:
                report["worker_processes"] = len(cluster.pids)
        tallies = {item: res.tally.tally(item) for item in plans}
    for item, tally in tallies.items():
        books[item]["cost_usd"] = tally.cost_usd
        books[item]["requests"] = tally.attempts
        books[item]["possibly_billed_usd"] = tally.possibly_billed_usd  # timed out or cut off after sending
    report["wall_s"] = round(time.perf_counter() - started, 2)
    report["ledger"] = str(res.ledger.root)
    await publish_summary(report, key="audiobook", title="Audiobook run", logger=logger)
    return report
