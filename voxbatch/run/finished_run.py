"""A run with nothing to do, recorded as :meth:`voxbatch.run.kernel.Kernel.run` records one, with nothing opened.

When every item is already finished for exactly its inputs (:meth:`~voxbatch.run.kernel.Kernel.finished_run`),
the command ends before any server starts. What the run would have written is written all the same: a new run id
and, in the run's ledger, one ``skipped`` item record per item (no call record: nothing was called), with the
provider, model and voice a run would give it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from voxbatch.client.client import provider_label
from voxbatch.client.options import ClientOptions
from voxbatch.ledger.items import ItemTally, item_record
from voxbatch.ledger.writer import LedgerWriter
from voxbatch.run.context import new_run_id
from voxbatch.run.endpoint import NO_KEY
from voxbatch.run.report import ItemResult
from voxbatch.run.spec import RunSpec

EMBEDDED_PROVIDER = "local"  # what a run on the embedded server records (it listens on this machine)


class Described(Protocol):
    """What of the pipeline the records need."""

    @property
    def flow(self) -> str: ...
    @property
    def kind(self) -> str: ...
    def describe(self, row: Any) -> tuple[str | None, str | None]: ...


def endpoint_description(spec: RunSpec) -> str:
    """Where the run would have called (never with the key), and that it did not."""
    if spec.embedded:
        return "the embedded local server (not started: nothing to do)"
    return f"{spec.endpoint_id()} (not called: nothing to do)"


def record_finished_run(
    spec: RunSpec,
    pipeline: Described,
    ledger_root: Path,
    finished: Sequence[tuple[Any, ItemResult]],
    started_at: datetime,
) -> str:
    """Write each (row, skipped result) as its item record in a new run of ``ledger_root``; returns the run id."""
    run_id = new_run_id(pipeline.flow)
    url = spec.endpoint_id()
    provider = EMBEDDED_PROVIDER if spec.embedded else provider_label(ClientOptions(api_key=NO_KEY, base_url=url))
    ledger = LedgerWriter(ledger_root, run_id)  # opening it folds a killed run's journal, as a run's would
    try:
        for row, result in finished:
            model, voice = pipeline.describe(row)
            ledger.append(
                item_record(
                    run_id=run_id,
                    flow=pipeline.flow,
                    provider=provider,
                    endpoint=pipeline.kind,
                    item_id=result.item_id,
                    model=model,
                    voice=voice,
                    tally=ItemTally(),
                    status="skipped",
                    error=None,
                    started_at=started_at,
                    wall_s=result.wall_s or 0.0,
                    audio_seconds=result.duration_s,
                )
            )
    finally:
        ledger.close()
    return run_id
