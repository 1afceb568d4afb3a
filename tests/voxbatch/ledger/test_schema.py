"""The ledger schema stays in step with CallRecord, and records convert to schema-exact tables."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import UTC, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from tests.voxbatch.ledger.record_factory import DEFAULT_STARTED_AT, make_record
from voxbatch.ledger.record import CallRecord
from voxbatch.ledger.schema import LEDGER_SCHEMA, records_to_table

T0 = DEFAULT_STARTED_AT


FULL = {
    "item_id": "ch01",
    "chunk_index": 3,
    "model": "hexgrad/Kokoro-82M",
    "voice": "af_heart",
    "input_chars": 1234,
    "audio_seconds": 61.25,
    "bytes": 2_940_000,
    "attempts": 2,
    "retry_wait_s": 1.5,
    "http_status": 200,
    "error": "HTTPStatusError: 503",
    "request_id": "req-abc",
    "ttfb_s": 0.125,
    "cost_usd": 0.004936,
    "cached": True,
    "kind": "item",
}


def test_schema_names_match_dataclass_fields_in_order() -> None:
    assert LEDGER_SCHEMA.names == [f.name for f in dataclasses.fields(CallRecord)]


def test_schema_nullability_matches_optional_annotations() -> None:
    hints = typing.get_type_hints(CallRecord)
    for field in LEDGER_SCHEMA:
        hint = hints[field.name]
        optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
        assert field.nullable == optional, field.name


def test_started_at_is_utc_microseconds() -> None:
    assert LEDGER_SCHEMA.field("started_at").type == pa.timestamp("us", tz="UTC")


def test_all_null_optionals_round_trip() -> None:
    record = make_record()
    table = records_to_table([record])
    assert table.schema.equals(LEDGER_SCHEMA)
    assert CallRecord(**table.to_pylist()[0]) == record


def test_full_values_round_trip() -> None:
    record = make_record(**FULL)
    table = records_to_table([record, make_record()])
    assert table.schema.equals(LEDGER_SCHEMA)
    assert table.num_rows == 2
    back = CallRecord(**table.to_pylist()[0])
    assert back == record
    assert back.started_at.tzinfo is not None
    assert back.started_at.utcoffset() == timedelta(0)


def test_non_utc_aware_time_is_converted_to_utc() -> None:
    plus2 = timezone(timedelta(hours=2))
    record = make_record(started_at=datetime(2026, 3, 2, 1, 0, tzinfo=plus2))
    row = records_to_table([record]).to_pylist()[0]
    assert row["started_at"] == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def test_naive_started_at_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        records_to_table([make_record(started_at=datetime(2026, 3, 1, 12, 0))])


def test_none_in_required_column_is_rejected() -> None:
    with pytest.raises(ValueError, match="'flow' must not be None"):
        records_to_table([make_record(flow=None)])


def test_empty_sequence_gives_empty_table_of_the_schema() -> None:
    table = records_to_table([])
    assert table.num_rows == 0
    assert table.schema.equals(LEDGER_SCHEMA)
