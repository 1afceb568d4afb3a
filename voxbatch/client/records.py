"""Turning a finished call into its ledger record: status, attempts, timings and what it cost."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from voxbatch.client.call_options import CallContext
from voxbatch.client.errors import APIStatusError, SpeechAPIError
from voxbatch.client.results import CallInfo
from voxbatch.client.retry import RetryStats
from voxbatch.ledger.record import CallRecord
from voxbatch.pricing import PriceTable


@dataclass(frozen=True)
class RunStamp:
    """What every record of one client's run shares."""

    run_id: str
    flow: str
    provider: str


@dataclass(frozen=True)
class CallFacts:
    """What a call's record says besides its outcome (completed from the answer when there is one)."""

    endpoint: str
    model: str | None
    voice: str | None
    transport: str
    context: CallContext
    input_chars: int | None = None
    audio_seconds: float | None = None
    n_bytes: int | None = None


def call_record(
    stamp: RunStamp,
    prices: PriceTable,
    facts: CallFacts,
    *,
    stats: RetryStats,
    error: SpeechAPIError | None,
    latency_s: float,
    started_at: datetime,
    info: CallInfo | None = None,
) -> CallRecord:
    """The ledger record of one finished call (``error`` set when it failed)."""
    endpoint, model = facts.endpoint, facts.model
    input_chars, audio_seconds = facts.input_chars, facts.audio_seconds
    status_error = error if isinstance(error, APIStatusError) else None
    cost = None
    if model is not None and endpoint in ("speech", "transcriptions", "translations"):
        cost = prices.cost_usd(model, input_chars=input_chars, audio_seconds=audio_seconds)
        if error is not None and cost is not None:
            cost = 0.0  # a failed call is not billed; an unknown price stays unknown
    return CallRecord(
        run_id=stamp.run_id,
        flow=stamp.flow,
        item_id=facts.context.item_id,
        chunk_index=facts.context.chunk_index,
        provider=stamp.provider,
        endpoint=endpoint,
        model=model,
        voice=facts.voice,
        transport=facts.transport,
        input_chars=input_chars,
        audio_seconds=audio_seconds,
        bytes=facts.n_bytes,
        attempts=stats.attempts,
        retry_wait_s=round(stats.retry_wait_s, 6),
        http_status=info.http_status if info else (status_error.status if status_error else None),
        status="failed" if error is not None else "ok",
        error=f"{type(error).__name__}: {error}" if error is not None else None,
        request_id=info.request_id if info else (status_error.request_id if status_error else None),
        started_at=started_at,
        ttfb_s=info.ttfb_s if info else None,
        latency_s=latency_s,
        cost_usd=cost,
        cached=False,
    )


def cached_record(
    stamp: RunStamp,
    *,
    endpoint: str,
    model: str,
    voice: str | None,
    context: CallContext,
    input_chars: int | None,
    audio_seconds: float | None,
    n_bytes: int | None,
) -> CallRecord:
    """The record of a call answered from a cache: no request, no attempts, nothing paid."""
    facts = CallFacts(endpoint, model, voice, "cache", context, input_chars, audio_seconds, n_bytes)
    rec = call_record(
        stamp, PriceTable({}), facts, stats=RetryStats(), error=None, latency_s=0.0, started_at=datetime.now(UTC)
    )
    return replace(rec, status="cached", cached=True, cost_usd=0.0)
