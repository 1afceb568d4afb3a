"""Ledger records for tests: every field has a plain default; tests override what they care about."""

from __future__ import annotations

from datetime import UTC, datetime

from voxbatch.ledger.record import CallRecord

DEFAULT_STARTED_AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def make_record(**overrides: object) -> CallRecord:
    values: dict[str, object] = {
        "run_id": "run1",
        "flow": "audiobook",
        "item_id": None,
        "chunk_index": None,
        "provider": "together",
        "endpoint": "speech",
        "model": None,
        "voice": None,
        "transport": "rest",
        "input_chars": None,
        "audio_seconds": None,
        "bytes": None,
        "attempts": 1,
        "retry_wait_s": 0.0,
        "http_status": None,
        "status": "ok",
        "error": None,
        "request_id": None,
        "started_at": DEFAULT_STARTED_AT,
        "ttfb_s": None,
        "latency_s": 0.5,
        "cost_usd": None,
        "cached": False,
    }
    values.update(overrides)
    return CallRecord(**values)  # type: ignore[arg-type]
