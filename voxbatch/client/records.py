"""Turning a call into its ledger records: the write-ahead "sent" record before the request goes out, and the
outcome record (status, attempts, timings, what it cost and what it may have cost) when it ends.

A call's cost is split in two: ``cost_usd`` is what it surely cost (an answered call), ``possibly_billed_usd``
what the attempts whose outcome is unknown may have cost: a timeout or a cut-off answer after the request went
out (the provider may have done, and billed, the work) or a call still in flight when the run died or gave up.
A connect or pool timeout never sent the request, so it is free.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from voxbatch.client.call_options import CallContext
from voxbatch.client.errors import APIStatusError, APITimeoutError, StreamTruncatedError
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


BILLED_ENDPOINTS = ("speech", "transcriptions", "translations")


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a failed attempt may still have been billed: it timed out, or its answer broke off, after the
    request went out (a connect or pool timeout never sent it)."""
    if isinstance(exc, APITimeoutError):
        return exc.request_sent
    return isinstance(exc, StreamTruncatedError)


def price_of(prices: PriceTable, facts: CallFacts) -> float | None:
    """What one answered attempt of this call costs; None for an unknown price or an endpoint that is free."""
    if facts.model is None or facts.endpoint not in BILLED_ENDPOINTS:
        return None
    return prices.cost_usd(facts.model, input_chars=facts.input_chars, audio_seconds=facts.audio_seconds)


def call_record(
    stamp: RunStamp,
    prices: PriceTable,
    facts: CallFacts,
    *,
    stats: RetryStats,
    error: BaseException | None,
    latency_s: float,
    started_at: datetime,
    info: CallInfo | None = None,
    possibly_billed_attempts: int = 0,
    record_id: str | None = None,
    billed: bool | None = None,
) -> CallRecord:
    """The ledger record of one finished call (``error`` set when it failed).

    ``possibly_billed_attempts`` counts the attempts whose outcome is unknown; each is priced like an answered
    call into ``possibly_billed_usd``. ``billed`` says whether the call was surely paid for (default: it was
    when it did not fail; a failed call that still got its answer, e.g. one its caller could not read, was).
    """
    endpoint, model = facts.endpoint, facts.model
    input_chars, audio_seconds = facts.input_chars, facts.audio_seconds
    status_error = error if isinstance(error, APIStatusError) else None
    price = price_of(prices, facts)
    if endpoint not in BILLED_ENDPOINTS:
        possibly_billed_attempts = 0  # a free endpoint's timeout costs nothing
    paid = error is None if billed is None else billed
    cost = None if price is None else (price if paid else 0.0)  # an unknown price stays unknown
    possibly = None if price is None else price * possibly_billed_attempts
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
        possibly_billed_attempts=possibly_billed_attempts,
        possibly_billed_usd=possibly,
        record_id=record_id,
        purpose=facts.context.purpose,
    )


def sent_record(
    stamp: RunStamp, prices: PriceTable, facts: CallFacts, *, record_id: str, started_at: datetime
) -> CallRecord:
    """The write-ahead record of a call about to go out: outcome unknown, one attempt possibly billed.

    It stands in the ledger for the call until the outcome record with the same ``record_id`` replaces it; if
    none ever comes (the process died), it is what the ledger keeps.
    """
    rec = call_record(
        stamp,
        prices,
        facts,
        stats=RetryStats(attempts=1),
        error=None,
        latency_s=0.0,
        started_at=started_at,
        possibly_billed_attempts=1,
        record_id=record_id,
        billed=False,
    )
    return replace(rec, status="unknown", error="outcome unknown: no answer was recorded (possibly billed)")


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
