"""A flow run's summary: one row per item, totals, and failures with their reasons.

The same rows become the Prefect table artifact, the markdown artifact and the text the command prints,
so what a person reads in the terminal, in the Prefect UI and in a cron mail agree.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

SUMMARY_COLUMNS = ("item", "status", "chunks", "audio_s", "cost_usd", "wall_s", "error")
FAILED_STATUSES = frozenset({"failed"})


def _items(report: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    items: Mapping[str, Mapping[str, Any]] = report.get("items") or {}
    return items


def summary_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per item: status, chunks, audio seconds, cost, wall time and error (JSON-ready values)."""
    rows = []
    for item, entry in _items(report).items():
        cost = entry.get("cost_usd")
        rows.append(
            {
                "item": item,
                "status": entry.get("status"),
                "chunks": entry.get("chunks"),
                "audio_s": entry.get("duration_s"),
                "cost_usd": None if cost is None else round(float(cost), 6),
                "wall_s": entry.get("wall_s"),
                "error": entry.get("error"),
            }
        )
    return rows


def totals(report: Mapping[str, Any]) -> dict[str, Any]:
    """Counts by status, total cost (None when any is unknown), audio, requests and wall time."""
    items = _items(report)
    costs = [e.get("cost_usd") for e in items.values()]
    return {
        "items": len(items),
        "by_status": dict(sorted(Counter(str(e.get("status")) for e in items.values()).items())),
        "row_errors": len(report.get("row_errors") or []),
        "cost_usd": None if any(c is None for c in costs) else math.fsum(float(c) for c in costs if c is not None),
        "audio_s": math.fsum(float(e.get("duration_s") or 0.0) for e in items.values()),
        "requests": sum(int(e.get("requests") or 0) for e in items.values()),
        "possibly_billed_usd": _possibly_billed_usd(items.values()),
        "wall_s": report.get("wall_s"),
    }


def _possibly_billed_usd(entries: Iterable[Mapping[str, Any]]) -> float | None:
    """What attempts that timed out or were cut off after sending may have cost (None: a price is unknown)."""
    amounts = [e.get("possibly_billed_usd", 0.0) for e in entries]
    return None if any(a is None for a in amounts) else math.fsum(float(a) for a in amounts if a is not None)


def run_failed(report: Mapping[str, Any]) -> bool:
    """Whether cron and CI should hear about this run: a bad row or a failed item."""
    return bool(report.get("row_errors")) or any(e.get("status") in FAILED_STATUSES for e in _items(report).values())


def _money(value: Any) -> str:
    return "unknown" if value is None else f"${float(value):.4f}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def summary_markdown(report: Mapping[str, Any], title: str) -> str:
    """Totals, the per-item table and the failures, as markdown."""
    t = totals(report)
    statuses = ", ".join(f"{n} {s}" for s, n in t["by_status"].items()) or "none"
    lines = [
        f"# {title}",
        "",
        f"- run: `{report.get('run_id', '')}` on {report.get('endpoint', '')}",
        f"- items: {t['items']} ({statuses}); bad rows: {t['row_errors']}",
        f"- cost: {_money(t['cost_usd'])}; requests: {t['requests']}; audio: {t['audio_s']:.1f} s; "
        f"wall time: {t['wall_s']} s",
    ]
    if report.get("budget_usd") is not None:
        lines.append(f"- budget cap: ${float(report['budget_usd']):.4f}")
    rows = summary_rows(report)
    if rows:
        lines += ["", "| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
        lines += ["| " + " | ".join(_cell(r[c]) for c in SUMMARY_COLUMNS) + " |" for r in rows]
    problems = [f"- `{r['item']}` ({r['status']}): {r['error']}" for r in rows if r["error"]]
    shown = {str(r["error"]) for r in rows if r["error"]}  # an item's own error is not listed twice
    problems += [f"- {e}" for e in report.get("row_errors") or [] if e not in shown]
    if problems:
        lines += ["", "## Problems", "", *problems]
    return "\n".join(lines) + "\n"


def summary_text(report: Mapping[str, Any]) -> str:
    """The one-line-per-item summary the command prints, then the totals."""
    lines = []
    for row in summary_rows(report):
        entry = _items(report)[row["item"]]
        if row["error"]:
            lines.append(f"{str(row['status']).upper():>14} {row['item']}: {row['error']}")
            continue
        outputs = entry.get("path") or ", ".join((entry.get("paths") or {}).values())
        lines.append(
            f"{row['status']:>14} {row['item']}: {outputs} ({row['audio_s']} s, {row['chunks'] or 0} chunks, "
            f"{entry.get('requests', 0)} requests, {_money(row['cost_usd'])})"
        )
    # A row error is listed unless it is an item's own error (a duplicate id's row is not that item's error).
    listed = {str(r["error"]) for r in summary_rows(report) if r["error"]}
    for error in report.get("row_errors") or []:
        if error not in listed:
            lines.append(f"{'SKIPPED ROW':>14} {error}")
    t = totals(report)
    statuses = ", ".join(f"{n} {s}" for s, n in t["by_status"].items()) or "no items"
    lines.append(
        f"total: {statuses}; {_money(t['cost_usd'])}, {t['requests']} requests, {t['wall_s']} s on "
        f"{report.get('endpoint', '')}"
    )
    if t["possibly_billed_usd"] != 0.0:
        lines.append(
            f"possibly billed besides: {_money(t['possibly_billed_usd'])} for calls that timed out or were cut off "
            "after they were sent (their outcome is unknown; `voxbatch report` lists them)"
        )
    lines.append(f"ledger: {report.get('ledger')} (run {report.get('run_id')})")
    return "\n".join(lines)
