"""What a worker process needs to make a run's calls itself: where to call, how to find the key, how to pace.

When a flow's task runs go to other processes (a Dask cluster), an open client cannot travel with them. The
flow sends this small, JSON-friendly spec instead, and each task builds its own client from it. The API key
itself is never in the spec (task parameters are recorded by Prefect): ``key_source`` says where the worker
finds it: ``env`` (``TOGETHER_API_KEY`` in the worker's environment), ``secret:<block>`` (a Prefect Secret
block), ``embedded`` (the embedded server's non-secret key) or ``none`` (a compatible server without keys).
"""

from __future__ import annotations

from dataclasses import dataclass

from voxbatch.defaults import MAX_ATTEMPTS_PER_CALL, MAX_IN_FLIGHT

KEY_SOURCES = ("env", "embedded", "none")
SECRET_PREFIX = "secret:"


@dataclass(frozen=True)
class WorkerSpec:
    """A run's connection, pacing and storage, as every worker of the run sees them."""

    run_id: str
    flow: str
    base_url: str
    key_source: str  # env | embedded | none | secret:<block name>
    cache_dir: str  # shared by all workers (a shared disk when they are on several machines)
    ledger_dir: str
    max_in_flight: int = MAX_IN_FLIGHT  # per worker
    max_attempts: int = MAX_ATTEMPTS_PER_CALL
    limit_name: str | None = None  # the Prefect global concurrency limit that shares the request rate
    requests_per_minute: float | None = None  # the shared rate (or, without a limit name, each worker's own)
    units_per_minute: float | None = None  # characters or audio seconds per minute, per task run
    unit: str = "chars"  # "chars" (speech) or "audio_s" (transcription)
    timeout_s: float | None = None  # every attempt's timeout (--timeout-s); None: it follows the work

    def __post_init__(self) -> None:
        if self.key_source not in KEY_SOURCES and not self.key_source.startswith(SECRET_PREFIX):
            raise ValueError(f"key_source must be one of {', '.join(KEY_SOURCES)} or secret:<block>")

    @property
    def secret_block(self) -> str | None:
        return self.key_source[len(SECRET_PREFIX) :] if self.key_source.startswith(SECRET_PREFIX) else None
