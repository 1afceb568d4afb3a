"""A run's specification: the one serialisable description from which any process opens the same run.

The flow receives it as a parameter (what the user chose: where to call, how fast, how many attempts, where the
cache and ledger live). When the run opens (:func:`voxbatch.run.context.open_run`), the flow's process fills in
what it decided (run id, the endpoint's resolved URL, where the key comes from, absolute folders) with
:meth:`RunSpec.opened`; the same spec then travels to any Dask worker, which opens the same run context from it.
The API key itself is never in the spec (task parameters are recorded by Prefect): ``key_source`` says where a
process finds it: ``env`` (``TOGETHER_API_KEY``), ``secret:<block>`` (a Prefect Secret block, resolved by a
function the Prefect layer passes in), ``embedded`` (the embedded server's non-secret key) or ``none``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

from voxbatch.client.limits import RateLimits, Unit
from voxbatch.client.options import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, normalize_base_url
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.defaults import MAX_ATTEMPTS_PER_CALL, MAX_IN_FLIGHT

CACHE_DIR_NAME = ".voxbatch-cache"  # under the output folder, unless cache_dir says otherwise
LEDGER_DIR_NAME = "ledger"  # under the output folder, unless ledger_dir says otherwise
EMBEDDED_ENDPOINT_ID = "embedded"  # what identifies the embedded server's audio: its port changes, its audio not
KEY_SOURCES = ("env", "embedded", "none")
SECRET_PREFIX = "secret:"
CHARTS_ENV = "VOXBATCH_CHARTS"  # "off" (or 0, false, no): runs draw no charts unless their spec asks for them
CHARTS_OFF_VALUES = frozenset({"0", "off", "false", "no"})


@dataclass(frozen=True)
class RunSpec:
    """Where a run calls, how it is paced and retried, and where its cache and ledger live (JSON-friendly)."""

    base_url: str | None = None  # None: TOGETHER_BASE_URL, Together itself with a key, else the embedded server
    requests_per_minute: float | None = None  # None: learn the provider's limit from its answers
    units_per_minute: float | None = None  # characters (speech) or audio seconds (transcription) per minute
    max_in_flight: int = MAX_IN_FLIGHT  # per process; the limiter paces the rest
    max_attempts: int = MAX_ATTEMPTS_PER_CALL  # per call, retries included
    cache_dir: str | None = None  # default: <out>/.voxbatch-cache
    ledger_dir: str | None = None  # default: <out>/ledger
    api_key_secret: str | None = None  # a Prefect Secret block holding the API key (else TOGETHER_API_KEY)
    limit_name: str | None = None  # the Prefect GCL that shares requests_per_minute across workers
    timeout_s: float | None = None  # every attempt's timeout (--timeout-s); None: it follows the work
    check_catalog: bool = True  # rows checked against the provider's catalog before anything is planned or paid
    charts: bool | None = None  # chart artifacts and loudness charts; None: on unless VOXBATCH_CHARTS=off
    # Filled in when the run opens (RunSpec.opened), so that another process opens the same run:
    run_id: str | None = None
    flow: str | None = None  # "audiobook" | "transcripts"
    unit: str = "chars"  # "chars" (speech) or "audio_s" (transcription)
    key_source: str | None = None  # env | embedded | none | secret:<block>

    def __post_init__(self) -> None:
        CallTimeouts(override_s=self.timeout_s)  # a bad timeout fails here, before anything is opened
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {self.max_in_flight}")
        source = self.key_source
        if source is not None and source not in KEY_SOURCES and not source.startswith(SECRET_PREFIX):
            raise ValueError(f"key_source must be one of {', '.join(KEY_SOURCES)} or {SECRET_PREFIX}<block>")

    # --- what the user chose, read the one way everywhere -------------------------------------------------

    def cache_root(self, out_dir: Path) -> Path:
        """Where the run's chunk cache lives."""
        return Path(self.cache_dir) if self.cache_dir else out_dir / CACHE_DIR_NAME

    def ledger_root(self, out_dir: Path) -> Path:
        """Where the run's ledger lives."""
        return Path(self.ledger_dir) if self.ledger_dir else out_dir / LEDGER_DIR_NAME

    def rate_limits(self) -> RateLimits:
        """The limiter's configuration for this run's unit."""
        unit = cast(Unit, self.unit)
        return RateLimits(
            requests_per_minute=self.requests_per_minute,
            units_per_minute={unit: self.units_per_minute} if self.units_per_minute else {},
            max_in_flight=self.max_in_flight,
            learn=self.requests_per_minute is None,  # no --rpm: learn the provider's limit from its answers
        )

    def timeouts(self) -> CallTimeouts:
        return CallTimeouts(override_s=self.timeout_s)

    def charts_on(self) -> bool:
        """Whether the run draws its charts (the ledger's as an artifact, each book's loudness beside it)."""
        if self.charts is not None:
            return self.charts
        return os.environ.get(CHARTS_ENV, "").strip().lower() not in CHARTS_OFF_VALUES

    def chosen_key_source(self) -> str:
        """Where this run's key comes from, decided once (before the run opens) from the spec and environment."""
        if self.key_source is not None:
            return self.key_source
        if self.api_key_secret:
            return SECRET_PREFIX + self.api_key_secret
        if os.environ.get(API_KEY_ENV):
            return "env"
        return "none" if self.base_url or os.environ.get(BASE_URL_ENV) else "embedded"

    @property
    def embedded(self) -> bool:
        """Whether the run talks to the embedded local server (no key and no URL anywhere)."""
        return self.chosen_key_source() == "embedded"

    @property
    def secret_block(self) -> str | None:
        source = self.chosen_key_source()
        return source[len(SECRET_PREFIX) :] if source.startswith(SECRET_PREFIX) else None

    def endpoint_id(self) -> str:
        """What identifies the endpoint's audio in cache keys, known without opening anything (dry runs)."""
        if self.embedded:
            return EMBEDDED_ENDPOINT_ID
        return normalize_base_url(self.base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL)

    def opened(
        self, *, run_id: str, flow: str, unit: Unit, base_url: str, key_source: str, out_dir: Path, max_in_flight: int
    ) -> RunSpec:
        """The spec as the opened run sees it: every process that opens it reaches the same run."""
        return replace(
            self,
            run_id=run_id,
            flow=flow,
            unit=unit,
            base_url=base_url,
            key_source=key_source,
            cache_dir=str(self.cache_root(out_dir).resolve()),
            ledger_dir=str(self.ledger_root(out_dir).resolve()),
            max_in_flight=max_in_flight,
        )

    @property
    def is_open(self) -> bool:
        return self.run_id is not None
