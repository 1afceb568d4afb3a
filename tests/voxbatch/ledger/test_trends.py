"""The ledger's trends: periods (days with gaps kept, hours for one day), spend per model, and latency and failure
figures that are the report's own (``report --by day``)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.voxbatch.ledger.record_factory import make_record
from voxbatch.ledger.record import CallRecord
from voxbatch.ledger.report import load_calls, summarize
from voxbatch.ledger.trends import MAX_MODELS, NO_MODEL, NO_TRENDS, OTHER_MODELS, ledger_trends, load_trends
from voxbatch.ledger.writer import LedgerWriter

KOKORO = "hexgrad/Kokoro-82M"
WHISPER = "openai/whisper-large-v3"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def write(root: Path, *records: CallRecord) -> Path:
    with LedgerWriter(root, "run1", flush_interval_s=3600.0) as writer:
        for record in records:
            writer.append(record)
    return root


def call(model: str | None, when: datetime, **fields: object) -> CallRecord:
    return make_record(model=model, started_at=when, **fields)


@pytest.fixture
def nights(tmp_path: Path) -> Path:
    """Night 1: two Kokoro calls (one failed), a Whisper call, an item record; night 2: nothing; night 3: one Kokoro
    call, one cached call, and one without a price."""
    return write(
        tmp_path / "ledger",
        call(KOKORO, at(1, 22), cost_usd=0.25, latency_s=1.0),
        call(KOKORO, at(1, 23), cost_usd=0.25, latency_s=3.0, status="failed"),
        call(WHISPER, at(1, 23, 30), endpoint="transcriptions", cost_usd=1.0, latency_s=5.0),
        call(KOKORO, at(1, 23, 45), kind="item", transport="item", cost_usd=0.5, latency_s=60.0),
        call(KOKORO, at(3, 22), cost_usd=0.75, latency_s=2.0),
        call(KOKORO, at(3, 22, 5), status="cached", cached=True, attempts=0, cost_usd=0.0, latency_s=0.0),
        call(None, at(3, 22, 10), cost_usd=None, latency_s=4.0),
    )


def test_days_with_a_gap_spend_per_model_and_the_reports_figures(nights: Path) -> None:
    trends = load_trends(nights)
    assert trends.period == "day"
    assert trends.periods == ("2026-03-01", "2026-03-02", "2026-03-03")  # the night without calls is kept
    assert [(s.model, s.usd) for s in trends.spend] == [(KOKORO, (0.5, 0.0, 0.75)), (WHISPER, (1.0, 0.0, 0.0))]
    assert trends.total_usd == pytest.approx(2.25)
    assert trends.calls == (3, 0, 3) and trends.failed == (1, 0, 0)  # the item record is not a call
    assert trends.failure_rate[0] == pytest.approx(1 / 3) and math.isnan(trends.failure_rate[1])
    assert math.isnan(trends.latency_p50_s[1]) and trends.latency_p50_s[2] == pytest.approx(3.0)  # cached: no wire
    assert trends.cost_unknown_calls == 1  # the model-less call has no price

    by_day = summarize(load_calls(nights), by="day").set_index("day")
    for index in (0, 2):
        row = by_day.loc[trends.periods[index]]
        assert trends.latency_p50_s[index] == pytest.approx(row["latency_p50_s"])
        assert trends.latency_p95_s[index] == pytest.approx(row["latency_p95_s"])
        assert trends.failure_rate[index] == pytest.approx(row["failure_rate"])
        assert sum(s.usd[index] for s in trends.spend) == pytest.approx(row["cost_usd"])


def test_since_keeps_only_later_days_and_one_day_is_drawn_per_hour(nights: Path) -> None:
    trends = load_trends(nights, since=date(2026, 3, 2))
    assert trends.period == "hour" and trends.periods == ("2026-03-03 22:00",)
    assert trends.calls == (3,) and [(s.model, s.usd) for s in trends.spend] == [(KOKORO, (0.75,))]


def test_hours_between_the_first_and_last_call_are_kept(tmp_path: Path) -> None:
    root = write(tmp_path / "ledger", call(KOKORO, at(5, 9), cost_usd=0.1), call(KOKORO, at(5, 12, 59), cost_usd=0.2))
    trends = load_trends(root)
    assert trends.periods == ("2026-03-05 09:00", "2026-03-05 10:00", "2026-03-05 11:00", "2026-03-05 12:00")
    assert trends.spend[0].usd == (0.1, 0.0, 0.0, 0.2) and trends.calls == (1, 0, 0, 1)


def test_no_calls_are_no_trends(nights: Path, tmp_path: Path) -> None:
    assert load_trends(tmp_path / "missing") == NO_TRENDS and NO_TRENDS.empty
    assert load_trends(nights, since=date(2027, 1, 1)).empty
    items_only = write(tmp_path / "items", call(KOKORO, at(1, 1), kind="item", transport="item", cost_usd=1.0))
    assert load_trends(items_only).empty


def test_many_models_are_summed_into_other_models_and_free_ones_left_out(tmp_path: Path) -> None:
    paid = [call(f"model-{n:02d}", at(1, 10), cost_usd=float(n)) for n in range(1, MAX_MODELS + 3)]
    root = write(tmp_path / "ledger", *paid, call("free", at(1, 11), cost_usd=0.0), call(None, at(1, 11)))
    trends = load_trends(root)
    names = [s.model for s in trends.spend]
    assert len(names) == MAX_MODELS and names[-1] == OTHER_MODELS
    assert names[0] == f"model-{MAX_MODELS + 2:02d}"  # the biggest first
    assert "free" not in names and NO_MODEL not in names
    assert trends.total_usd == pytest.approx(sum(range(1, MAX_MODELS + 3)))  # nothing lost in "other models"


def test_possibly_billed_is_kept_apart_from_the_spend(tmp_path: Path) -> None:
    rows = load_calls(
        write(
            tmp_path / "ledger",
            call(KOKORO, at(1, 1), cost_usd=0.5),
            call(KOKORO, at(1, 2), status="failed", possibly_billed_attempts=1, possibly_billed_usd=0.25),
        )
    )
    trends = ledger_trends(rows)
    assert trends.total_usd == pytest.approx(0.5) and trends.possibly_billed_usd == pytest.approx(0.25)
