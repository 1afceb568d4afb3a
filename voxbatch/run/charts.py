"""A run's charts as markdown documents with their images inline, for the Prefect layer to publish as artifacts.

- ``charts``: the run's ledger over the last :data:`HISTORY_DAYS` UTC days, this run included: spend per day and
  model, latency p50/p95 and failure rate (what ``voxbatch report LEDGER --since DAY --plot FILE.png`` draws). The
  same PNG is written to ``<out>/ledger-charts.png``, replaced by each run.
- ``loudness``: each book this run stitched, its ``<id>.loudness.png`` (the first :data:`MAX_EMBEDDED_CHARTS`
  inline, the others named by path, so an artifact stays around a megabyte at most).

Why markdown with ``data:`` URIs rather than Prefect's image artifact: an image artifact is a URL the browser must
fetch, and a file on the machine that ran the flow has none the Prefect UI can reach. A PNG of a few tens of KB
travels inside the markdown; Prefect's UI renders ``data:image/...`` sources (its markdown sanitizer allows them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from voxbatch.atomic import write_bytes_atomic
from voxbatch.charts.canvas import markdown_image
from voxbatch.charts.ledger_chart import ledger_png, ledger_title
from voxbatch.ledger.trends import load_trends
from voxbatch.run.report import RunReport

HISTORY_DAYS = 30
LEDGER_CHART_FILE = "ledger-charts.png"
MAX_EMBEDDED_CHARTS = 20  # loudness charts inline in one artifact; the rest are listed by path


@dataclass(frozen=True)
class ChartDoc:
    """One artifact: its key is ``<flow>-<name>``."""

    name: str  # "charts" | "loudness"
    markdown: str
    description: str


def run_chart_docs(report: RunReport, title: str, out_dir: Path, today: date | None = None) -> list[ChartDoc]:
    """The run's chart documents (none when there is nothing to draw); writes ``<out_dir>/ledger-charts.png``."""
    docs = [ledger_doc(report, title, out_dir, today or datetime.now(UTC).date()), loudness_doc(report, title)]
    return [doc for doc in docs if doc is not None]


def ledger_doc(report: RunReport, title: str, out_dir: Path, today: date) -> ChartDoc | None:
    """The ledger's last :data:`HISTORY_DAYS` days; None when the run has no ledger or it holds no calls."""
    if report.ledger is None:
        return None
    ledger = Path(report.ledger)
    since = today - timedelta(days=HISTORY_DAYS - 1)
    trends = load_trends(ledger, since)
    if trends.empty:
        return None
    png = ledger_png(trends, ledger_title(ledger, trends))
    saved = write_bytes_atomic(out_dir / LEDGER_CHART_FILE, png)
    lines = [
        f"# {title}: spend, latency and failures",
        "",
        f"The ledger `{ledger}` over the last {HISTORY_DAYS} days, this run included; per {trends.period} (UTC). "
        f"Saved as `{saved}`; `voxbatch report {ledger} --since {since} --plot FILE.png` draws the same.",
        "",
        markdown_image(png, f"spend per {trends.period} and model, latency p50 and p95, failure rate"),
    ]
    description = f"{title}: spend per {trends.period} and model, latency p50/p95 and failure rate over time"
    return ChartDoc("charts", "\n".join(lines) + "\n", description)


def loudness_doc(report: RunReport, title: str) -> ChartDoc | None:
    """The loudness chart of every book this run stitched; None when it drew none."""
    charts = [
        (item, Path(result.paths["loudness"]))
        for item, result in report.items.items()
        if result.status == "ok" and "loudness" in result.paths
    ]
    if not charts:
        return None
    lines = [
        f"# {title}: loudness along each book",
        "",
        "RMS and peak per second of the encoded book (dBFS; one point per several seconds in long books), "
        "the target RMS (dashed) and peak ceiling (dotted) it was normalized to, chapters numbered along the top. "
        "Each chart is `<id>.loudness.png` beside its book.",
    ]
    for number, (item, path) in enumerate(charts):
        lines += ["", f"## `{item}`", ""]
        if number >= MAX_EMBEDDED_CHARTS:
            lines.append(f"`{path}`")
            continue
        try:
            lines.append(markdown_image(path.read_bytes(), f"loudness of {item}"))
        except OSError as exc:
            lines.append(f"`{path}`: not readable ({exc.strerror or exc})")
    return ChartDoc("loudness", "\n".join(lines) + "\n", f"{title}: each book's level along its length")
