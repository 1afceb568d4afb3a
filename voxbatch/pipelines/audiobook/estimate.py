"""What a book still costs: its uncached chunks' characters, and with ``--audit`` on the endpoint, one transcription
of every chunk not yet heard by the audit's model (a cached chunk keeps what was heard in it)."""

from __future__ import annotations

import math
from dataclasses import replace

from voxbatch.audit.options import NO_AUDIT, AuditOptions
from voxbatch.audit.pace import expected_s
from voxbatch.cache import ChunkCache
from voxbatch.pipelines.audiobook.plan import BookPlan
from voxbatch.pricing import PriceTable
from voxbatch.run.estimate import ItemEstimate, item_estimate, stt_latency_s, tts_latency_s


def book_estimate(
    plan: BookPlan, cache: ChunkCache, prices: PriceTable, audit: AuditOptions = NO_AUDIT
) -> ItemEstimate:
    """The uncached chunks of a book (characters, cost and latency), and the audit's transcriptions."""
    cached = [cache.get(job.key) for job in plan.jobs]
    uncached = [job for job, hit in zip(plan.jobs, cached, strict=True) if hit is None]
    chars = [len(job.chunk.spoken) for job in uncached]
    costs = [prices.cost_usd(job.speech.model, input_chars=n) for job, n in zip(uncached, chars, strict=True)]
    latencies = [tts_latency_s(n) for n in chars]
    speech = item_estimate(
        plan.row.id, plan.row.model, "chars", len(plan.jobs), [float(n) for n in chars], costs, latencies
    )
    if audit.mode != "on":  # no hearing, or heard on this machine: nothing more to pay
        return speech
    seconds = [
        hit.duration_s if hit is not None else expected_s(job.speech.model, len(job.chunk.spoken))
        for job, hit in zip(plan.jobs, cached, strict=True)
        if hit is None or hit.heard_by != audit.model
    ]
    hearing = [prices.cost_usd(audit.model, audio_seconds=s) for s in seconds]
    hearing_usd = None if any(c is None for c in hearing) else math.fsum(c for c in hearing if c is not None)
    cost = None if speech.cost_usd is None or hearing_usd is None else speech.cost_usd + hearing_usd
    heard_latencies = [stt_latency_s(s) for s in seconds]
    return replace(
        speech,
        cost_usd=cost,
        latency_s=speech.latency_s + sum(heard_latencies),
        longest_call_s=max([speech.longest_call_s, *heard_latencies]),
        audit_requests=len(seconds),
        audit_cost_usd=hearing_usd,
    )
