"""Per-item summaries: a tally of an item's call records, and the one summary record each item adds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from voxbatch.ledger.record import CallRecord, CallStatus


@dataclass
class ItemTally:
    """What one item's calls added up to so far."""

    calls: int = 0
    attempts: int = 0
    failed: int = 0
    cached: int = 0
    input_chars: int = 0
    audio_seconds: float = 0.0
    cost_usd: float | None = 0.0  # None as soon as one call's price is unknown: the total is unknown too
    bytes: int = 0
    possibly_billed_attempts: int = 0  # attempts whose outcome is unknown (timed out, cut off)
    possibly_billed_usd: float | None = 0.0  # their estimated cost; None when one of their prices is unknown

    def add(self, rec: CallRecord) -> None:
        self.calls += 1
        self.attempts += rec.attempts
        self.failed += rec.status == "failed"
        self.cached += rec.cached
        self.input_chars += rec.input_chars or 0
        self.audio_seconds += rec.audio_seconds or 0.0
        self.bytes += rec.bytes or 0
        if rec.cost_usd is None or self.cost_usd is None:
            self.cost_usd = None
        else:
            self.cost_usd += rec.cost_usd
        if rec.possibly_billed_attempts:
            self.possibly_billed_attempts += rec.possibly_billed_attempts
            if rec.possibly_billed_usd is None or self.possibly_billed_usd is None:
                self.possibly_billed_usd = None
            else:
                self.possibly_billed_usd += rec.possibly_billed_usd


class TallyingSink:
    """A ledger sink that passes records on and tallies them per item (thread-safe)."""

    def __init__(self, sink: Callable[[CallRecord], None] | None) -> None:
        self.sink = sink
        self.listeners: list[Callable[[CallRecord], None]] = []  # e.g. the budget and the progress display
        self.tallies: dict[str, ItemTally] = {}
        self._lock = threading.Lock()

    def __call__(self, rec: CallRecord) -> None:
        self.observe(rec)  # first: the budget and progress count a paid call even if the ledger write fails
        if self.sink is not None:
            self.sink(rec)

    def observe(self, rec: CallRecord) -> None:
        """Tally a record already written elsewhere (by a worker process) and tell the listeners."""
        if rec.item_id is not None and rec.kind == "call":
            with self._lock:
                self.tallies.setdefault(rec.item_id, ItemTally()).add(rec)
        for listener in self.listeners:
            listener(rec)

    def tally(self, item_id: str) -> ItemTally:
        with self._lock:
            return self.tallies.get(item_id, ItemTally())


def item_record(
    *,
    run_id: str,
    flow: str,
    provider: str,
    endpoint: str,
    item_id: str,
    model: str | None,
    voice: str | None,
    tally: ItemTally,
    status: CallStatus,
    error: str | None,
    started_at: datetime,
    wall_s: float,
    audio_seconds: float | None = None,
) -> CallRecord:
    """The summary record of one item (``kind="item"``): chunks, characters, audio, cost, wall time, status."""
    return CallRecord(
        run_id=run_id,
        flow=flow,
        item_id=item_id,
        chunk_index=None,
        provider=provider,
        endpoint=endpoint,
        model=model,
        voice=voice,
        transport="item",
        input_chars=tally.input_chars,
        audio_seconds=audio_seconds if audio_seconds is not None else tally.audio_seconds,
        bytes=tally.bytes,
        attempts=tally.attempts,
        retry_wait_s=0.0,
        http_status=None,
        status=status,
        error=error,
        request_id=None,
        started_at=started_at,
        ttfb_s=None,
        latency_s=wall_s,
        cost_usd=tally.cost_usd,
        cached=tally.calls > 0 and tally.cached == tally.calls,
        kind="item",
        chunks=tally.calls,
        possibly_billed_attempts=tally.possibly_billed_attempts,
        possibly_billed_usd=tally.possibly_billed_usd,
    )
