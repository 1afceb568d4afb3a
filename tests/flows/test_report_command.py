"""``voxbatch report`` through the command line: formats, groupings, --since, option errors, empty and missing
ledgers, and --plot's PNG. No server and no Prefect: the command only reads Parquet."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.image import imread
from typer.testing import CliRunner

from flows.cli import app
from tests.voxbatch.ledger.record_factory import make_record
from voxbatch.charts.canvas import PNG_SIGNATURE
from voxbatch.charts.ledger_chart import ledger_png, ledger_title
from voxbatch.ledger.trends import NO_TRENDS, load_trends
from voxbatch.ledger.writer import LedgerWriter

DAY1 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
KOKORO = "hexgrad/Kokoro-82M"
WHISPER = "openai/whisper-large-v3"


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """Two days: day 1 two Kokoro calls (one retried) and the book's item record, day 2 a Whisper call and a hit."""
    root = tmp_path / "ledger"
    with LedgerWriter(root, "run1", flush_interval_s=3600.0) as writer:
        for record in (
            make_record(run_id="run1", model=KOKORO, item_id="book", input_chars=100, cost_usd=0.0004,
                        ttfb_s=0.2, latency_s=1.0, started_at=DAY1),
            make_record(run_id="run1", model=KOKORO, item_id="book", input_chars=200, cost_usd=0.0008,
                        attempts=2, ttfb_s=0.4, latency_s=3.0, started_at=DAY1),
            make_record(run_id="run1", model=KOKORO, item_id="book", kind="item", input_chars=300,
                        cost_usd=0.0012, started_at=DAY1),
            make_record(run_id="run1", flow="transcripts", endpoint="transcriptions", model=WHISPER,
                        item_id="talk", audio_seconds=120.0, cost_usd=0.003, ttfb_s=0.5, latency_s=4.0,
                        started_at=DAY2),
            make_record(run_id="run1", flow="transcripts", endpoint="transcriptions", model=WHISPER,
                        item_id="talk", audio_seconds=60.0, status="cached", cached=True, attempts=0,
                        latency_s=0.0, cost_usd=0.0, started_at=DAY2),
        ):  # fmt: skip
            writer.append(record)
    return root


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["report", *args])
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_report() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0 and "report" in result.output


def test_table_by_model(ledger: Path) -> None:
    code, out, err = invoke(str(ledger))
    assert code == 0, err
    assert out.startswith("period: 2026-03-01 10:00 to 2026-03-02 10:00 UTC\n")
    kokoro = next(line for line in out.splitlines() if line.startswith(KOKORO))
    assert kokoro.split()[1:4] == ["2", "3", "1"]  # calls, requests, retries: the item record is not a call
    assert "0.0012" in kokoro
    total = next(line for line in out.splitlines() if line.startswith("TOTAL"))
    assert total.split()[1] == "4" and "0.0042" in total


def test_json_by_day_matches_the_ledger(ledger: Path) -> None:
    code, out, err = invoke(str(ledger), "--by", "day", "--as", "json")
    assert code == 0, err
    records = json.loads(out)
    assert [r["day"] for r in records] == ["2026-03-01", "2026-03-02", "TOTAL"]
    day1, day2, total = records
    assert (day1["calls"], day1["requests"], day1["characters"], day1["items"]) == (2, 3, 300, 1)
    assert day1["cost_usd"] == pytest.approx(0.0012) and day1["latency_max_s"] == 3.0
    assert (day2["calls"], day2["cache_hits"], day2["cache_hit_rate"]) == (2, 1, 0.5)
    assert day2["audio_minutes"] == pytest.approx(2.0)  # the cached minute was not transcribed again
    assert day2["ttfb_p50_s"] == 0.5 and day2["latency_p95_s"] == 4.0  # the cached call is not in the latencies
    assert total["calls"] == 4 and total["failure_rate"] == 0.0 and total["cost_unknown_calls"] == 0


def test_csv_by_item_with_since(ledger: Path) -> None:
    code, out, err = invoke(str(ledger), "--by", "item", "--as", "csv", "--since", "2026-03-02")
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out))
    assert frame["item"].tolist() == ["talk", "TOTAL"]
    assert frame["calls"].tolist() == [2, 2]
    assert frame["item_status"].isna().all()  # the talk has no item record in the ledger


@pytest.mark.parametrize("by", ["model", "day", "run", "item", "flow", "endpoint"])
def test_every_grouping_runs(ledger: Path, by: str) -> None:
    code, out, err = invoke(str(ledger), "--by", by, "--as", "json")
    assert code == 0, err
    records = json.loads(out)
    assert records[-1][by] == "TOTAL" and records[-1]["calls"] == 4


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--since", "03/01/2026"], "--since"),
        (["--since", "2026-02-30"], "--since"),
        (["--by", "week"], "--by"),
        (["--as", "xml"], "--as"),
    ],
)
def test_bad_options_are_usage_errors(ledger: Path, args: list[str], option: str) -> None:
    code, out, err = invoke(str(ledger), *args)
    assert code == 2 and out == ""
    assert option in err and "Invalid value" in err


def test_a_missing_ledger_is_an_error(tmp_path: Path) -> None:
    code, out, err = invoke(str(tmp_path / "nope"))
    assert code == 1 and out == ""
    assert "no ledger at" in err


def test_an_empty_ledger_or_period_is_not_an_error(ledger: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = invoke(str(empty), "--as", "json")
    assert code == 0 and "no calls in" in err
    assert json.loads(out)[0]["calls"] == 0
    code, out, err = invoke(str(ledger), "--since", "2027-01-01")
    assert code == 0 and "since 2027-01-01" in err
    assert out.startswith("no calls\n")


def test_plot_draws_the_tables_period_into_a_png(ledger: Path, tmp_path: Path) -> None:
    chart = tmp_path / "night.png"
    code, out, err = invoke(str(ledger), "--plot", str(chart))
    assert code == 0 and out.startswith("period: ")  # the table as always
    assert f"chart: {chart} (2 days, 2026-03-01 to 2026-03-02 UTC)" in err
    png = chart.read_bytes()
    assert png.startswith(PNG_SIGNATURE) and imread(io.BytesIO(png), format="png").shape[1] == 1000
    trends = load_trends(ledger)  # its series: tests/voxbatch/ledger/test_trends.py and charts/test_ledger_chart.py
    assert trends.calls == (2, 2) and png == ledger_png(trends, ledger_title(ledger, trends))

    code, _, err = invoke(str(ledger), "--since", "2026-03-02", "--plot", str(chart))
    assert code == 0 and f"chart: {chart} (one hour: 2026-03-02 10:00 UTC)" in err  # one day: per hour
    day2 = load_trends(ledger, DAY2.date())
    assert day2.period == "hour" and chart.read_bytes() == ledger_png(day2, ledger_title(ledger, day2))


def test_plot_of_a_period_without_calls_is_a_chart_that_says_so(ledger: Path, tmp_path: Path) -> None:
    chart = tmp_path / "quiet.png"
    code, _, err = invoke(str(ledger), "--since", "2027-01-01", "--plot", str(chart))
    assert code == 0 and f"chart: {chart} (no calls in the period: the chart says so)" in err
    assert chart.read_bytes() == ledger_png(NO_TRENDS, ledger_title(ledger, NO_TRENDS))


@pytest.mark.parametrize("name", ["chart.jpg", "folder.png"])
def test_plot_needs_a_png_file_name(ledger: Path, tmp_path: Path, name: str) -> None:
    (tmp_path / "folder.png").mkdir()
    code, out, err = invoke(str(ledger), "--plot", str(tmp_path / name))
    assert code == 2 and out == "" and "Invalid value for --plot" in err


def test_a_chart_that_cannot_be_written_is_one_line(ledger: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    chart = tmp_path / "file" / "chart.png"
    code, _, err = invoke(str(ledger), "--plot", str(chart))
    assert code == 1 and f"cannot write the chart to {chart}: " in err and "Traceback" not in err


def test_by_item_shows_a_book_produced_then_skipped_as_produced(tmp_path: Path) -> None:
    root = tmp_path / "ledger"
    for run, day, status in (("night1", DAY1, "ok"), ("night2", DAY2, "skipped")):
        with LedgerWriter(root, run, flush_interval_s=3600.0) as writer:
            writer.append(make_record(run_id=run, item_id="book", kind="item", status=status, started_at=day))
    code, out, err = invoke(str(root), "--by", "item")
    assert code == 0, err
    header, book = out.splitlines()[2], next(line for line in out.splitlines() if line.startswith("book"))
    assert header.split()[-1] == "outcome" and book.endswith(" produced")
    code, out, err = invoke(str(root), "--by", "item", "--as", "json")
    first = json.loads(out)[0]
    assert (first["item"], first["item_outcome"], first["item_status"]) == ("book", "produced", "skipped")
