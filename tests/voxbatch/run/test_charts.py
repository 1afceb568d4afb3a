"""A run's chart documents: the ledger's last 30 days inline (and saved as ledger-charts.png), the loudness chart
of each book the run stitched inline (the first few), nothing when there is nothing to draw."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.voxbatch.ledger.record_factory import make_record
from tests.voxbatch.manuscript.factory import png_bytes
from voxbatch.charts.ledger_chart import ledger_png, ledger_title
from voxbatch.ledger.trends import load_trends
from voxbatch.ledger.writer import LedgerWriter
from voxbatch.run import charts
from voxbatch.run.charts import LEDGER_CHART_FILE, run_chart_docs
from voxbatch.run.report import ItemResult, RunReport

TODAY = date(2026, 3, 31)
INLINE = re.compile(r"!\[[^\]]*\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)")


def _ledger(root: Path, *days: int) -> Path:
    with LedgerWriter(root, "run1", flush_interval_s=3600.0) as writer:
        for day in days:
            writer.append(make_record(model="m", cost_usd=0.5, started_at=datetime(2026, 3, day, 22, tzinfo=UTC)))
    return root


def _images(markdown: str) -> list[bytes]:
    return [base64.b64decode(found) for found in INLINE.findall(markdown)]


def test_the_ledger_chart_and_the_books_loudness(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "ledger", 1, 2, 30)  # the 1st is more than 30 days before the 31st
    chart = tmp_path / "out" / "a.loudness.png"
    chart.parent.mkdir()
    chart.write_bytes(png_bytes(8, 8))
    items = {
        "a": ItemResult("a", "ok", paths={"loudness": str(chart)}),
        "b": ItemResult("b", "skipped"),
        "c": ItemResult("c", "failed", error="boom"),
    }
    report = RunReport("audiobook", items=items, ledger=str(ledger))
    ledger_doc, loudness_doc = run_chart_docs(report, "Audiobook run", tmp_path / "out", today=TODAY)

    assert ledger_doc.name == "charts" and "spend per day" in ledger_doc.description
    assert "--since 2026-03-02" in ledger_doc.markdown and ledger_doc.markdown.startswith("# Audiobook run: ")
    (inline,) = _images(ledger_doc.markdown)
    trends = load_trends(ledger, date(2026, 3, 2))
    assert trends.periods[0] == "2026-03-02" and trends.periods[-1] == "2026-03-30"
    assert inline == ledger_png(trends, ledger_title(ledger, trends))  # exactly the chart of those 29 days
    assert (tmp_path / "out" / LEDGER_CHART_FILE).read_bytes() == inline

    assert loudness_doc.name == "loudness"
    assert "## `a`" in loudness_doc.markdown and "`b`" not in loudness_doc.markdown  # only books stitched now
    assert _images(loudness_doc.markdown) == [png_bytes(8, 8)]


def test_nothing_to_draw_is_no_documents(tmp_path: Path) -> None:
    report = RunReport("audiobook", items={"b": ItemResult("b", "skipped")}, ledger=str(tmp_path / "ledger"))
    assert run_chart_docs(report, "Audiobook run", tmp_path / "out", today=TODAY) == []
    assert not (tmp_path / "out").exists()
    assert run_chart_docs(RunReport("transcripts"), "Transcript run", tmp_path, today=TODAY) == []


def test_only_the_first_loudness_charts_are_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "MAX_EMBEDDED_CHARTS", 2)
    first, gone, third = tmp_path / "1.png", tmp_path / "gone.png", tmp_path / "3.png"
    first.write_bytes(png_bytes(2, 2))
    third.write_bytes(png_bytes(3, 3))
    items = {
        name: ItemResult(name, "ok", paths={"loudness": str(path)})
        for name, path in (("one", first), ("gone", gone), ("three", third))
    }
    (doc,) = run_chart_docs(RunReport("audiobook", items=items), "Audiobook run", tmp_path, today=TODAY)
    assert _images(doc.markdown) == [png_bytes(2, 2)]
    assert f"`{gone}`: not readable" in doc.markdown  # a chart removed since: named, not fatal
    assert f"`{third}`" in doc.markdown  # past the inline ones: named by path
