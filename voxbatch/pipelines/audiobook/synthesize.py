"""Synthesizing chunks: from the cache when already paid for, else through the client, then into the cache.

A synthesized chunk is cached the moment its answer is complete, from inside the client's call (``keep``),
before the call's ledger outcome, the limiter or any other chunk runs, so a run killed at any instant pays again
at most for the calls that were in flight then. Its loudness statistics (:mod:`voxbatch.audio.chunk_levels`) are
measured next, off the event loop, and kept beside it, so stitching the book reads no audio to measure it; a cached
chunk that has none yet (cached by an older version) gets them the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from voxbatch.audio.chunk_levels import ChunkLevelsError, measure_pcm_file, read_levels
from voxbatch.audio.stitch import StitchOptions, fade_samples
from voxbatch.audit.verdict import ChunkCheck
from voxbatch.cache import CachedChunk, ChunkCache
from voxbatch.client.call_options import CallContext
from voxbatch.client.client import SpeechClient
from voxbatch.client.errors import SpeechAPIError
from voxbatch.client.results import SpeechResult
from voxbatch.defaults import MAX_IN_FLIGHT
from voxbatch.pipelines.audiobook.plan import ChunkJob
from voxbatch.run.shutdown import RunStopped


@dataclass(frozen=True)
class ChunkOutcome:
    """What became of one chunk job."""

    item_id: str
    chunk_index: int
    chunk: CachedChunk | None  # None when it failed
    from_cache: bool
    error: str | None = None
    check: ChunkCheck | None = None  # what the duration check and the audit found (voxbatch.audit)

    @property
    def index(self) -> int:
        return self.chunk_index


async def synthesize_chunk(
    client: SpeechClient, cache: ChunkCache, job: ChunkJob, *, purpose: str | None = None
) -> ChunkOutcome:
    """One chunk: a cache hit costs nothing and makes no request; a miss is synthesized and stored.

    With a ``purpose`` (a repeat the chunk's checks asked for, see :mod:`.verify`) the cache is not looked in: the
    chunk is synthesized again, recorded with that purpose, and replaces the stored one."""
    context = CallContext(job.item_id, job.chunk.index, purpose=purpose)
    hit = cache.get(job.key) if purpose is None else None
    if hit is not None:
        client.record_cached(
            endpoint="speech",
            model=job.speech.model,
            voice=job.speech.voice,
            context=context,
            input_chars=len(job.chunk.spoken),
            audio_seconds=hit.duration_s,
            n_bytes=hit.pcm_path.stat().st_size,
        )
        return ChunkOutcome(job.item_id, job.chunk.index, await with_levels(cache, hit), from_cache=True)
    stored: list[CachedChunk] = []

    def keep(result: SpeechResult) -> None:
        stored.append(store(cache, job, result))

    try:
        result = await client.speak(job.chunk.spoken, job.speech, context=context, keep=keep)
    except SpeechAPIError as exc:
        return ChunkOutcome(job.item_id, job.chunk.index, None, from_cache=False, error=f"{type(exc).__name__}: {exc}")
    if not stored:  # the cache write failed (the client logged why): one more try, then the chunk fails
        try:
            stored.append(await asyncio.to_thread(store, cache, job, result))
        except OSError as exc:
            reason = f"the answer could not be cached: {type(exc).__name__}: {exc}"
            return ChunkOutcome(job.item_id, job.chunk.index, None, from_cache=False, error=reason)
    return ChunkOutcome(job.item_id, job.chunk.index, await with_levels(cache, stored[0]), from_cache=False)


def _store_levels(cache: ChunkCache, chunk: CachedChunk) -> CachedChunk:
    """``chunk`` with levels the stitch can use: its stored ones if they read and fit it, else measured now."""
    # The book's stitch fades every chunk edge by the default fade_ms (assemble.stitch_options keeps it).
    fade = fade_samples(StitchOptions().fade_ms, chunk.sample_rate_hz)
    if chunk.levels_path is not None:
        try:
            if read_levels(chunk.levels_path).fits(chunk.pcm_path.stat().st_size // 2, fade):
                return chunk
        except ChunkLevelsError:
            pass  # damaged, or of an older format: measured again
    return cache.put_levels(chunk, measure_pcm_file(chunk.pcm_path, fade).to_bytes())


async def with_levels(cache: ChunkCache, chunk: CachedChunk) -> CachedChunk:
    """``chunk`` with its loudness statistics stored beside it (measured in a thread when it has none yet, or
    only some the stitch cannot use: of an older format, damaged, or of another fade).

    They only save the stitcher a read: when they cannot be written, the chunk is returned without them."""
    if chunk.encoding != "pcm_s16le":
        return chunk
    try:
        return await asyncio.to_thread(_store_levels, cache, chunk)
    except (OSError, ValueError):
        return chunk


def store(cache: ChunkCache, job: ChunkJob, result: SpeechResult) -> CachedChunk:
    """Put one synthesized chunk in the cache."""
    assert result.sample_rate_hz is not None and result.encoding is not None and result.duration_s is not None
    return cache.put(
        job.key,
        result.audio,
        sample_rate_hz=result.sample_rate_hz,
        encoding=result.encoding,
        duration_s=result.duration_s,
        words=tuple((w.word, w.start_s, w.end_s) for w in result.words),
    )


async def synthesize_batch(
    client: SpeechClient,
    cache: ChunkCache,
    jobs: Sequence[ChunkJob],
    concurrency: int = MAX_IN_FLIGHT,
    each: Callable[[ChunkJob], Awaitable[ChunkOutcome]] | None = None,
) -> list[ChunkOutcome]:
    """All ``jobs`` concurrently (at most ``concurrency`` at once; the run's limiter does the real pacing), in job
    order; once the run is stopping, the chunks not yet sent come back with an error (and every chunk in flight
    is waited for, so its answer is kept). ``each`` makes one chunk (default :func:`synthesize_chunk`; the
    pipeline's checks wrap it)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: ChunkJob) -> ChunkOutcome:
        async with gate:
            try:
                return await (each(job) if each is not None else synthesize_chunk(client, cache, job))
            except RunStopped as exc:
                return ChunkOutcome(job.item_id, job.chunk.index, None, from_cache=False, error=str(exc))

    return list(await asyncio.gather(*(one(job) for job in jobs)))
