"""The ledger's charts in one figure: spend per period and model (stacked bars), latency p50/p95 and failure rate
over time (lines), drawn from :class:`~voxbatch.ledger.trends.LedgerTrends`.

The three panels share one x axis, one slot per period (a day, or an hour for a ledger of one day); a period
without calls has no bar and breaks the lines. A footnote says when the spend is a lower bound (calls without a
known price) and what was possibly billed besides. No calls at all give a figure that says so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voxbatch.charts.canvas import FONT_SIZE_PT, message_figure, new_figure, png_bytes
from voxbatch.ledger.trends import LedgerTrends

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN = 10.0, 8.5
NO_CALLS_HEIGHT_IN = 2.0
MAX_TICK_LABELS = 16  # more periods than this: every n-th is labelled
MIN_SLOTS = 6  # a ledger of one or two periods is drawn this wide, centred, so one bar is not a wall
BAR_WIDTH = 0.8  # of a period's slot
SPEND_TITLE = "Spend per {period} (UTC) and model: known prices, USD"
LATENCY_TITLE = "Call latency per {period}: p50 and p95, retries and waits included"
FAILURE_TITLE = "Failed calls per {period}: % of calls"


def ledger_figure(trends: LedgerTrends, title: str) -> Figure:
    """Spend, latency and failure rate over the trends' periods, under ``title``."""
    if trends.empty:
        return message_figure("no calls in this period", WIDTH_IN, NO_CALLS_HEIGHT_IN, title)
    figure = new_figure(WIDTH_IN, HEIGHT_IN)
    spend, latency, failures = figure.subplots(3, 1, sharex=True)
    slots = np.arange(len(trends.periods))
    period = trends.period
    _spend(spend, trends, slots)
    spend.set_title(SPEND_TITLE.format(period=period), loc="left")

    latency.plot(slots, trends.latency_p50_s, marker="o", markersize=3, label="p50")
    latency.plot(slots, trends.latency_p95_s, marker="o", markersize=3, label="p95")
    latency.set_ylabel("seconds")
    latency.set_ylim(bottom=0)
    latency.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=FONT_SIZE_PT)
    latency.set_title(LATENCY_TITLE.format(period=period), loc="left")

    rate = [100.0 * r for r in trends.failure_rate]
    failures.plot(slots, rate, marker="o", markersize=3, color="tab:red", label="failed calls")
    failures.set_ylabel("% of calls")
    known = [r for r in rate if not math.isnan(r)]
    failures.set_ylim(0, max(5.0, *known) * 1.1 if known else 5.0)
    failures.set_title(FAILURE_TITLE.format(period=period), loc="left")
    _period_ticks(failures, trends)
    # The footnote is the bottom axis' label, so the layout keeps room for it under the tick labels.
    failures.set_xlabel(_footnote(trends), loc="left", fontsize=FONT_SIZE_PT, color="dimgray")

    for axes in (spend, latency, failures):
        axes.grid(axis="y", alpha=0.3)
    figure.suptitle(title)
    return figure


def ledger_title(root: Path, trends: LedgerTrends) -> str:
    """``Ledger out/ledger: 2026-03-01 to 2026-03-30 (UTC)``: the folder by its last two parts, and the period."""
    name = "/".join(Path(root).parts[-2:])
    if trends.empty:
        return f"Ledger {name}"
    first, last = trends.periods[0], trends.periods[-1]
    return f"Ledger {name}: {first}" + ("" if first == last else f" to {last}") + " (UTC)"


def ledger_png(trends: LedgerTrends, title: str) -> bytes:
    """:func:`ledger_figure` as PNG bytes."""
    return png_bytes(ledger_figure(trends, title))


def _spend(axes: Axes, trends: LedgerTrends, slots: np.ndarray) -> None:
    bottom = np.zeros(len(slots))
    for series in trends.spend:
        heights = np.asarray(series.usd, dtype=np.float64)
        axes.bar(slots, heights, BAR_WIDTH, bottom=bottom, label=series.model)
        bottom += heights
    axes.set_ylabel("USD")
    if trends.spend:
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=FONT_SIZE_PT)
    else:
        axes.text(0.5, 0.5, "no known spend", ha="center", va="center", transform=axes.transAxes, color="dimgray")


def _period_ticks(axes: Axes, trends: LedgerTrends) -> None:
    """One tick per period, every n-th labelled when there are many; hours show as HH:00 after the first."""
    labels = list(trends.periods)
    if trends.period == "hour":
        labels = [labels[0], *(label[-5:] for label in labels[1:])]
    step = max(1, math.ceil(len(labels) / MAX_TICK_LABELS))
    shown = [label if i % step == 0 else "" for i, label in enumerate(labels)]
    axes.set_xticks(np.arange(len(labels)), shown, rotation=30, ha="right")
    middle, width = (len(labels) - 1) / 2, max(len(labels), MIN_SLOTS)
    axes.set_xlim(middle - width / 2, middle + width / 2)


def _footnote(trends: LedgerTrends) -> str:
    notes = []
    if trends.cost_unknown_calls:
        notes.append(f"{trends.cost_unknown_calls:,} successful call(s) had no known price: spend is a lower bound")
    if trends.possibly_billed_usd:
        notes.append(
            f"possibly billed besides (timed out or cut off after sending): ${trends.possibly_billed_usd:,.4f}"
        )
    return "; ".join(notes)
