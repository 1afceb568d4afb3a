"""``voxbatch report --plot FILE.png``: the ledger's charts in one PNG (spend per day and model, latency p50/p95
and failure rate over time) for the same period as the table (``--since``).

The chart is drawn by :mod:`voxbatch.charts.ledger_chart` from :mod:`voxbatch.ledger.trends`; both, and
matplotlib, are imported only when ``--plot`` is given.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

PLOT_SUFFIX = ".png"


def check_plot_path(path: Path) -> None:
    """A usage error (exit 2) unless ``path`` names a PNG file."""
    if path.suffix.lower() != PLOT_SUFFIX:
        raise typer.BadParameter(f"must name a {PLOT_SUFFIX} file, got {path}", param_hint="--plot")
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder, not a file", param_hint="--plot")


def write_plot(ledger_dir: Path, since: date | None, path: Path) -> None:
    """Draw the ledger's charts into ``path`` (atomically) and say so on stderr; a ledger with no calls in the period
    gives a chart that says so. A file that cannot be written: one line, exit 1."""
    import pyarrow as pa

    from voxbatch.charts.canvas import write_png
    from voxbatch.charts.ledger_chart import ledger_figure, ledger_title
    from voxbatch.ledger.trends import load_trends

    try:
        trends = load_trends(ledger_dir, since)
    except (OSError, ValueError, pa.ArrowException) as exc:
        typer.echo(f"cannot read the ledger at {ledger_dir}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    try:
        write_png(ledger_figure(trends, ledger_title(ledger_dir, trends)), path)
    except OSError as exc:
        typer.echo(f"cannot write the chart to {path}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    if trends.empty:
        typer.echo(f"chart: {path} (no calls in the period: the chart says so)", err=True)
    elif len(trends.periods) == 1:
        typer.echo(f"chart: {path} (one {trends.period}: {trends.periods[0]} UTC)", err=True)
    else:
        span = f"{len(trends.periods)} {trends.period}s, {trends.periods[0]} to {trends.periods[-1]} UTC"
        typer.echo(f"chart: {path} ({span})", err=True)
