"""A flow run's summary: one row per item, totals, and failures with their reasons.

The same rows become the Prefect table artifact, the markdown artifact and the text the command prints,
so what a person reads in the terminal, in the Prefect UI and in a cron mail agree. An item finished with flags (a
book with a chunk still bad after its repeats) is named as such in all three, and fails the run's exit code.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from voxbatch.plural import counted
from voxbatch.run.report import RunReport, WorkerUse

SUMMARY_COLUMNS = ("item", "status", "chunks", "audio_s", "cost_usd", "wall_s", "error")
FAILED_STATUSES = frozenset({"failed"})


def summary_rows(report: RunReport) -> list[dict[str, Any]]:
    """Per item: status, chunks, audio seconds, cost, wall time and error (JSON-ready values)."""
    return [
        {
            "item": item,
            "status": result.status,
            "chunks": result.chunks,
            "audio_s": result.duration_s,
            "cost_usd": None if result.cost_usd is None else round(float(result.cost_usd), 6),
            "wall_s": result.wall_s,
            "error": result.error,
        }
        for item, result in report.items.items()
    ]


def totals(report: RunReport) -> dict[str, Any]:
    """Counts by status, total cost (None when any is unknown), audio, requests and wall time."""
    items = list(report.items.values())
    return {
        "items": len(items),
        "by_status": dict(sorted(Counter(str(r.status) for r in items).items())),
        "row_errors": len(report.row_errors),
        "cost_usd": _sum_or_none(r.cost_usd for r in items),
        "audio_s": math.fsum(float(r.duration_s or 0.0) for r in items),
        "requests": sum(r.requests for r in items),
        "possibly_billed_usd": _sum_or_none(r.possibly_billed_usd for r in items),
        "wall_s": report.wall_s,
        "flagged": sum(1 for r in items if r.flags),
    }


def _sum_or_none(amounts: Iterable[float | None]) -> float | None:
    """The sum, or None when any amount is unknown (an unknown price never reads as free)."""
    values = list(amounts)
    return None if any(a is None for a in values) else math.fsum(float(a) for a in values if a is not None)


def run_failed(report: RunReport) -> bool:
    """Whether cron and CI should hear about this run: a bad row, a failed item or a flagged one."""
    return bool(report.row_errors) or any(r.status in FAILED_STATUSES or r.flags for r in report.items.values())


def _money(value: Any) -> str:
    return "unknown" if value is None else f"${float(value):.4f}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def summary_markdown(report: RunReport, title: str) -> str:
    """Totals, the per-item table and the failures, as markdown."""
    t = totals(report)
    statuses = ", ".join(f"{n} {s}" for s, n in t["by_status"].items()) or "none"
    lines = [
        f"# {title}",
        "",
        f"- run: `{report.run_id or ''}` on {report.endpoint or ''}",
        f"- items: {t['items']} ({statuses}); bad rows: {t['row_errors']}",
        f"- cost: {_money(t['cost_usd'])}; requests: {t['requests']}; audio: {t['audio_s']:.1f} s; "
        f"wall time: {t['wall_s']} s",
    ]
    if report.budget_usd is not None:
        lines.append(f"- budget cap: ${report.budget_usd:.4f}")
    if report.workers is not None:
        lines.append(f"- {workers_text(report.workers)}")
    rows = summary_rows(report)
    if rows:
        lines += ["", "| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
        lines += ["| " + " | ".join(_cell(r[c]) for c in SUMMARY_COLUMNS) + " |" for r in rows]
    problems = [f"- `{r['item']}` ({r['status']}): {r['error']}" for r in rows if r["error"]]
    problems += [f"- `{item}` (flagged): {flag}" for item, result in report.items.items() for flag in result.flags]
    shown = {str(r["error"]) for r in rows if r["error"]}  # an item's own error is not listed twice
    problems += [f"- {e}" for e in report.row_errors if e not in shown]
    if problems:
        lines += ["", "## Problems", "", *problems]
    return "\n".join(lines) + "\n"


def summary_text(report: RunReport) -> str:
    """The one-line-per-item summary the command prints, then the totals."""
    lines = []
    for row in summary_rows(report):
        result = report.items[row["item"]]
        if row["error"]:
            lines.append(f"{str(row['status']).upper():>14} {row['item']}: {row['error']}")
            continue
        lines.append(
            f"{row['status']:>14} {row['item']}: {result.outputs} ({row['audio_s']} s, "
            f"{counted(row['chunks'] or 0, 'chunk')}, {counted(result.requests, 'request')}, {_money(row['cost_usd'])})"
        )
        lines += [f"{'FLAGGED':>14} {row['item']}: {flag}" for flag in result.flags]
    # A row error is listed unless it is an item's own error (a duplicate id's row is not that item's error).
    listed = {str(r["error"]) for r in summary_rows(report) if r["error"]}
    for error in report.row_errors:
        if error not in listed:
            lines.append(f"{'SKIPPED ROW':>14} {error}")
    t = totals(report)
    statuses = ", ".join(f"{n} {s}" for s, n in t["by_status"].items()) or "no items"
    if t["flagged"]:
        statuses += f" ({t['flagged']} flagged)"
    lines.append(
        f"total: {statuses}; {_money(t['cost_usd'])}, {counted(t['requests'], 'request')}, {t['wall_s']} s on "
        f"{report.endpoint or ''}"
    )
    if t["possibly_billed_usd"] != 0.0:
        lines.append(
            f"possibly billed besides: {_money(t['possibly_billed_usd'])} for calls that timed out or were cut off "
            "after they were sent (their outcome is unknown; `voxbatch report` lists them)"
        )
    if report.workers is not None:
        lines.append(workers_text(report.workers))
    lines.append(f"ledger: {report.ledger} (run {report.run_id})")
    return "\n".join(lines)


def workers_text(use: WorkerUse) -> str:
    """How many Dask worker processes ran the units of work and, when fewer than the cluster had, why."""
    processes = ("Dask worker process", "Dask worker processes")
    offered = use.offered
    if use.used == 0:
        if use.units == 0:
            return "task runs: no unit of work needed the Dask cluster (every item was done or not started)"
        return f"task runs: no unit of work came back from the Dask cluster ({counted(use.units, 'unit')} sent)"
    if offered is None or use.used >= offered:
        every = use.expected is None and use.cluster is not None  # an existing cluster's every worker
        return f"task runs ran on {counted(use.used, *processes)}" + (" (all the cluster had)" if every else "")
    ran = f"task runs ran on {use.used} of {counted(offered, *processes)}"
    if use.units < offered:
        return f"{ran}: the run had only {counted(use.units, 'unit')} of work (a chapter or a file each) to send"
    if use.cluster is not None and use.cluster < offered:
        return f"{ran}: only {use.cluster} had connected to the scheduler when the run sent its first unit of work"
    return f"{ran}: Dask's scheduler chose where all {counted(use.units, 'unit')} of work ran"
