"""The ledger's on-disk shape: one explicit Arrow schema for :class:`CallRecord`, and records-to-table conversion.

The schema is spelled out field by field (rather than inferred) so every Parquet file of the ledger has the
same types whatever values a flush happens to contain; ``tests/voxbatch/ledger/test_schema.py`` keeps it
in step with the dataclass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC

import pyarrow as pa

from voxbatch.ledger.record import CallRecord

# Microseconds are what ``datetime`` carries; UTC is what the record promises.
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")

LEDGER_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("flow", pa.string(), nullable=False),
        pa.field("item_id", pa.string()),
        pa.field("chunk_index", pa.int32()),
        pa.field("provider", pa.string(), nullable=False),
        pa.field("endpoint", pa.string(), nullable=False),
        pa.field("model", pa.string()),
        pa.field("voice", pa.string()),
        pa.field("transport", pa.string(), nullable=False),
        pa.field("input_chars", pa.int64()),
        pa.field("audio_seconds", pa.float64()),
        pa.field("bytes", pa.int64()),
        pa.field("attempts", pa.int32(), nullable=False),
        pa.field("retry_wait_s", pa.float64(), nullable=False),
        pa.field("http_status", pa.int32()),
        pa.field("status", pa.string(), nullable=False),
        pa.field("error", pa.string()),
        pa.field("request_id", pa.string()),
        pa.field("started_at", TIMESTAMP_TYPE, nullable=False),
        pa.field("ttfb_s", pa.float64()),
        pa.field("latency_s", pa.float64(), nullable=False),
        pa.field("cost_usd", pa.float64()),
        pa.field("cached", pa.bool_(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("chunks", pa.int32()),
        pa.field("possibly_billed_attempts", pa.int32(), nullable=False),  # null in files written before it
        pa.field("possibly_billed_usd", pa.float64()),
        pa.field("record_id", pa.string()),  # null in files written before it
        pa.field("purpose", pa.string()),  # null for a chunk's own call, and in files written before it
    ]
)

_FIELD_NAMES = tuple(f.name for f in fields(CallRecord))


def require_utc_aware(record: CallRecord) -> None:
    """Raise ValueError unless ``record.started_at`` is timezone-aware (a naive time has no UTC date)."""
    started = record.started_at
    if started.tzinfo is None or started.utcoffset() is None:
        raise ValueError(
            f"CallRecord.started_at must be timezone-aware UTC, got naive {started.isoformat()} "
            f"(run_id={record.run_id!r}, item_id={record.item_id!r})"
        )


def records_to_table(records: Sequence[CallRecord]) -> pa.Table:
    """The records as one table of exactly :data:`LEDGER_SCHEMA`; raises ValueError on a naive time or a null
    in a non-nullable column (pyarrow itself does not enforce nullability)."""
    columns: dict[str, list[object]] = {name: [] for name in _FIELD_NAMES}
    for record in records:
        require_utc_aware(record)
        for name in _FIELD_NAMES:
            value = getattr(record, name)
            if name == "started_at":
                value = value.astimezone(UTC)
            columns[name].append(value)
    table = pa.Table.from_pydict(columns, schema=LEDGER_SCHEMA)
    for field in LEDGER_SCHEMA:
        if not field.nullable and table.column(field.name).null_count:
            raise ValueError(f"ledger column {field.name!r} must not be None")
    return table
