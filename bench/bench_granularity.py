"""Why the audiobook flow makes one Prefect task run per chapter: the same Alice chunks, two granularities.

Both variants synthesize every chunk of Alice (Kokoro budget: 377 chunks) against the local server, through
one client and limiter on the flow's event loop, from an empty cache: (a) one task run per chapter, the calls
inside concurrent on asyncio (what the flow does); (b) one task run per chunk.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALICE = REPO / "tests" / "data" / "carroll-alice.txt"
REPEATS = 3


def _measure() -> list[tuple[str, int, float]]:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from tasks.steps import execute_unit
    from voxbatch.cache import ChunkCache
    from voxbatch.client.client import SpeechClient
    from voxbatch.manifest.tts import BookRow
    from voxbatch.pipelines.audiobook.pipeline import AudiobookPipeline
    from voxbatch.pipelines.audiobook.plan import ChunkJob, plan_book
    from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome, synthesize_chunk
    from voxbatch.run.context import open_run
    from voxbatch.run.spec import RunSpec
    from voxbatch.server.options import ServerOptions
    from voxbatch.server.runner import LocalServer

    @task(cache_policy=NO_CACHE)
    async def synthesize_one(client: SpeechClient, cache: ChunkCache, job: ChunkJob) -> ChunkOutcome:
        return await synthesize_chunk(client, cache, job)

    row = BookRow(
        2,
        "alice",
        ALICE.read_text(encoding="utf-8"),
        False,
        "Alice",
        None,
        "hexgrad/Kokoro-82M",
        "af_heart",
        None,
        "mp3",
        None,
    )

    @flow
    async def per_chapter(base_url: str, out: str) -> int:
        pipeline = AudiobookPipeline(Path(out))
        async with open_run(RunSpec(base_url=base_url), flow="bench", unit="chars", out_dir=Path(out)) as res:
            book = plan_book(row, res.endpoint_id)
            batches = pipeline.work(book)
            results = await asyncio.gather(
                *(execute_unit(pipeline, res, jobs, pipeline.work_label(jobs)) for jobs in batches)
            )
            return sum(len(r) for r in results)

    @flow
    async def per_chunk(base_url: str, out: str) -> int:
        async with open_run(RunSpec(base_url=base_url), flow="bench", unit="chars", out_dir=Path(out)) as res:
            book = plan_book(row, res.endpoint_id)
            gate = asyncio.Semaphore(16)

            async def one(job: ChunkJob) -> ChunkOutcome:
                async with gate:
                    return await synthesize_one(res.client, res.cache, job)

            return len(await asyncio.gather(*(one(job) for job in book.jobs)))

    @flow
    async def warm_up() -> None:
        return None

    asyncio.run(warm_up())  # start Prefect's ephemeral API before anything is timed
    variants = {"one task run per chapter": (per_chapter, 12), "one task run per chunk": (per_chunk, 0)}
    walls: dict[str, list[float]] = {name: [] for name in variants}
    counts: dict[str, int] = {}
    with LocalServer(ServerOptions(port=0)) as server:
        for _ in range(REPEATS):  # interleaved, so drift in the machine hits both alike
            for name, (fn, tasks) in variants.items():
                with tempfile.TemporaryDirectory() as out:
                    start = time.perf_counter()
                    chunks = asyncio.run(fn(server.origin, out))
                    walls[name].append(time.perf_counter() - start)
                counts[name] = tasks or chunks
    return [(name, counts[name], statistics.median(walls[name])) for name in variants]


def run() -> list[str]:
    if not ALICE.is_file():
        return ["## Audiobook: task granularity\n\n(skipped: carroll-alice.txt not found)\n"]
    with tempfile.TemporaryDirectory(prefix="voxbatch-prefect-") as home:
        os.environ["PREFECT_HOME"] = home
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.pop("TOGETHER_API_KEY", None)
        (per_chapter, per_chunk) = _measure()
    return [
        "\n".join(
            [
                "## Audiobook: task granularity",
                "",
                "Every chunk of Alice (377 at Kokoro's 500-character budget), empty cache, local server, Prefect's",
                "ephemeral API, one client and limiter on the flow's loop; same run, chapter variant first.",
                "",
                f"Median of {REPEATS} interleaved runs after a warm-up flow (Prefect's server already up).",
                "",
                "| granularity | task runs | wall time |",
                "|---|---|---|",
                *(f"| {n} | {t} | {w:.1f} s |" for n, t, w in (per_chapter, per_chunk)),
                "",
            ]
        )
    ]
