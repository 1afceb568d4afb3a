"""The ledger over time, as its charts show it: spend per period and model, latency p50/p95 and failure rate.

:func:`ledger_trends` turns ledger rows (as :func:`voxbatch.ledger.report.load_calls` returns them) into
:class:`LedgerTrends`: plain series, one value per period, that :mod:`voxbatch.charts.ledger_chart` draws and tests
read. The figures are the report's own (:func:`voxbatch.ledger.report.summarize`, one group per period), so a chart
and ``voxbatch report --by day`` always agree:

- a period is a UTC day, or a UTC hour when every call falls on one UTC day (a first run still gets a chart with
  a shape); every period from the first call's to the last call's is kept, so a night without calls shows as a
  gap (no spend, no latency, no rate) rather than disappearing;
- spend: the known ``cost_usd`` of call rows, per model (``(none)`` for calls without one), biggest first; beyond
  :data:`MAX_MODELS` models the smallest are summed as ``other models``; models that cost nothing are left out.
  ``cost_unknown_calls`` (successful calls without a price) and ``possibly_billed_usd`` are kept as totals so a
  chart can say its bars are a lower bound;
- latency p50/p95: over the calls that went on the wire, failed ones included (NaN for a period with none);
- failure rate: failed calls over calls (NaN for a period without calls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd

from voxbatch.ledger.report import load_calls, summarize
from voxbatch.ledger.writer import PARTITION_COLUMN

TrendPeriod = Literal["day", "hour"]

NO_MODEL = "(none)"
OTHER_MODELS = "other models"
MAX_MODELS = 8  # series in the spend chart; the rest are summed into OTHER_MODELS
DAY_FORMAT = "%Y-%m-%d"
HOUR_FORMAT = "%Y-%m-%d %H:00"


@dataclass(frozen=True)
class ModelSpend:
    """One model's known spend per period (aligned with :attr:`LedgerTrends.periods`)."""

    model: str
    usd: tuple[float, ...]

    @property
    def total_usd(self) -> float:
        return math.fsum(self.usd)


@dataclass(frozen=True)
class LedgerTrends:
    """Per period (UTC, ascending): spend per model, calls, failures, failure rate, latency p50 and p95."""

    period: TrendPeriod
    periods: tuple[str, ...]  # "YYYY-MM-DD" per day, "YYYY-MM-DD HH:00" per hour
    spend: tuple[ModelSpend, ...]  # biggest total first
    calls: tuple[int, ...]
    failed: tuple[int, ...]
    failure_rate: tuple[float, ...]  # NaN: no calls in the period
    latency_p50_s: tuple[float, ...]  # NaN: no call went on the wire in the period
    latency_p95_s: tuple[float, ...]
    cost_unknown_calls: int = 0  # successful calls without a known price: the spend is a lower bound
    possibly_billed_usd: float = 0.0  # timed out or cut off after sending: never in the spend

    @property
    def empty(self) -> bool:
        return not self.periods

    @property
    def total_usd(self) -> float:
        return math.fsum(series.total_usd for series in self.spend)


NO_TRENDS = LedgerTrends("day", (), (), (), (), (), (), ())


def ledger_trends(rows: pd.DataFrame) -> LedgerTrends:
    """The trends of ``rows`` (ledger rows with :data:`voxbatch.ledger.report.REPORT_COLUMNS`); item rows are
    ignored. No call rows give :data:`NO_TRENDS`."""
    calls = rows[(rows["kind"] == "call").to_numpy(dtype=bool)]
    if calls.empty:
        return NO_TRENDS
    started = pd.to_datetime(calls["started_at"], utc=True)
    first, last = started.min(), started.max()
    period: TrendPeriod = "hour" if first.date() == last.date() else "day"
    unit, label_format = ("h", HOUR_FORMAT) if period == "hour" else ("D", DAY_FORMAT)
    keys = started.dt.floor(unit).dt.strftime(label_format)
    labels = pd.date_range(first.floor(unit), last.floor(unit), freq=unit).strftime(label_format)

    # The report's figures per period: its day grouping reads the date column, so the period label goes there.
    figures = summarize(calls.assign(**{PARTITION_COLUMN: keys.to_numpy(dtype=object)}), by="day")
    total = figures.iloc[-1]
    per_period = figures.iloc[:-1].set_index("day").reindex(labels)
    return LedgerTrends(
        period=period,
        periods=tuple(labels),
        spend=_spend(calls, keys, labels),
        calls=tuple(int(n) for n in per_period["calls"].fillna(0)),
        failed=tuple(int(n) for n in per_period["failed"].fillna(0)),
        failure_rate=_floats(per_period["failure_rate"]),
        latency_p50_s=_floats(per_period["latency_p50_s"]),
        latency_p95_s=_floats(per_period["latency_p95_s"]),
        cost_unknown_calls=int(total["cost_unknown_calls"]),
        possibly_billed_usd=float(total["possibly_billed_usd"]),
    )


def load_trends(root: Path, since: date | None = None) -> LedgerTrends:
    """The trends of the ledger under ``root`` (only calls on or after ``since``, a UTC date, if given)."""
    return ledger_trends(load_calls(root, since))


def _floats(column: pd.Series) -> tuple[float, ...]:
    return tuple(float(v) for v in column.astype("float64").to_numpy(na_value=math.nan))


def _spend(calls: pd.DataFrame, keys: pd.Series, labels: pd.Index) -> tuple[ModelSpend, ...]:
    """Known cost per period and model, biggest model first; models beyond MAX_MODELS summed, free ones left out."""
    model = calls["model"].astype(object).where(calls["model"].notna(), NO_MODEL)
    frame = pd.DataFrame({"period": keys.to_numpy(dtype=object), "model": model.to_numpy(dtype=object)})
    frame["usd"] = calls["cost_usd"].astype("float64").to_numpy(na_value=math.nan)
    table = frame.groupby(["period", "model"])["usd"].sum().unstack().reindex(index=labels).fillna(0.0)
    totals = table.sum()
    order = sorted((name for name in table.columns if totals[name] > 0), key=lambda name: (-totals[name], name))
    if len(order) > MAX_MODELS:
        kept, rest = order[: MAX_MODELS - 1], order[MAX_MODELS - 1 :]
        table[OTHER_MODELS] = table[rest].sum(axis=1)
        order = [*kept, OTHER_MODELS]
    return tuple(ModelSpend(str(name), tuple(float(v) for v in table[name])) for name in order)
