"""``voxbatch report``: cost, calls, characters, audio minutes, latency, retries and failures from a ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast

import typer

from flows import report_plot


def report(
    ctx: typer.Context,
    ledger_dir: Annotated[Path, typer.Argument(help="A Parquet ledger folder (e.g. out/audiobooks/ledger).")],
    since: Annotated[str | None, typer.Option(help="Only calls on or after this UTC date (YYYY-MM-DD).")] = None,
    by: Annotated[str, typer.Option(help="One row per model, day, run, item, flow or endpoint.")] = "model",
    output_format: Annotated[str, typer.Option("--as", help="Print as a table, csv or json (records).")] = "table",
    old_format: Annotated[str | None, typer.Option("--format", hidden=True)] = None,  # before --as
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw charts into this PNG: spend per day and model, latency p50/p95 and failure rate over "
            "time (per hour when the period holds one day), for the same --since."
        ),
    ] = None,
) -> None:
    """Cost, calls, characters, audio minutes, latency, retries, failures and cache hits from a ledger.

    Calls whose outcome is unknown (in flight when a run died, or timed out after they were sent) are shown as
    possibly billed, with their estimated cost, apart from the cost that is sure. With --plot the same period is
    drawn as charts in one PNG."""

    import pyarrow as pa

    from flows.option_aliases import renamed
    from voxbatch.ledger.report import (
        BY_KEYS,
        FORMATS,
        ReportFormat,
        ReportKey,
        ReportOptions,
        build_report,
        parse_since,
    )

    if by not in BY_KEYS:
        raise typer.BadParameter(f"must be one of {', '.join(BY_KEYS)}", param_hint="--by")
    output_format = renamed(ctx, "output_format", "--as", output_format, "--format", old_format)
    if output_format not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--as")
    try:
        start = parse_since(since) if since is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc
    if plot is not None:
        report_plot.check_plot_path(plot)
    if not ledger_dir.is_dir():
        # A wrong path must not read as a quiet night: exit 1. An existing ledger with no calls exits 0.
        typer.echo(f"no ledger at {ledger_dir} (not a folder)", err=True)
        raise typer.Exit(code=1)
    options = ReportOptions(since=start, by=cast(ReportKey, by), fmt=cast(ReportFormat, output_format))
    try:
        summary, text = build_report(ledger_dir, options)
    except (OSError, ValueError, pa.ArrowException) as exc:
        typer.echo(f"cannot read the ledger at {ledger_dir}: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    if not summary["calls"].iloc[-1]:
        typer.echo(f"no calls in {ledger_dir}" + (f" since {start}" if start else ""), err=True)
    typer.echo(text, nl=False)
    if plot is not None:
        report_plot.write_plot(ledger_dir, start, plot)
