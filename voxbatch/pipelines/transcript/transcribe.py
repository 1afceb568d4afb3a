"""Transcribing one prepared recording: its chunks fan out through the run's client; results are cached.

Cached chunks make no request (their ledger record says ``cached``). Missing chunks of a split file are
cut in one streaming decode and encoded as FLAC; at most ``max_ready_chunks`` encoded chunks wait for
the client at a time, so memory stays bounded however long the file. A chunk that still fails after the
client's retries fails the file; the chunks that succeeded are cached, so a re-run pays only for the rest.
Each chunk's transcript is cached the moment its answer is complete, from inside the client's call (``keep``),
before anything else runs, so a run killed at any instant pays again at most for the calls in flight then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from voxbatch.cache import JsonCache
from voxbatch.client.call_options import CallContext, TranscriptionOptions
from voxbatch.client.client import SpeechClient
from voxbatch.client.results import CallInfo, Transcript, parse_transcript
from voxbatch.pipelines.transcript.prepare import FilePlan
from voxbatch.pipelines.transcript.spans import ChunkSpan
from voxbatch.pipelines.transcript.split import iter_chunk_flac

logger = logging.getLogger(__name__)

DEFAULT_MAX_READY_CHUNKS = 4  # encoded chunks waiting for the client, per file
TRANSCRIPTS_CACHE_DIR = "transcripts"  # under a run's cache root, next to the speech chunks
CACHED_INFO = CallInfo(0, 0.0, None, None, None, 0.0, "cache")


@dataclass(frozen=True)
class ChunkOutcome:
    """One chunk's transcript (or the error that stopped it)."""

    span: ChunkSpan
    transcript: Transcript | None
    error: str | None = None  # "<ErrorType>: <message>" (it travels back from worker processes as text)
    from_cache: bool = False

    @property
    def index(self) -> int:
        return self.span.index


def call_options(plan: FilePlan, span: ChunkSpan) -> TranscriptionOptions:
    row = plan.row
    return TranscriptionOptions(
        model=row.model,
        language=row.language,
        prompt=row.prompt,
        response_format="verbose_json",
        timestamp_granularities=("segment", "word"),
        diarize=row.diarize,
        audio_seconds=plan.probe.duration_s if plan.whole else span.duration_s,
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _endpoint(plan: FilePlan) -> str:
    return "transcriptions" if plan.row.task == "transcribe" else "translations"


async def transcribe_plan(
    client: SpeechClient, cache: JsonCache, plan: FilePlan, *, max_ready_chunks: int = DEFAULT_MAX_READY_CHUNKS
) -> list[ChunkOutcome]:
    """Every chunk of ``plan``, in span order."""
    outcomes: dict[int, ChunkOutcome] = {}
    missing: list[ChunkSpan] = []
    for span, key in zip(plan.spans, plan.chunk_keys, strict=True):
        raw = cache.get(key)
        if raw is None:
            missing.append(span)
            continue
        opts = call_options(plan, span)
        client.record_cached(
            endpoint=_endpoint(plan),
            model=opts.model,
            context=CallContext(plan.row.id, span.index),
            audio_seconds=opts.audio_seconds,
        )
        outcomes[span.index] = ChunkOutcome(span, parse_transcript(raw, opts.model, CACHED_INFO), from_cache=True)

    async def one(span: ChunkSpan, audio: bytes) -> None:
        opts = call_options(plan, span)
        method = client.transcribe if plan.row.task == "transcribe" else client.translate
        key = plan.chunk_keys[span.index]

        def keep(transcript: Transcript) -> None:
            cache.put(key, transcript.raw)  # a failure is logged by the client: the chunk is paid again next run

        try:
            transcript = await method(audio, opts, context=CallContext(plan.row.id, span.index), keep=keep)
        except Exception as exc:  # the client already retried; this chunk fails, its file fails
            outcomes[span.index] = ChunkOutcome(span, None, _describe(exc))
            return
        outcomes[span.index] = ChunkOutcome(span, transcript)  # paid for: kept even if it could not be cached

    if missing and plan.whole:
        audio = await asyncio.to_thread(plan.path.read_bytes)
        await one(missing[0], audio)
    elif missing:
        ready = asyncio.Semaphore(max_ready_chunks)
        pending: list[asyncio.Task[None]] = []

        async def released(span: ChunkSpan, audio: bytes) -> None:
            try:
                await one(span, audio)
            finally:
                ready.release()

        chunks: Iterator[tuple[ChunkSpan, bytes]] = iter_chunk_flac(
            plan.path, plan.spans, only={s.index for s in missing}
        )
        try:
            while True:
                await ready.acquire()
                item = await asyncio.to_thread(next, chunks, None)
                if item is None:
                    ready.release()
                    break
                pending.append(asyncio.create_task(released(*item)))
        except Exception as exc:  # the file broke off part way through decoding
            ready.release()
            for span in missing:
                outcomes.setdefault(span.index, ChunkOutcome(span, None, _describe(exc)))
        finally:
            await asyncio.gather(*pending)
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
    return [outcomes[s.index] for s in plan.spans]
