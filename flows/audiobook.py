"""The audiobook flow: a manuscript manifest in, one finished audiobook per valid row out.

Orchestration only: every step is a task from ``tasks.audiobook``. Chapters of all books are synthesized
concurrently on the flow's event loop through one client and one rate limiter; a chunk that still fails
after the client's retries fails its book, and the other books finish.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from tasks.audiobook import (
    BookDefaults,
    RunSettings,
    assemble,
    find_finished,
    load_manifest,
    plan,
    record_book,
    run_resources,
    synthesize_chapter,
)

DEFAULT_OUT_DIR = "out/audiobooks"


@flow(name="audiobook")
async def audiobook_flow(
    manifest: str,
    out_dir: str = DEFAULT_OUT_DIR,
    model: str = BookDefaults.model,
    voice: str = BookDefaults.voice,
    audio_format: str = BookDefaults.audio_format,
    language: str | None = None,
    author: str | None = None,
    settings: RunSettings | None = None,
) -> dict[str, Any]:
    """Turn every valid row of ``manifest`` into ``out_dir/<id>.<format>`` plus chapters.json and .srt."""
    logger = get_run_logger()
    started = time.perf_counter()
    defaults = BookDefaults(model=model, voice=voice, language=language, audio_format=audio_format, author=author)
    rows, row_errors = load_manifest(manifest, defaults)
    for error in row_errors:
        logger.error("manifest %s: %s (row skipped)", manifest, error)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"books": {}, "row_errors": [str(e) for e in row_errors]}
    async with run_resources(
        "audiobook", Path(out_dir), settings or RunSettings(), "chars", notice=logger.warning
    ) as res:
        report["run_id"] = res.run_id
        report["endpoint"] = res.endpoint.description
        plans = {}
        for row in rows:
            try:
                plans[row.id] = plan(row, res.endpoint_id)
            except Exception as exc:  # a book that cannot be planned fails alone
                report["books"][row.id] = {"status": "failed", "error": f"could not chunk the text: {exc}"}
        finished = {item: find_finished(book, out_dir) for item, book in plans.items()}

        async def one_book(item_id: str) -> None:
            book, begun = plans[item_id], datetime.now(UTC)
            t0 = time.perf_counter()
            already = finished[item_id]
            if already is not None:
                report["books"][item_id] = {
                    "status": "skipped",
                    "path": str(already.outputs.audio),
                    "duration_s": round(already.duration_s, 2),
                }
                record_book(
                    res,
                    item_id,
                    book.row.model,
                    book.row.voice,
                    "skipped",
                    None,
                    begun,
                    time.perf_counter() - t0,
                    already.duration_s,
                )
                return
            batches = book.chapter_batches()
            results = await asyncio.gather(
                *(
                    synthesize_chapter(res.client, res.cache, jobs, item_id, jobs[0].chunk.chapter_index)
                    for jobs in batches
                )
            )
            outcomes = [o for batch in results for o in batch]
            failures = [o for o in outcomes if o.error is not None]
            if failures:
                reason = f"{len(failures)} of {len(outcomes)} chunks failed; first: chunk {failures[0].chunk_index}: "
                reason += str(failures[0].error)
                logger.error("book %s failed: %s", item_id, reason)
                report["books"][item_id] = {"status": "failed", "error": reason}
                record_book(
                    res,
                    item_id,
                    book.row.model,
                    book.row.voice,
                    "failed",
                    reason,
                    begun,
                    time.perf_counter() - t0,
                    None,
                )
                return
            done = await assemble(book, outcomes, out_dir)
            report["books"][item_id] = {
                "status": "ok",
                "path": str(done.outputs.audio),
                "duration_s": round(done.duration_s, 2),
                "chapters": done.chapters,
                "chunks": len(outcomes),
                "from_cache": sum(o.from_cache for o in outcomes),
            }
            record_book(
                res,
                item_id,
                book.row.model,
                book.row.voice,
                "ok",
                None,
                begun,
                time.perf_counter() - t0,
                done.duration_s,
            )

        await asyncio.gather(*(one_book(item) for item in plans))
        tallies = {item: res.tally.tally(item) for item in plans}
    for item, tally in tallies.items():
        report["books"][item]["cost_usd"] = tally.cost_usd
        report["books"][item]["requests"] = tally.attempts
    report["wall_s"] = round(time.perf_counter() - started, 2)
    report["ledger"] = str(res.ledger.root)
    return report
