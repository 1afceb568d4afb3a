"""What a run returns: one typed result per item, in input order, and the run's own facts.

Both pipelines return the same :class:`RunReport`; the summary (terminal, Prefect artifacts), the command's exit
code and the tests all read it. A dry run's report carries the :attr:`RunReport.estimate` and no items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from voxbatch.run.estimate import RunEstimate

ItemStatus = Literal["pending", "ok", "skipped", "failed", "stopped", "skipped_budget"]
FINISHED_STATUSES = frozenset({"ok", "skipped"})


@dataclass(frozen=True)
class ItemResult:
    """What became of one item (a book or a recording), and what it cost."""

    item_id: str
    status: ItemStatus = "pending"
    error: str | None = None
    chunks: int | None = None  # all of the item's chunks (None: not planned)
    from_cache: int | None = None  # chunks that made no request
    duration_s: float | None = None  # the finished audio's (or recording's) length
    wall_s: float | None = None
    path: str | None = None  # the main output (the audiobook's audio file)
    paths: dict[str, str] = field(default_factory=dict)  # every output by kind (transcripts: txt, srt, ...)
    chapters: int | None = None  # audiobooks
    words: int | None = None  # transcripts
    language: str | None = None  # transcripts: the language heard
    cost_usd: float | None = 0.0  # None: a price is unknown
    requests: int = 0  # attempts sent (retries included)
    possibly_billed_usd: float | None = 0.0  # timed out or cut off after sending: outcome unknown
    flags: tuple[str, ...] = ()  # finished, but not as asked: e.g. a chunk still bad after its repeats (audiobooks)

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def outputs(self) -> str:
        """The outputs as the summary names them."""
        return self.path or ", ".join(self.paths.values())


@dataclass(frozen=True)
class WorkerUse:
    """Where a run's units of work ran on a Dask cluster, and what it offered (so a summary can say why fewer ran).

    ``used`` worker processes sent back at least one of the ``units`` the run sent; the cluster had ``cluster``
    of them when the first unit was sent (None: it could not be asked), and a local cluster was started with
    ``expected`` (None: an existing cluster given by address).
    """

    used: int
    units: int
    cluster: int | None = None
    expected: int | None = None

    @property
    def offered(self) -> int | None:
        """The worker processes the run could have used (the larger of what it found and what it asked for)."""
        known = [n for n in (self.cluster, self.expected) if n is not None]
        return max(known) if known else None


@dataclass
class RunReport:
    """A run of either pipeline, as its flow returns it."""

    flow: str  # "audiobook" | "transcripts"
    items: dict[str, ItemResult] = field(default_factory=dict)  # in input order
    row_errors: list[str] = field(default_factory=list)  # rows that never became items, and items' row errors
    run_id: str | None = None
    endpoint: str | None = None  # where calls went (never with the key)
    ledger: str | None = None
    flow_run_id: str | None = None
    budget_usd: float | None = None
    wall_s: float | None = None
    workers: WorkerUse | None = None  # on a Dask cluster: the worker processes that ran units of work
    estimate: RunEstimate | None = None  # the dry run's answer; None for a real run

    @property
    def dry_run(self) -> bool:
        return self.estimate is not None

    @property
    def worker_processes(self) -> int | None:
        """Dask worker processes that ran units of work (None: the run used no cluster)."""
        return self.workers.used if self.workers is not None else None

    def statuses(self) -> dict[str, str]:
        """Item id -> status (handy in logs and tests)."""
        return {item: result.status for item, result in self.items.items()}
