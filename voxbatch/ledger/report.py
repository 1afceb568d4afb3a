"""What the ledger says, summed up: cost, calls, volume, latency, retries, failures and cache hits per group.

``voxbatch report`` is :func:`load_calls` (only the columns and date partitions it needs), :func:`summarize`
(one vectorized groupby; one row per group plus a ``TOTAL`` row) and :func:`render` (table, csv or json).

What each figure counts (call rows are ``kind == "call"``; item summary rows, ``kind == "item"``, repeat their
calls' totals and are never counted as calls):

- ``calls``: call rows; ``requests``: HTTP attempts (``attempts`` summed); ``retries``: attempts after the first;
- ``failed`` / ``failure_rate``: calls with status "failed", over ``calls``;
- ``cache_hits`` / ``cache_hit_rate``: calls answered from a cache (no request, nothing paid), over ``calls``;
- ``cost_usd``: the known costs summed; ``cost_unknown_calls`` counts successful, non-cached calls to a billed
  endpoint whose price is unknown, and when it is not 0 ``cost_usd`` is a lower bound (failed calls are not
  billed, so an unknown price on them changes nothing);
- ``characters`` / ``audio_minutes``: what the provider synthesized or transcribed, i.e. the billed quantities:
  successful, non-cached calls only (a cached or failed call's text was not paid for in this period);
- latency and time to first byte (p50, p95, max, seconds; linear interpolation like ``numpy.percentile``):
  over the calls that went on the wire (not cached, at least one attempt), failed ones included, since their
  time was spent too; a call's latency includes its retries and waits. Only successful answers have a TTFB;
- ``items``: distinct item ids among the group's rows (calls and item rows); ``first_started_at`` and
  ``last_started_at``: the earliest and latest ``started_at`` (UTC) of those rows.

- ``possibly_billed_calls``: calls with at least one attempt whose outcome is unknown: ``outcome_unknown`` of
  them were sent but have no outcome at all (status "unknown": the run died or gave up while they were in flight;
  they come from the run's write-ahead journal when its Parquet files lack them), the others timed out or were
  cut off after the request went out. ``possibly_billed_usd`` is their estimated cost (each such attempt priced
  like an answered call), never part of ``cost_usd``; ``possibly_billed_price_unknown`` counts those of them
  whose price is unknown (the estimate is then a lower bound).

The rows are the ledger's Parquet files plus, for runs that were killed (or are still going), the records of
their journals that the Parquet files do not hold yet (:func:`voxbatch.ledger.fold.journal_records`): each call
is counted once, by ``record_id``.

``--by item`` groups calls by ``item_id`` (those without one: a null key) and adds ``item_status``, the latest item
record's status, and ``item_outcome`` (the table's), the period's: produced, failed or skipped (:mod:`item_outcome`);
null when the item has no item record (a run still going, or a script that records calls only).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa

from voxbatch.ledger.fold import journal_records
from voxbatch.ledger.item_outcome import item_outcomes
from voxbatch.ledger.journal import read_journals
from voxbatch.ledger.schema import records_to_table
from voxbatch.ledger.writer import PANDAS_INT_TYPES, PARTITION_COLUMN, partition_date, read_ledger
from voxbatch.pricing import SECONDS_PER_MINUTE

ReportKey = Literal["model", "day", "run", "item", "flow", "endpoint"]
ReportFormat = Literal["table", "csv", "json"]
BY_KEYS: tuple[ReportKey, ...] = get_args(ReportKey)
FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)

TOTAL_LABEL = "TOTAL"
BILLED_ENDPOINTS = ("speech", "transcriptions", "translations")  # "voices", "models": free, nothing unknown
P50, P95 = 0.50, 0.95

# The ledger column each grouping reads; a day is the UTC date partition.
KEY_COLUMNS: dict[ReportKey, str] = {
    "model": "model",
    "day": PARTITION_COLUMN,
    "run": "run_id",
    "item": "item_id",
    "flow": "flow",
    "endpoint": "endpoint",
}
MEASURE_COLUMNS = (
    "kind",
    "status",
    "cached",
    "attempts",
    "cost_usd",
    "input_chars",
    "audio_seconds",
    "latency_s",
    "ttfb_s",
    "started_at",
    "possibly_billed_attempts",
    "possibly_billed_usd",
)
# Every column load_calls reads: the measures and every grouping key (item_id also counts items).
REPORT_COLUMNS = ("run_id", "flow", "item_id", "endpoint", "model", *MEASURE_COLUMNS, PARTITION_COLUMN)
# Read as categoricals: few distinct values (an item has dozens of calls), so a fraction of the memory of strings.
CATEGORY_COLUMNS = ("run_id", "flow", "item_id", "endpoint", "model", "kind", "status", PARTITION_COLUMN)

COUNT_COLUMNS = (
    "calls",
    "requests",
    "retries",
    "failed",
    "cache_hits",
    "cost_unknown_calls",
    "possibly_billed_calls",
    "outcome_unknown",
    "possibly_billed_price_unknown",
    "characters",
    "items",
)
SUMMARY_COLUMNS = (
    "calls",
    "requests",
    "retries",
    "failed",
    "failure_rate",
    "cache_hits",
    "cache_hit_rate",
    "cost_usd",
    "cost_unknown_calls",
    "possibly_billed_calls",
    "outcome_unknown",
    "possibly_billed_usd",
    "possibly_billed_price_unknown",
    "characters",
    "audio_minutes",
    "latency_p50_s",
    "latency_p95_s",
    "latency_max_s",
    "ttfb_p50_s",
    "ttfb_p95_s",
    "ttfb_max_s",
    "items",
    "first_started_at",
    "last_started_at",
)
_SUMS = (
    "calls",
    "requests",
    "retries",
    "failed",
    "cache_hits",
    "cost_usd",
    "cost_unknown_calls",
    "possibly_billed_calls",
    "outcome_unknown",
    "possibly_billed_usd",
    "possibly_billed_price_unknown",
    "characters",
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ReportOptions:
    """What ``voxbatch report`` shows.

    Example::

        ReportOptions(since=date(2026, 3, 1), by="day", fmt="csv")
    """

    since: date | None = None  # only calls on or after this UTC date (whole date partitions are skipped)
    by: ReportKey = "model"  # one row per model, UTC day, run, item, flow or endpoint
    fmt: ReportFormat = "table"  # aligned text, csv or json (records)

    def __post_init__(self) -> None:
        if self.by not in BY_KEYS:
            raise ValueError(f"by must be one of {', '.join(BY_KEYS)}, got {self.by!r}")
        if self.fmt not in FORMATS:
            raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {self.fmt!r}")


def parse_since(text: str) -> date:
    """A ``YYYY-MM-DD`` date; ValueError for anything else (``date.fromisoformat`` alone also takes 20260301)."""
    if not _DATE_RE.fullmatch(text):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date ({exc})") from exc


def load_calls(root: Path, since: date | None = None) -> pd.DataFrame:
    """The ledger rows under ``root`` a report needs: only :data:`REPORT_COLUMNS`, only partitions since ``since``.

    Call and item rows both (``summarize`` tells them apart), and the journal records of killed or running runs
    that the Parquet files do not hold yet; the string columns as categoricals. A missing or empty root gives no
    rows.
    """
    rows = read_ledger(root, columns=REPORT_COLUMNS, since=since, categories=CATEGORY_COLUMNS)
    extra = journal_records(root, read_journals(root))
    if since is not None:
        extra = [record for record in extra if partition_date(record) >= since.isoformat()]
    if not extra:
        return rows
    table = records_to_table(extra)
    dates = pa.array([partition_date(record) for record in extra], pa.string())
    table = table.append_column(PARTITION_COLUMN, dates).select(list(REPORT_COLUMNS))
    from_journals = table.to_pandas(types_mapper=PANDAS_INT_TYPES.get)
    as_text = dict.fromkeys(CATEGORY_COLUMNS, object)
    both = pd.concat([rows.astype(as_text), from_journals.astype(as_text)], ignore_index=True)
    return both.astype(dict.fromkeys(CATEGORY_COLUMNS, "category"))


def summarize(calls: pd.DataFrame, by: ReportKey = "model") -> pd.DataFrame:
    """One row per group (sorted by key, a null key last) and a final ``TOTAL`` row; see the module docstring.

    Parameters
    ----------
    calls:
        Ledger rows with at least :data:`REPORT_COLUMNS` (as :func:`load_calls` returns them).
    by:
        The grouping, one of :data:`BY_KEYS`; the first column of the result is named after it.

    Returns
    -------
    The key column, :data:`SUMMARY_COLUMNS` and, for ``by="item"``, ``item_status`` and ``item_outcome``.
    """
    if by not in BY_KEYS:
        raise ValueError(f"by must be one of {', '.join(BY_KEYS)}, got {by!r}")
    measures = _measures(calls)
    groups = _aggregate(measures, calls[KEY_COLUMNS[by]])
    total = _aggregate(measures, np.zeros(len(measures), dtype=np.int8))
    if total.empty:
        zeros = {**dict.fromkeys(COUNT_COLUMNS, 0), "cost_usd": 0.0, "possibly_billed_usd": 0.0, "audio_minutes": 0.0}
        total = pd.DataFrame([zeros], columns=list(SUMMARY_COLUMNS))  # nothing to report is zero, not unknown
    total.index = pd.Index([TOTAL_LABEL])
    summary = pd.concat([groups, total]) if len(groups) else total
    summary = summary.rename_axis(by).reset_index()
    summary[by] = summary[by].astype(object).where(summary[by].notna(), None)
    for column in COUNT_COLUMNS:
        summary[column] = summary[column].astype("int64")
    for column in ("first_started_at", "last_started_at"):
        summary[column] = pd.to_datetime(summary[column], utc=True)  # stays a time column when there are no rows
    if by == "item":
        for column, values in (("item_status", _latest_item_status(calls)), ("item_outcome", item_outcomes(calls))):
            summary[column] = summary["item"].map(values).astype(object)
            summary.loc[summary.index[-1], column] = None
            summary[column] = summary[column].where(summary[column].notna(), None)
    return summary


def render(summary: pd.DataFrame, fmt: ReportFormat = "table") -> str:
    """The summary as an aligned text table, CSV, or JSON records (numbers as numbers, NaN as null, ISO times)."""
    if fmt == "csv":
        return str(summary.to_csv(index=False))
    if fmt == "json":
        return str(summary.to_json(orient="records", date_format="iso", date_unit="us", double_precision=15)) + "\n"
    if fmt == "table":
        return _table(summary)
    raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")


def build_report(root: Path, options: ReportOptions) -> tuple[pd.DataFrame, str]:
    """Load, summarize and render: the summary and its text."""
    summary = summarize(load_calls(root, options.since), options.by)
    return summary, render(summary, options.fmt)


# -- the figures ------------------------------------------------------------------------------------------------


def _measures(rows: pd.DataFrame) -> pd.DataFrame:
    """Per ledger row, what it adds to each figure (zero or NaN for rows a figure does not count)."""
    is_call = (rows["kind"] == "call").to_numpy(dtype=bool)
    cached = rows["cached"].to_numpy(dtype=bool, na_value=False) & is_call
    status = rows["status"]
    served = is_call & ~cached & (status == "ok").to_numpy(dtype=bool)
    attempts = rows["attempts"].to_numpy(dtype=np.int64, na_value=0)
    unknown = is_call & (status == "unknown").to_numpy(dtype=bool)
    on_wire = is_call & ~cached & (attempts > 0) & ~unknown  # an unknown outcome has no latency to speak of
    cost = rows["cost_usd"].to_numpy(dtype=np.float64, na_value=np.nan)
    billed = rows["endpoint"].isin(BILLED_ENDPOINTS).to_numpy(dtype=bool)
    maybe = rows["possibly_billed_attempts"].to_numpy(dtype=np.int64, na_value=0)  # null in older files
    possibly = is_call & ~cached & (maybe > 0)
    maybe_cost = rows["possibly_billed_usd"].to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.DataFrame(
        {
            "calls": is_call,
            "requests": np.where(is_call, attempts, 0),
            "retries": np.where(is_call, np.maximum(attempts - 1, 0), 0),
            "failed": is_call & (status == "failed").to_numpy(dtype=bool),
            "cache_hits": cached,
            "cost_usd": np.where(is_call, cost, np.nan),
            "cost_unknown_calls": served & billed & np.isnan(cost),
            "possibly_billed_calls": possibly,
            "outcome_unknown": unknown & possibly,  # a free endpoint's unknown outcome costs nothing
            "possibly_billed_usd": np.where(possibly, maybe_cost, np.nan),
            "possibly_billed_price_unknown": possibly & billed & np.isnan(maybe_cost),
            "characters": np.where(served, rows["input_chars"].to_numpy(dtype=np.int64, na_value=0), 0),
            "audio_seconds": np.where(served, rows["audio_seconds"].to_numpy(dtype=np.float64, na_value=0.0), 0.0),
            "latency": np.where(on_wire, rows["latency_s"].to_numpy(dtype=np.float64, na_value=np.nan), np.nan),
            "ttfb": np.where(on_wire, rows["ttfb_s"].to_numpy(dtype=np.float64, na_value=np.nan), np.nan),
            "item_id": rows["item_id"],
            "started_at": rows["started_at"],
        },
        index=rows.index,
    )


def _aggregate(measures: pd.DataFrame, key: pd.Series | np.ndarray) -> pd.DataFrame:
    """The summary columns per value of ``key`` (a column aligned with ``measures``), in one groupby."""
    grouped = measures.groupby(key, dropna=False, sort=False, observed=True)
    out = grouped[list(_SUMS)].sum()
    out["audio_minutes"] = grouped["audio_seconds"].sum() / SECONDS_PER_MINUTE
    for name in ("latency", "ttfb"):
        column = grouped[name]
        out[f"{name}_p50_s"] = column.quantile(P50)
        out[f"{name}_p95_s"] = column.quantile(P95)
        out[f"{name}_max_s"] = column.max()
    out["items"] = grouped["item_id"].nunique()
    out["first_started_at"] = grouped["started_at"].min()
    out["last_started_at"] = grouped["started_at"].max()
    calls = out["calls"].where(out["calls"] > 0)  # a group of item rows only has no rates
    out["failure_rate"] = out["failed"] / calls
    out["cache_hit_rate"] = out["cache_hits"] / calls
    # By value, a null key last (a categorical would sort by category order: the order the values were read in).
    out.index = out.index.astype(object)
    return out[list(SUMMARY_COLUMNS)].sort_index(na_position="last")


def _latest_item_status(rows: pd.DataFrame) -> pd.Series:
    """Each item's status on its latest item record (by ``started_at``; on a tie, the one read last)."""
    items = rows.loc[rows["kind"] == "item", ["item_id", "started_at", "status"]]
    latest = items.sort_values("started_at", kind="stable").drop_duplicates("item_id", keep="last")
    return pd.Series(latest["status"].to_numpy(dtype=object), index=latest["item_id"].to_numpy(dtype=object))


# -- the text table ---------------------------------------------------------------------------------------------

_NONE = "-"
_TIME_FORMAT = "%Y-%m-%d %H:%M"
_TIMED_KEYS = ("run", "item")  # groupings whose table shows each group's first and last call; others: one period line


def _count_and_rate(count: int, rate: float) -> str:
    return f"{count:,}" if _missing(rate) else f"{count:,} ({rate:.1%})"


def _three(p50: float, p95: float, peak: float) -> str:
    return _NONE if _missing(peak) else f"{p50:.3f}/{p95:.3f}/{peak:.3f}"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _count(value: int) -> str:
    return f"{value:,}"


def _cost(usd: float, unknown_calls: int) -> str:
    return (">=" if unknown_calls else "") + f"{usd:,.4f}"


def _possibly(calls: int, usd: float, unknown_price: int) -> str:
    return "0" if not calls else f"{calls:,} (" + (">=" if unknown_price else "") + f"${usd:,.4f})"


def _minutes(value: float) -> str:
    return f"{value:,.1f}"


def _text(value: object) -> str:
    return _NONE if value is None else str(value)


def _key_cell(value: object) -> str:
    return "(none)" if value is None else str(value)


# header, how a cell is written, from which summary columns, left-aligned (text) or right-aligned (numbers)
_Column = tuple[str, Callable[..., str], tuple[str, ...], bool]
_TABLE_COLUMNS: tuple[_Column, ...] = (
    ("calls", _count, ("calls",), False),
    ("requests", _count, ("requests",), False),
    ("retries", _count, ("retries",), False),
    ("failed", _count_and_rate, ("failed", "failure_rate"), False),
    ("cached", _count_and_rate, ("cache_hits", "cache_hit_rate"), False),
    ("cost $", _cost, ("cost_usd", "cost_unknown_calls"), False),
    ("outcome unknown", _count, ("outcome_unknown",), False),
    (
        "possibly billed",
        _possibly,
        ("possibly_billed_calls", "possibly_billed_usd", "possibly_billed_price_unknown"),
        False,
    ),
    ("chars", _count, ("characters",), False),
    ("audio min", _minutes, ("audio_minutes",), False),
    ("latency s p50/p95/max", _three, ("latency_p50_s", "latency_p95_s", "latency_max_s"), False),
    ("ttfb s p50/p95/max", _three, ("ttfb_p50_s", "ttfb_p95_s", "ttfb_max_s"), False),
    ("items", _count, ("items",), False),
)
_TIME_COLUMNS: tuple[_Column, ...] = (  # already text: see _table
    ("first (UTC)", _text, ("first_started_at",), False),
    ("last (UTC)", _text, ("last_started_at",), False),
)


def _table(summary: pd.DataFrame) -> str:
    """An aligned plain-text table (no colours, no terminal width: the same text on a tty, a pipe or a file).

    A period line comes first; ``failed`` and ``cached`` show their rate, ``cost $`` starts with ``>=`` when it is
    a lower bound (a note says why), latencies are p50/p95/max in seconds. ``outcome unknown`` counts calls sent
    with no outcome recorded, ``possibly billed`` those and the timed-out ones with their estimated cost (a note
    says which is which); that cost is never in ``cost $``.
    """
    key = str(summary.columns[0])
    spec: list[_Column] = [(key, _key_cell, (key,), True), *_TABLE_COLUMNS]
    if key in _TIMED_KEYS:
        spec += _TIME_COLUMNS
    if "item_outcome" in summary.columns:
        spec.append(("outcome", _text, ("item_outcome",), True))
    values = {name: summary[name].tolist() for name in summary.columns}  # one conversion per column, not per cell
    for name in ("first_started_at", "last_started_at"):
        times = summary[name].dt.strftime(_TIME_FORMAT)
        values[name] = [None if pd.isna(t) else t for t in times.tolist()]
    headers = [header for header, _, _, _ in spec]
    cells = [list(map(write, *(values[name] for name in sources))) for _, write, sources, _ in spec]
    padded = []
    for header, column, (_, _, _, left) in zip(headers, cells, spec, strict=True):
        width = max(len(header), *map(len, column))
        pad = str.ljust if left else str.rjust
        padded.append([pad(header, width), "-" * width, *(pad(cell, width) for cell in column)])
    table = ["  ".join(row).rstrip() for row in zip(*padded, strict=True)]  # header, rule, then one per group
    header, rule, body = table[0], table[1], table[2:]
    period = f"{_text(values['first_started_at'][-1])} to {_text(values['last_started_at'][-1])} UTC"
    lines = [f"period: {period}" if values["calls"][-1] else "no calls", "", header]
    lines += [rule, *body[:-1], rule, body[-1]] if len(body) > 1 else [rule, *body]
    unknown = values["cost_unknown_calls"][-1]
    if unknown:
        lines += [
            "",
            f">= : {unknown:,} successful call(s) had no known price (cost_unknown_calls in csv/json); "
            "their cost is not included, so the figure is a lower bound.",
        ]
    possibly = values["possibly_billed_calls"][-1]
    if possibly:
        unknown_outcome = values["outcome_unknown"][-1]
        estimate = _possibly(possibly, values["possibly_billed_usd"][-1], values["possibly_billed_price_unknown"][-1])
        lines += [
            "",
            f"possibly billed: {estimate.replace(' (', ' call(s), estimated ').rstrip(')')}, not in cost $: "
            f"{unknown_outcome:,} with outcome unknown, possibly billed (sent, but the run stopped or died before "
            f"an answer was recorded), {possibly - unknown_outcome:,} timed out or cut off after sending.",
        ]
    return "\n".join(lines) + "\n"
