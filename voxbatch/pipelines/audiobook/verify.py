"""Checking every chunk as it is made: its duration against its text (always), and what is heard of it (``--audit``).

::

    synthesize (or take from the cache)
        │
        ▼
    examine ──► far too short for its text? (voxbatch.audit.pace; free)
        │       too little of it heard? (the audit: what the cache already heard, else hear it and keep that)
        │ bad, and repeats left (1 without hearing, AuditOptions.max_repeats with it)
        ├──────► synthesize again: a paid call recorded with purpose "repeat:short" / "repeat:unheard", whose answer
        │        replaces the cached one ──► examine
        ▼ good, or no repeats left
    the best attempt (not bad, most heard, longest) is what the cache keeps and the book gets; if it is still bad,
    its :class:`~voxbatch.audit.verdict.ChunkCheck` names the problem and the book is flagged.

A chunk that came from the cache is examined too (a flagged book's bad chunk is asked for again on the next run).
A chunk far too short is heard only when no repeat is left (the hearing would be paid for nothing).
A hearing that fails (the transcription call fails after its retries) does not repeat the synthesis: the chunk is
flagged as not heard.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from voxbatch.audit.hear import EmbeddedHearer, EndpointHearer, Hearer
from voxbatch.audit.options import FREE_RECOGNIZER, AuditOptions
from voxbatch.audit.pace import expected_s, is_short
from voxbatch.audit.verdict import ChunkCheck, Hearing, HearingRules, Problem, hearing_of, problem_of, rules_for
from voxbatch.cache import CachedChunk, ChunkCache
from voxbatch.client.call_options import CallContext
from voxbatch.client.client import SpeechClient
from voxbatch.client.errors import SpeechAPIError
from voxbatch.client.results import WordTime
from voxbatch.pipelines.audiobook.plan import ChunkJob
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome, synthesize_chunk

REPEAT_PURPOSE = "repeat:{problem}"  # the ledger's purpose of a repeated synthesis

__all__ = ["ChunkChecks", "hearer_for"]


def hearer_for(audit: AuditOptions, client: SpeechClient) -> Hearer | None:
    """What hears a run's chunks: None without an audit."""
    if audit.mode == "free":
        return EmbeddedHearer(FREE_RECOGNIZER)
    if audit.mode == "on":
        return EndpointHearer(client, audit.model, local=client.provider_label == "local")
    return None


@dataclass(frozen=True)
class _Attempt:
    chunk: CachedChunk
    hearing: Hearing | None
    problem: tuple[Problem, str] | None
    not_heard: str | None = None  # why the audit could not hear it
    audio: bytes | None = None  # its audio, kept once a repeat may replace it in the cache

    def score(self) -> tuple[bool, float, float]:
        coverage = self.hearing.coverage if self.hearing is not None else 0.0
        return self.problem is None, coverage, self.chunk.duration_s


@dataclass(frozen=True)
class ChunkChecks:
    """Makes chunks for one run: synthesized (or cached), examined, repeated while bad."""

    client: SpeechClient
    cache: ChunkCache
    audit: AuditOptions
    hearer: Hearer | None
    rules: HearingRules

    @classmethod
    def for_run(cls, client: SpeechClient, cache: ChunkCache, audit: AuditOptions) -> ChunkChecks:
        hearer = hearer_for(audit, client)
        return cls(client, cache, audit, hearer, rules_for(hearer.local if hearer is not None else True))

    async def chunk(self, job: ChunkJob) -> ChunkOutcome:
        """One chunk, checked (see the module docstring); its outcome carries the check."""
        first = await synthesize_chunk(self.client, self.cache, job)
        if first.chunk is None:
            return first
        attempts = 0 if first.from_cache else 1
        chunk = first.chunk
        tried: list[_Attempt] = []
        repeats: list[Problem] = []
        while True:
            attempt = await self._examine(job, chunk, last=len(repeats) >= self.audit.repeats)
            tried.append(attempt)
            if attempt.problem is None or len(repeats) >= self.audit.repeats:
                break
            tried[-1] = replace(attempt, audio=await asyncio.to_thread(_read, attempt.chunk))
            kind = attempt.problem[0]
            repeats.append(kind)
            again = await synthesize_chunk(self.client, self.cache, job, purpose=REPEAT_PURPOSE.format(problem=kind))
            if again.chunk is None:  # the repeat failed after its retries: what we have stays
                break
            attempts += 1
            chunk = again.chunk
        best = max(tried, key=_Attempt.score)
        if best is not tried[-1] and best.audio is not None:
            chunk = await asyncio.to_thread(self._restore, job, best)
        else:
            chunk = best.chunk
        problem = best.problem[1] if best.problem is not None else None
        if problem is None and best.not_heard is not None:
            problem = f"could not be heard: {best.not_heard}"
        check = ChunkCheck(
            chars=len(job.chunk.spoken),
            expected_s=round(expected_s(job.speech.model, len(job.chunk.spoken)), 3),
            duration_s=round(chunk.duration_s, 3),
            hearing=best.hearing,
            heard_by=chunk.heard_by if best.hearing is not None else None,
            rules=self.rules if self.hearer is not None else None,
            attempts=attempts,
            repeats=tuple(repeats),
            problem=problem,
        )
        return ChunkOutcome(job.item_id, job.chunk.index, chunk, from_cache=first.from_cache, check=check)

    async def _examine(self, job: ChunkJob, chunk: CachedChunk, *, last: bool) -> _Attempt:
        """The chunk's problem (and hearing, with an audit, or why it could not be heard). A chunk far too short is
        not heard unless it is the ``last`` attempt (it will be synthesized again anyway)."""
        hearing: Hearing | None = None
        not_heard: str | None = None
        short = is_short(job.speech.model, len(job.chunk.spoken), chunk.duration_s)
        if self.hearer is not None and (last or not short):
            try:
                chunk = await self._heard(job, chunk, self.hearer)
                heard = [WordTime(w, s, e) for w, s, e in chunk.heard]
                hearing = hearing_of(job.chunk.spoken, heard)
            except (SpeechAPIError, OSError, RuntimeError) as exc:  # RuntimeError: a recognizer worker died
                not_heard = f"{type(exc).__name__}: {exc}"
        problem = problem_of(job.speech.model, job.chunk.spoken, chunk.duration_s, hearing, self.rules)
        return _Attempt(chunk, hearing, problem, not_heard)

    async def _heard(self, job: ChunkJob, chunk: CachedChunk, hearer: Hearer) -> CachedChunk:
        """The chunk with what ``hearer`` hears in it: from the cache when it heard it before, else heard now and
        kept there."""
        if chunk.heard_by == hearer.name:
            return chunk
        context = CallContext(job.item_id, job.chunk.index)
        words = await hearer.hear(chunk, context, job.speech.language)
        heard = tuple((w.word, w.start_s, w.end_s) for w in words)
        try:
            return await asyncio.to_thread(self.cache.note_heard, chunk, hearer.name, heard)
        except OSError:  # not kept: heard again next time
            return CachedChunk(
                chunk.key,
                chunk.pcm_path,
                chunk.sample_rate_hz,
                chunk.encoding,
                chunk.duration_s,
                chunk.words,
                heard,
                hearer.name,
            )

    def _restore(self, job: ChunkJob, best: _Attempt) -> CachedChunk:
        """Put an earlier, better attempt back in the cache in place of the last one."""
        assert best.audio is not None
        chunk = best.chunk
        return self.cache.put(
            job.key,
            best.audio,
            sample_rate_hz=chunk.sample_rate_hz,
            encoding=chunk.encoding,
            duration_s=chunk.duration_s,
            words=chunk.words,
            heard=chunk.heard,
            heard_by=chunk.heard_by,
        )


def _read(chunk: CachedChunk) -> bytes:
    return chunk.pcm_path.read_bytes()
