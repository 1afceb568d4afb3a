"""What one run shares across its tasks: the endpoint, one client with one limiter, the cache and the ledger."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import cast

from prefect.blocks.system import Secret

from voxbatch.cache import ChunkCache
from voxbatch.client.client import SpeechClient
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import RateLimits, Unit
from voxbatch.client.options import API_KEY_ENV, BASE_URL_ENV, ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.defaults import MAX_ATTEMPTS_PER_CALL, MAX_IN_FLIGHT
from voxbatch.endpoint import EMBEDDED_ENDPOINT_ID, NO_KEY, Endpoint, embedded_in_flight, open_endpoint
from voxbatch.ledger.items import TallyingSink, item_record
from voxbatch.ledger.record import CallRecord, CallStatus
from voxbatch.ledger.writer import LedgerWriter
from voxbatch.shutdown import StopGate, current_stop
from voxbatch.worker_spec import WorkerSpec

__all__ = ["EMBEDDED_ENDPOINT_ID", "RunResources", "RunSettings", "run_resources"]


@dataclass(frozen=True)
class RunSettings:
    """A run's connection and pacing settings (JSON-friendly: they arrive as flow parameters)."""

    base_url: str | None = None
    requests_per_minute: float | None = None
    units_per_minute: float | None = None
    max_in_flight: int = MAX_IN_FLIGHT
    max_attempts: int = MAX_ATTEMPTS_PER_CALL  # per call, retries included
    cache_dir: str | None = None
    ledger_dir: str | None = None
    api_key_secret: str | None = None  # a Prefect Secret block holding the API key (else TOGETHER_API_KEY)
    limit_name: str | None = None  # the Prefect GCL that shares requests_per_minute across workers
    timeout_s: float | None = None  # every attempt's timeout (--timeout-s); None: it follows the work

    def __post_init__(self) -> None:
        CallTimeouts(override_s=self.timeout_s)  # a bad timeout fails here, before anything is opened


@dataclass
class RunResources:
    """Shared by every task of one flow run (all on the flow's event loop)."""

    run_id: str
    endpoint: Endpoint
    client: SpeechClient
    cache: ChunkCache
    ledger: LedgerWriter
    tally: TallyingSink
    settings: RunSettings
    unit: Unit = "chars"

    @property
    def key_source(self) -> str:
        """Where a worker process finds this run's key (the key itself never leaves this process)."""
        if self.endpoint.embedded:
            return "embedded"
        if self.settings.api_key_secret:
            return f"secret:{self.settings.api_key_secret}"
        return "env" if os.environ.get(API_KEY_ENV) else "none"

    def worker_spec(self, limit_name: str | None) -> WorkerSpec:
        """What a worker process needs to make this run's calls itself."""
        return WorkerSpec(
            run_id=self.run_id,
            flow=self.client.flow,
            base_url=self.endpoint.options.base_url,
            key_source=self.key_source,
            cache_dir=str(self.cache.root.resolve()),
            ledger_dir=str(self.ledger.root.resolve()),
            max_in_flight=self.settings.max_in_flight,
            max_attempts=self.settings.max_attempts,
            limit_name=limit_name,
            requests_per_minute=self.settings.requests_per_minute,
            units_per_minute=self.settings.units_per_minute,
            unit=self.unit,
            timeout_s=self.settings.timeout_s,
        )

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

    @property
    def downloads(self) -> Path:
        """Where recordings given by URL are fetched to."""
        return self.cache.root / "downloads"

    @property
    def endpoint_id(self) -> str:
        """What identifies the endpoint's audio in cache keys."""
        return EMBEDDED_ENDPOINT_ID if self.endpoint.embedded else self.endpoint.options.base_url


async def secret_value(block: str) -> str:
    """The value of a Prefect Secret block (never logged)."""
    secret = cast(Secret[str], await Secret.aload(block))
    return str(secret.get())


def cache_root(out_dir: Path, settings: RunSettings) -> Path:
    """Where the run's chunk cache lives."""
    return Path(settings.cache_dir) if settings.cache_dir else out_dir / ".voxbatch-cache"


def planned_endpoint_id(settings: RunSettings) -> str:
    """The endpoint id a run with these settings would use, without opening it (dry runs call nothing)."""
    key = "secret" if settings.api_key_secret else os.environ.get(API_KEY_ENV)
    url = settings.base_url or os.environ.get(BASE_URL_ENV)
    if not key and not url:
        return EMBEDDED_ENDPOINT_ID
    return ClientOptions.from_env(api_key=key or NO_KEY, base_url=url).base_url


@asynccontextmanager
async def run_resources(
    flow_name: str, out_dir: Path, settings: RunSettings, unit: Unit, notice: Callable[[str], None] = print
) -> AsyncIterator[RunResources]:
    """Open everything a run needs and close it all (ledger flushed) when the block ends."""
    run_id = f"{flow_name}-{uuid.uuid4().hex[:12]}"
    limits = RateLimits(
        requests_per_minute=settings.requests_per_minute,
        units_per_minute={unit: settings.units_per_minute} if settings.units_per_minute else {},
        max_in_flight=settings.max_in_flight,
        learn=settings.requests_per_minute is None,  # no --rpm: learn the provider's limit from its answers
    )
    cache = ChunkCache(cache_root(out_dir, settings))
    ledger_root = Path(settings.ledger_dir) if settings.ledger_dir else out_dir / "ledger"
    key = await secret_value(settings.api_key_secret) if settings.api_key_secret else None
    with (
        open_endpoint(
            api_key=key,
            base_url=settings.base_url,
            notice=notice,
            retry=RetryPolicy(max_attempts=settings.max_attempts),
            timeouts=CallTimeouts(override_s=settings.timeout_s),
        ) as endpoint,
        LedgerWriter(ledger_root, run_id) as ledger,
    ):
        if endpoint.embedded:  # more transcriptions in flight than it has decoders would wait on their clocks
            settings = replace(settings, max_in_flight=embedded_in_flight(settings.max_in_flight, unit))
            limits = replace(limits, max_in_flight=settings.max_in_flight)
        tally = TallyingSink(ledger.append)
        stop = current_stop()  # after SIGINT/SIGTERM no new attempt starts; those in flight finish (bounded)
        forget = stop.at_abort(ledger.flush)  # a second signal exits at once: the ledger is flushed first
        try:
            async with SpeechClient(
                endpoint.options,
                limiter=StopGate(AsyncRateLimiter(limits), stop),
                ledger=tally,
                intents=ledger.intend,  # write-ahead: the ledger learns of every call before it is sent
                run_id=run_id,
                flow=flow_name,
            ) as client:
                yield RunResources(run_id, endpoint, client, cache, ledger, tally, settings, unit)
        finally:
            forget()
