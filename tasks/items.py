"""The one task that writes an item's summary record to the ledger, for every flow."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.run_resources import RunResources
from voxbatch.ledger.record import CallRecord, CallStatus


@task(name="record-item", cache_policy=NO_CACHE, task_run_name="record-{item_id}")
def record_item(
    resources: RunResources,
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
    """Write the item's summary record (chunks, units, audio, cost, wall time, status) to the ledger."""
    return resources.record_item(kind, item_id, model, voice, status, error, started_at, wall_s, audio_seconds)
