"""The ledger report on a ledger written in the test: every figure against hand-computed values, each grouping,
``since`` partition pruning, and each output format read back."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.voxbatch.ledger.record_factory import make_record
from voxbatch.ledger.record import CallRecord
from voxbatch.ledger.report import (
    REPORT_COLUMNS,
    SUMMARY_COLUMNS,
    TOTAL_LABEL,
    ReportOptions,
    build_report,
    load_calls,
    parse_since,
    render,
    summarize,
)
from voxbatch.ledger.writer import LedgerWriter, read_ledger

KOKORO = "hexgrad/Kokoro-82M"  # priced
SONIC = "cartesia/sonic-2"  # price unknown: cost_usd None
WHISPER = "openai/whisper-large-v3"  # priced per audio minute
D1, D2, D3 = "2026-03-01", "2026-03-02", "2026-03-03"
LONG_INTERVAL_S = 3600.0


def at(day: str, hh_mm_ss: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hh_mm_ss}").replace(tzinfo=UTC)


def call(run: str, flow: str, model: str | None, item: str | None, when: datetime, **fields: object) -> CallRecord:
    endpoint = "transcriptions" if model == WHISPER else "speech"
    return make_record(run_id=run, flow=flow, model=model, item_id=item, endpoint=endpoint, started_at=when, **fields)


def item_row(run: str, flow: str, model: str, item: str, when: datetime, status: str, **fields: object) -> CallRecord:
    """An item summary record; its totals repeat its calls' and must never be counted as calls."""
    return call(run, flow, model, item, when, kind="item", transport="item", status=status, **fields)


def cached(run: str, flow: str, model: str, item: str, when: datetime, **fields: object) -> CallRecord:
    return call(
        run, flow, model, item, when, status="cached", cached=True, attempts=0, latency_s=0.0, cost_usd=0.0, **fields
    )


# Three nights. night1: book-a (Kokoro: ok, 2 retries, failed, cached) and book-b (Sonic, unknown price: ok, failed),
# plus a free voices call; night2 crosses midnight UTC: talk-1 (2 Whisper calls), talk-2 (cached), talk-3 (skipped,
# no calls); night3 re-runs book-a (one fresh call, one cached). Latency and TTFB are in seconds.
LEDGER: dict[str, list[CallRecord]] = {
    "night1": [
        call("night1", "audiobook", KOKORO, "book-a", at(D1, "10:00:00"), chunk_index=0, input_chars=400,
             audio_seconds=25.0, ttfb_s=0.20, latency_s=1.10, cost_usd=0.0016, http_status=200),
        call("night1", "audiobook", KOKORO, "book-a", at(D1, "10:00:05"), chunk_index=1, input_chars=300,
             audio_seconds=20.0, attempts=3, retry_wait_s=3.0, ttfb_s=0.30, latency_s=5.40, cost_usd=0.0012),
        call("night1", "audiobook", KOKORO, "book-a", at(D1, "10:00:10"), chunk_index=2, input_chars=500,
             attempts=5, status="failed", error="ServerError: 503", http_status=503, latency_s=12.0, cost_usd=0.0),
        cached("night1", "audiobook", KOKORO, "book-a", at(D1, "10:00:11"), chunk_index=3, input_chars=200,
               audio_seconds=12.0),
        item_row("night1", "audiobook", KOKORO, "book-a", at(D1, "10:00:00"), "failed", input_chars=1400,
                 audio_seconds=57.0, attempts=9, latency_s=30.0, cost_usd=0.0028, chunks=4),
        call("night1", "audiobook", SONIC, "book-b", at(D1, "11:00:00"), input_chars=250, audio_seconds=15.0,
             ttfb_s=0.50, latency_s=2.0, cost_usd=None),
        call("night1", "audiobook", SONIC, "book-b", at(D1, "11:00:05"), input_chars=260, attempts=2,
             status="failed", latency_s=3.0, cost_usd=None),
        item_row("night1", "audiobook", SONIC, "book-b", at(D1, "11:00:00"), "failed", cost_usd=None, chunks=2),
        make_record(run_id="night1", flow="audiobook", endpoint="voices", started_at=at(D1, "09:59:00"),
                    ttfb_s=0.01, latency_s=0.05, cost_usd=None),
    ],
    "night2": [
        call("night2", "transcripts", WHISPER, "talk-1", at(D2, "23:59:50"), audio_seconds=600.0, ttfb_s=0.80,
             latency_s=9.0, cost_usd=0.015),
        call("night2", "transcripts", WHISPER, "talk-1", at(D3, "00:00:05"), audio_seconds=300.0, attempts=2,
             ttfb_s=0.60, latency_s=6.5, cost_usd=0.0075),
        item_row("night2", "transcripts", WHISPER, "talk-1", at(D2, "23:59:50"), "ok", audio_seconds=900.0,
                 cost_usd=0.0225, chunks=2),
        cached("night2", "transcripts", WHISPER, "talk-2", at(D3, "00:01:00"), audio_seconds=120.0),
        item_row("night2", "transcripts", WHISPER, "talk-2", at(D3, "00:01:00"), "ok", cached=True, cost_usd=0.0),
        item_row("night2", "transcripts", WHISPER, "talk-3", at(D3, "00:02:00"), "skipped", chunks=0),
    ],
    "night3": [
        call("night3", "audiobook", KOKORO, "book-a", at(D3, "10:00:00"), chunk_index=2, input_chars=500,
             audio_seconds=30.0, ttfb_s=0.25, latency_s=1.6, cost_usd=0.002),
        cached("night3", "audiobook", KOKORO, "book-a", at(D3, "10:00:01"), chunk_index=0, input_chars=400,
               audio_seconds=25.0),
        item_row("night3", "audiobook", KOKORO, "book-a", at(D3, "10:00:00"), "ok", cost_usd=0.002, chunks=2),
    ],
}  # fmt: skip

# Per model, by hand. Latency/TTFB: the calls that went on the wire (not cached), failed ones included.
EXPECTED_BY_MODEL: dict[str | None, dict[str, object]] = {
    KOKORO: {
        "calls": 6, "requests": 10, "retries": 6, "failed": 1, "cache_hits": 2, "cost_usd": 0.0048,
        "cost_unknown_calls": 0, "characters": 1200, "audio_minutes": 75.0 / 60, "items": 1,
        "latency": [1.10, 5.40, 12.0, 1.6], "ttfb": [0.20, 0.30, 0.25],
        "first": at(D1, "10:00:00"), "last": at(D3, "10:00:01"),
    },
    SONIC: {
        "calls": 2, "requests": 3, "retries": 1, "failed": 1, "cache_hits": 0, "cost_usd": 0.0,
        "cost_unknown_calls": 1, "characters": 250, "audio_minutes": 15.0 / 60, "items": 1,
        "latency": [2.0, 3.0], "ttfb": [0.50],
        "first": at(D1, "11:00:00"), "last": at(D1, "11:00:05"),
    },
    WHISPER: {
        "calls": 3, "requests": 3, "retries": 1, "failed": 0, "cache_hits": 1, "cost_usd": 0.0225,
        "cost_unknown_calls": 0, "characters": 0, "audio_minutes": 900.0 / 60, "items": 3,
        "latency": [9.0, 6.5], "ttfb": [0.80, 0.60],
        "first": at(D2, "23:59:50"), "last": at(D3, "00:02:00"),
    },
    None: {  # the voices call: no model, not billed, so its missing price is not "unknown"
        "calls": 1, "requests": 1, "retries": 0, "failed": 0, "cache_hits": 0, "cost_usd": 0.0,
        "cost_unknown_calls": 0, "characters": 0, "audio_minutes": 0.0, "items": 0,
        "latency": [0.05], "ttfb": [0.01],
        "first": at(D1, "09:59:00"), "last": at(D1, "09:59:00"),
    },
}  # fmt: skip
EXPECTED_TOTAL: dict[str, object] = {
    "calls": 12, "requests": 17, "retries": 8, "failed": 2, "cache_hits": 3, "cost_usd": 0.0273,
    "cost_unknown_calls": 1, "characters": 1450, "audio_minutes": 990.0 / 60, "items": 5,
    "latency": [1.10, 5.40, 12.0, 1.6, 2.0, 3.0, 0.05, 9.0, 6.5], "ttfb": [0.20, 0.30, 0.25, 0.50, 0.01, 0.80, 0.60],
    "first": at(D1, "09:59:00"), "last": at(D3, "10:00:01"),
}  # fmt: skip


def write_ledger(root: Path, ledger: dict[str, list[CallRecord]] = LEDGER) -> Path:
    for run_id, records in ledger.items():
        with LedgerWriter(root, run_id, flush_interval_s=LONG_INTERVAL_S) as writer:
            for record in records:
                writer.append(record)
    return root


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    return write_ledger(tmp_path / "ledger")


def row_of(summary: pd.DataFrame, key: str | None) -> pd.Series:
    column = summary.columns[0]
    matches = summary[summary[column].isna()] if key is None else summary[summary[column] == key]
    assert len(matches) == 1, (key, summary[column].tolist())
    return matches.iloc[0]


def assert_figures(row: pd.Series, expected: dict[str, object]) -> None:
    """Every summary figure of ``row`` against ``expected`` (rates derived; percentiles against numpy)."""
    calls = expected["calls"]
    assert isinstance(calls, int)
    for name in ("calls", "requests", "retries", "failed", "cache_hits", "cost_unknown_calls", "characters", "items"):
        assert row[name] == expected[name], name
    assert row["cost_usd"] == pytest.approx(expected["cost_usd"], abs=1e-12)
    assert row["audio_minutes"] == pytest.approx(expected["audio_minutes"])
    assert row["failure_rate"] == pytest.approx(expected["failed"] / calls)  # type: ignore[operator]
    assert row["cache_hit_rate"] == pytest.approx(expected["cache_hits"] / calls)  # type: ignore[operator]
    for name in ("latency", "ttfb"):
        values = np.array(expected[name])
        p50, p95 = np.percentile(values, [50, 95])
        assert row[f"{name}_p50_s"] == pytest.approx(p50), name
        assert row[f"{name}_p95_s"] == pytest.approx(p95), name
        assert row[f"{name}_max_s"] == pytest.approx(values.max()), name
    assert row["first_started_at"] == expected["first"]
    assert row["last_started_at"] == expected["last"]


# -- loading ----------------------------------------------------------------------------------------------------


def test_load_calls_reads_only_the_report_columns(ledger: Path) -> None:
    rows = load_calls(ledger)
    assert list(rows.columns) == list(REPORT_COLUMNS)
    assert "error" not in rows.columns and "request_id" not in rows.columns
    assert all(isinstance(rows[name].dtype, pd.CategoricalDtype) for name in ("model", "item_id", "status", "date"))
    assert len(rows) == sum(len(records) for records in LEDGER.values())


def test_since_skips_whole_partitions_without_opening_them(ledger: Path) -> None:
    # A file in an earlier partition that is not Parquet at all: reading it would fail.
    (ledger / f"date={D1}" / "run-junk-00001.parquet").write_bytes(b"not parquet")
    with pytest.raises(pa.ArrowInvalid):
        load_calls(ledger)
    rows = load_calls(ledger, since=date(2026, 3, 2))
    assert sorted(rows["date"].unique()) == [D2, D3]
    assert (rows["started_at"] >= at(D2, "00:00:00")).all()
    summary = summarize(rows, "day")
    assert summary["day"].tolist() == [D2, D3, TOTAL_LABEL]
    assert row_of(summary, TOTAL_LABEL)["calls"] == 5  # talk-1 twice, talk-2 cached, book-a twice on night3


def test_since_after_the_last_partition_and_a_missing_root_give_a_zero_total(ledger: Path, tmp_path: Path) -> None:
    for rows in (load_calls(ledger, since=date(2027, 1, 1)), load_calls(tmp_path / "missing")):
        assert rows.empty and list(rows.columns) == list(REPORT_COLUMNS)
        summary = summarize(rows, "model")
        assert summary["model"].tolist() == [TOTAL_LABEL]
        total = summary.iloc[0]
        assert total["calls"] == 0 and total["cost_usd"] == 0.0 and total["items"] == 0
        assert pd.isna(total["failure_rate"]) and pd.isna(total["latency_p50_s"])
        assert render(summary, "table").startswith("no calls\n")
        assert json.loads(render(summary, "json"))[0]["calls"] == 0


def test_read_ledger_keeps_its_defaults_and_rejects_unknown_columns(ledger: Path) -> None:
    whole = read_ledger(ledger)
    assert "error" in whole.columns and len(whole) == 18
    assert len(read_ledger(ledger, run_id="night2", since=date(2026, 3, 3))) == 4
    with pytest.raises(ValueError, match="nope"):
        read_ledger(ledger, columns=["run_id", "nope"])
    as_categories = read_ledger(ledger, run_id="night1", categories=["run_id", "model", "date"])
    assert as_categories["run_id"].dtype == "category" and as_categories["date"].dtype == "category"
    plain = read_ledger(ledger, run_id="night1")
    assert as_categories.astype({"run_id": str, "model": str, "date": str}).equals(plain.astype({"model": str}))
    with pytest.raises(ValueError, match="only string columns"):
        read_ledger(ledger, categories=["attempts"])


# -- the figures ------------------------------------------------------------------------------------------------


def test_every_figure_by_model_and_in_total(ledger: Path) -> None:
    summary = summarize(load_calls(ledger), "model")
    assert list(summary.columns) == ["model", *SUMMARY_COLUMNS]
    assert summary["model"].tolist() == [SONIC, KOKORO, WHISPER, None, TOTAL_LABEL]  # sorted, null key last
    for model, expected in EXPECTED_BY_MODEL.items():
        assert_figures(row_of(summary, model), expected)
    assert_figures(row_of(summary, TOTAL_LABEL), EXPECTED_TOTAL)


def test_item_rows_are_not_counted_as_calls(ledger: Path) -> None:
    rows = load_calls(ledger)
    calls_only = summarize(rows[rows["kind"] == "call"], "model")
    with_items = summarize(rows, "model")
    for figure in ("calls", "requests", "retries", "failed", "cost_usd", "characters", "audio_minutes"):
        assert with_items[figure].tolist() == calls_only[figure].tolist(), figure
    assert with_items["latency_max_s"].tolist() == calls_only["latency_max_s"].tolist()  # the item's 30 s is not


def test_by_day_uses_the_utc_date_partition(ledger: Path) -> None:
    summary = summarize(load_calls(ledger), "day")
    assert summary["day"].tolist() == [D1, D2, D3, TOTAL_LABEL]
    d1, d2, d3 = (row_of(summary, day) for day in (D1, D2, D3))
    assert [d1["calls"], d2["calls"], d3["calls"]] == [7, 1, 4]  # night2 crosses midnight: one call on each side
    assert [d1["items"], d2["items"], d3["items"]] == [2, 1, 4]
    assert d1["cost_usd"] == pytest.approx(0.0028) and d1["cost_unknown_calls"] == 1
    assert d2["cost_usd"] == pytest.approx(0.015)
    assert d3["cost_usd"] == pytest.approx(0.0095)
    assert d3["cache_hit_rate"] == pytest.approx(2 / 4)
    assert d1["latency_p95_s"] == pytest.approx(np.percentile([0.05, 1.10, 5.40, 12.0, 2.0, 3.0], 95))
    assert_figures(row_of(summary, TOTAL_LABEL), EXPECTED_TOTAL)


def test_by_run_flow_and_endpoint(ledger: Path) -> None:
    rows = load_calls(ledger)
    by_run = summarize(rows, "run")
    assert by_run["run"].tolist() == ["night1", "night2", "night3", TOTAL_LABEL]
    assert by_run["calls"].tolist() == [7, 3, 2, 12]
    assert by_run["items"].tolist() == [2, 3, 1, 5]
    assert by_run["requests"].tolist() == [13, 3, 1, 17]
    assert row_of(by_run, "night2")["first_started_at"] == at(D2, "23:59:50")
    by_flow = summarize(rows, "flow")
    assert by_flow["flow"].tolist() == ["audiobook", "transcripts", TOTAL_LABEL]
    assert by_flow["calls"].tolist() == [9, 3, 12]
    assert by_flow["cost_usd"].tolist() == pytest.approx([0.0048, 0.0225, 0.0273])
    by_endpoint = summarize(rows, "endpoint")
    assert by_endpoint["endpoint"].tolist() == ["speech", "transcriptions", "voices", TOTAL_LABEL]
    assert by_endpoint["calls"].tolist() == [8, 3, 1, 12]
    assert by_endpoint["cost_unknown_calls"].tolist() == [1, 0, 0, 1]


def test_by_item_groups_calls_and_shows_the_latest_item_status(ledger: Path) -> None:
    summary = summarize(load_calls(ledger), "item")
    assert list(summary.columns) == ["item", *SUMMARY_COLUMNS, "item_status", "item_outcome"]
    assert summary["item"].tolist() == ["book-a", "book-b", "talk-1", "talk-2", "talk-3", None, TOTAL_LABEL]
    # book-a failed on night1 and was finished on night3: its latest item record says ok.
    assert summary["item_status"].tolist() == ["ok", "failed", "ok", "ok", "skipped", None, None]
    # Over the period, book-a was produced (its night1 failure does not undo night3's book).
    assert summary["item_outcome"].tolist() == ["produced", "failed", "produced", "produced", "skipped", None, None]
    assert_figures(row_of(summary, "book-a"), {**EXPECTED_BY_MODEL[KOKORO], "items": 1})
    assert summary["calls"].tolist() == [6, 2, 2, 1, 0, 1, 12]
    talk3 = row_of(summary, "talk-3")  # item record only: counted as an item, no calls, no rates
    assert talk3["items"] == 1 and pd.isna(talk3["failure_rate"]) and pd.isna(talk3["latency_max_s"])
    book_a = summarize(load_calls(ledger, since=date(2026, 3, 3)), "item")
    assert row_of(book_a, "book-a")["calls"] == 2  # the period decides which calls and which item record count


@pytest.mark.parametrize("by", ["model", "day", "run", "item", "flow", "endpoint"])
def test_plain_string_columns_give_the_same_summary(ledger: Path, by: str) -> None:
    # load_calls reads categoricals; read_ledger's default (every column, plain strings) must give the same.
    pd.testing.assert_frame_equal(summarize(read_ledger(ledger), by), summarize(load_calls(ledger), by))  # type: ignore[arg-type]


def test_summarize_rejects_an_unknown_grouping(ledger: Path) -> None:
    with pytest.raises(ValueError, match="by must be one of"):
        summarize(load_calls(ledger), "voice")  # type: ignore[arg-type]


# -- options ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-3-1", "20260301", "2026-W09-1", "2026-02-30", "yesterday", ""])
def test_parse_since_takes_only_yyyy_mm_dd(text: str) -> None:
    with pytest.raises(ValueError, match="date"):
        parse_since(text)


def test_options_are_checked() -> None:
    assert parse_since("2026-03-01") == date(2026, 3, 1)
    assert ReportOptions() == ReportOptions(since=None, by="model", fmt="table")
    with pytest.raises(ValueError, match="by must be"):
        ReportOptions(by="week")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fmt must be"):
        ReportOptions(fmt="xml")  # type: ignore[arg-type]


# -- output formats ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["model", "item"])
def test_csv_reads_back_to_the_same_figures(ledger: Path, by: str) -> None:
    summary = summarize(load_calls(ledger), by)  # type: ignore[arg-type]
    back = pd.read_csv(io.StringIO(render(summary, "csv")))
    assert list(back.columns) == list(summary.columns)
    assert [None if pd.isna(key) else key for key in back[by]] == summary[by].tolist()
    numeric = [name for name in SUMMARY_COLUMNS if not name.endswith("started_at")]
    np.testing.assert_allclose(back[numeric].to_numpy(float), summary[numeric].to_numpy(float), equal_nan=True)
    for name in ("first_started_at", "last_started_at"):
        assert pd.to_datetime(back[name], utc=True).tolist() == summary[name].tolist()


@pytest.mark.parametrize("by", ["model", "day", "item"])
def test_json_records_have_numbers_nulls_and_iso_times(ledger: Path, by: str) -> None:
    summary = summarize(load_calls(ledger), by)  # type: ignore[arg-type]
    records = json.loads(render(summary, "json"))
    assert len(records) == len(summary)
    for record, (_, row) in zip(records, summary.iterrows(), strict=True):
        assert list(record) == list(summary.columns)
        assert record[by] == row[by]
        for name in SUMMARY_COLUMNS:
            value = record[name]
            if pd.isna(row[name]):
                assert value is None, name
            elif name.endswith("started_at"):
                assert datetime.fromisoformat(value) == row[name], name
            else:
                assert isinstance(value, int | float) and not isinstance(value, bool), name
                assert value == pytest.approx(row[name], rel=1e-12), name
    total = records[-1]
    assert total[by] == TOTAL_LABEL and total["calls"] == 12 and total["cost_unknown_calls"] == 1


def test_table_is_aligned_marks_lower_bounds_and_is_the_same_every_time(ledger: Path) -> None:
    summary = summarize(load_calls(ledger), "model")
    text = render(summary, "table")
    assert text == render(summary, "table")
    lines = text.splitlines()
    assert lines[0] == "period: 2026-03-01 09:59 to 2026-03-03 10:00 UTC"
    header, rule = lines[2], lines[3]
    assert header.split()[:3] == ["model", "calls", "requests"]
    table = lines[2 : lines.index("", 2)]  # header, rules, groups and TOTAL: every line as wide as the header
    assert len(table) == 2 + 4 + 2 and {len(line) for line in table} == {len(header)}
    assert set(rule) == {"-", " "}
    sonic = next(line for line in lines if line.startswith(SONIC))
    assert ">=0.0000" in sonic and "1 (50.0%)" in sonic
    kokoro = next(line for line in lines if line.startswith(KOKORO))
    assert " 0.0048 " in kokoro and "1 (16.7%)" in kokoro and "2 (33.3%)" in kokoro
    assert next(line for line in lines if line.startswith("(none)"))
    total = next(line for line in lines if line.startswith(TOTAL_LABEL))
    assert ">=0.0273" in total and " 12 " in total
    assert "1 successful call(s) had no known price" in text
    assert "first (UTC)" not in header  # one period line instead, except by run and by item


def test_table_by_item_has_times_and_status(ledger: Path) -> None:
    lines = render(summarize(load_calls(ledger), "item"), "table").splitlines()
    assert lines[2].split()[-1] == "outcome" and "first (UTC)" in lines[2]
    assert lines[next(i for i, line in enumerate(lines) if line.startswith("talk-3"))].endswith("skipped")
    assert next(line for line in lines if line.startswith("book-a")).endswith("produced")
    assert next(line for line in lines if line.startswith("(none)")).endswith(" -")


def test_build_report_is_load_summarize_render(ledger: Path) -> None:
    options = ReportOptions(since=date(2026, 3, 2), by="run", fmt="csv")
    summary, text = build_report(ledger, options)
    assert summary["run"].tolist() == ["night2", "night3", TOTAL_LABEL]
    assert text == render(summarize(load_calls(ledger, options.since), "run"), "csv")
