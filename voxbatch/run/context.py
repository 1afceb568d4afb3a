"""A run's context: the endpoint, one client with one limiter, the cache and the ledger, opened from a spec.

The flow's process opens a fresh spec (:func:`open_run`: new run id, maybe the embedded server, the ledger's main
files); a Dask worker opens the *opened* spec it was sent (same run id and URL, its own ledger files, the limiter
the Prefect layer gives it, e.g. one leasing from a shared limit) and hands the call records it wrote back to the
flow. Both get the same :class:`RunContext`; nothing else about the two paths differs.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from voxbatch.cache import ChunkCache
from voxbatch.client.client import SpeechClient
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import Limiter, Unit
from voxbatch.ledger.items import TallyingSink, item_record
from voxbatch.ledger.record import CallRecord, CallStatus
from voxbatch.ledger.writer import LedgerWriter
from voxbatch.run.endpoint import Endpoint, SecretResolver, embedded_in_flight, open_endpoint, resolve_key
from voxbatch.run.shutdown import StopGate, current_stop
from voxbatch.run.spec import RunSpec

logger = logging.getLogger(__name__)

DOWNLOADS_DIR_NAME = "downloads"  # under the cache root: recordings given by URL


def new_run_id(flow: str) -> str:
    """A fresh run's id, e.g. ``audiobook-3f2a9c01d4e5``."""
    return f"{flow}-{uuid.uuid4().hex[:12]}"


@dataclass
class RunContext:
    """What every step of one run shares in one process."""

    spec: RunSpec  # opened: a worker process opens the same run from it
    endpoint: Endpoint
    client: SpeechClient
    cache: ChunkCache
    ledger: LedgerWriter
    tally: TallyingSink  # every call record, per item; the budget and progress listen here
    records: list[CallRecord] = field(default_factory=list)  # in a worker: the records to send back

    @property
    def run_id(self) -> str:
        assert self.spec.run_id is not None
        return self.spec.run_id

    @property
    def endpoint_id(self) -> str:
        return self.endpoint.endpoint_id

    @property
    def downloads(self) -> Path:
        """Where recordings given by URL are fetched to."""
        return self.cache.root / DOWNLOADS_DIR_NAME

    def record_item(
        self,
        kind: str,
        item_id: str,
        model: str | None,
        voice: str | None,
        status: CallStatus,
        error: str | None,
        started_at: datetime,
        wall_s: float,
        audio_seconds: float | None,
    ) -> CallRecord:
        """Write one item's summary record (chunks, units, audio, cost, wall time, status) to the ledger."""
        rec = item_record(
            run_id=self.run_id,
            flow=self.client.flow,
            provider=self.client.provider_label,
            endpoint=kind,
            item_id=item_id,
            model=model,
            voice=voice,
            tally=self.tally.tally(item_id),
            status=status,
            error=error,
            started_at=started_at,
            wall_s=wall_s,
            audio_seconds=audio_seconds,
        )
        self.ledger.append(rec)
        return rec


@asynccontextmanager
async def open_run(
    spec: RunSpec,
    *,
    flow: str | None = None,
    unit: Unit | None = None,
    out_dir: Path | None = None,
    resolve_secret: SecretResolver | None = None,
    limiter: Limiter | None = None,
    notice: Callable[[str], None] = print,
) -> AsyncIterator[RunContext]:
    """Open everything a run needs in this process and close it all (ledger flushed) when the block ends.

    ``spec`` fresh: this is the run's own process (``flow``, ``unit`` and ``out_dir`` say which run; a new run id;
    the embedded server starts if the run uses it). ``spec`` opened: another process of the same run (its own
    ledger files; its records collected to send back).
    ``limiter``: how attempts are paced here (default: an in-process limiter from the spec's rates).
    ``resolve_secret``: reads a secret block's value (the Prefect layer's; the core never imports Prefect).
    """
    worker = spec.is_open
    key = await resolve_key(spec, resolve_secret)
    with open_endpoint(spec, key, notice=notice) as endpoint:
        if not worker:
            assert flow is not None and unit is not None and out_dir is not None, "a fresh run needs its name"
            in_flight = embedded_in_flight(spec.max_in_flight, unit) if endpoint.embedded else spec.max_in_flight
            spec = spec.opened(
                run_id=new_run_id(flow),
                flow=flow,
                unit=unit,
                base_url=endpoint.options.base_url,
                key_source=spec.chosen_key_source(),
                out_dir=out_dir,
                max_in_flight=in_flight,  # more transcriptions than the embedded server has decoders would queue
            )
        assert spec.run_id is not None and spec.ledger_dir is not None and spec.cache_dir is not None
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}" if worker else None  # a worker's own file series
        ledger = LedgerWriter(Path(spec.ledger_dir), spec.run_id, file_tag=tag)
        records: list[CallRecord] = []

        def written(rec: CallRecord) -> None:
            if worker:
                records.append(rec)  # first: the flow counts a paid call even if this ledger cannot write it
            ledger.append(rec)

        tally = TallyingSink(written)
        stop = current_stop()  # after SIGINT/SIGTERM no new attempt starts; those in flight finish (bounded)
        forget = stop.at_abort(ledger.flush)  # a second signal exits at once: the ledger is flushed first
        pace = limiter if limiter is not None else AsyncRateLimiter(spec.rate_limits())
        try:
            async with SpeechClient(
                endpoint.options,
                limiter=StopGate(pace, stop),
                ledger=tally,
                intents=ledger.intend,  # write-ahead: the ledger learns of every call before it is sent
                run_id=spec.run_id,
                flow=spec.flow or "",
            ) as client:
                yield RunContext(spec, endpoint, client, ChunkCache(Path(spec.cache_dir)), ledger, tally, records)
        finally:
            forget()
            close = getattr(pace, "aclose", None)  # a limiter leasing from a shared limit gives its permits back
            if close is not None:
                await close()
            _close_ledger(ledger, spec.run_id, worker)


def _close_ledger(ledger: LedgerWriter, run_id: str, worker: bool) -> None:
    if not worker:
        ledger.close()
        return
    try:
        ledger.close()
    except Exception as exc:  # the records still travel back to the flow with the results
        logger.error("worker ledger for run %s not fully written: %s", run_id, exc)
