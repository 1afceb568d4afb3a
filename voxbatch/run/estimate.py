"""What a run will cost and take, worked out before any call: the dry run, and the budget's item estimates.

Only chunks not already in the cache count (they are the only ones that will be paid for). Prices are per
unit, so for a known price the estimate is what the run will be billed unless calls fail. Wall time is the
slowest of three bounds: the request rate, the unit rate (characters or audio seconds per minute), and the
in-flight cap times a typical call latency (an assumption, stated in :data:`TTS_LATENCY_S` and friends).

An audiobook run with ``--audit`` (on the endpoint) also pays one transcription per chunk not yet heard: its
requests and cost are part of the item's, and named apart (``audit_requests``, ``audit_cost_usd``). Repeats of
chunks found bad cannot be foreseen and are not priced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from voxbatch.client.limits import Unit
from voxbatch.plural import counted

SECONDS_PER_MINUTE = 60.0
TTS_LATENCY_S = 1.0  # assumed: a speech call's fixed latency ...
TTS_LATENCY_S_PER_KCHAR = 1.0  # ... plus this per 1000 characters
STT_LATENCY_S = 1.0  # assumed: a transcription's fixed latency ...
STT_LATENCY_S_PER_AUDIO_S = 0.02  # ... plus this per second of audio (Whisper runs ~50x real time)


@dataclass(frozen=True)
class ItemEstimate:
    """What one item still needs: chunks to request, their units, cost and summed latency."""

    item_id: str
    model: str
    unit: Unit
    chunks: int  # all of the item's chunks
    cached_chunks: int  # already paid for
    units: float  # characters or audio seconds still to request
    cost_usd: float | None  # None: the model's price is unknown
    latency_s: float  # summed assumed latency of the calls still to make
    longest_call_s: float = 0.0  # no run is shorter than its slowest call
    audit_requests: int = 0  # transcriptions the audit will make (part of requests)
    audit_cost_usd: float | None = 0.0  # what they cost (part of cost_usd; None: the price is unknown)

    @property
    def requests(self) -> int:
        return self.chunks - self.cached_chunks + self.audit_requests


class Pacing(Protocol):
    """The run's pacing, as configured (None: unlimited); a :class:`~voxbatch.run.spec.RunSpec` is one."""

    @property
    def requests_per_minute(self) -> float | None: ...
    @property
    def units_per_minute(self) -> float | None: ...
    @property
    def max_in_flight(self) -> int: ...


def tts_latency_s(chars: int) -> float:
    return TTS_LATENCY_S + TTS_LATENCY_S_PER_KCHAR * chars / 1000


def stt_latency_s(audio_s: float) -> float:
    return STT_LATENCY_S + STT_LATENCY_S_PER_AUDIO_S * audio_s


def _sum_or_none(costs: Sequence[float | None]) -> float | None:
    """The sum, or None when any cost is unknown (an unknown price never reads as free)."""
    return None if any(c is None for c in costs) else math.fsum(c for c in costs if c is not None)


def item_estimate(
    item_id: str,
    model: str,
    unit: Unit,
    chunks: int,
    sizes: list[float],
    costs: list[float | None],
    latencies: list[float],
) -> ItemEstimate:
    """An item whose uncached chunks have these sizes (characters or audio seconds), costs and latencies."""
    return ItemEstimate(
        item_id=item_id,
        model=model,
        unit=unit,
        chunks=chunks,
        cached_chunks=chunks - len(sizes),
        units=float(sum(sizes)),
        cost_usd=_sum_or_none(costs),
        latency_s=sum(latencies),
        longest_call_s=max(latencies, default=0.0),
    )


def wall_time_s(estimates: Sequence[ItemEstimate], limits: Pacing) -> float:
    """How long the calls take at best under the limits: the slowest of the three bounds."""
    requests = sum(e.requests for e in estimates)
    if requests == 0:
        return 0.0
    units = sum(e.units for e in estimates)
    bounds = [
        sum(e.latency_s for e in estimates) / max(limits.max_in_flight, 1),
        max(e.longest_call_s for e in estimates),
    ]
    if limits.requests_per_minute:
        bounds.append(requests / limits.requests_per_minute * SECONDS_PER_MINUTE)
    if limits.units_per_minute:
        bounds.append(units / limits.units_per_minute * SECONDS_PER_MINUTE)
    return max(bounds)


def total_cost_usd(estimates: Sequence[ItemEstimate]) -> float | None:
    """The sum, or None when any item's price is unknown."""
    return _sum_or_none([e.cost_usd for e in estimates])


@dataclass(frozen=True)
class EstimateLine:
    """One item of the dry run: what is left to request, and what it costs and takes."""

    item_id: str
    model: str | None
    chunks: int  # all of the item's chunks
    cached_chunks: int
    requests: int
    units: float  # characters or audio seconds still to request
    cost_usd: float | None  # None: the model's price is unknown
    wall_s: float
    finished: bool = False  # its outputs exist already: it will be skipped
    audit_requests: int = 0  # of requests: the audit's transcriptions
    audit_cost_usd: float | None = 0.0  # of cost_usd: what they cost


@dataclass(frozen=True)
class RunEstimate:
    """The dry run's answer: per item and in total, what is left to pay for and how long it takes."""

    items: dict[str, EstimateLine]
    unit: Unit
    requests: int
    units: float
    cost_usd: float | None
    wall_s: float
    requests_per_minute: float | None  # the pacing it assumed
    units_per_minute: float | None
    max_in_flight: int
    audit_requests: int = 0  # of requests: the audit's transcriptions
    audit_cost_usd: float | None = 0.0  # of cost_usd: what they cost


def estimate_report(estimates: Sequence[ItemEstimate], limits: Pacing, finished: Sequence[str] = ()) -> RunEstimate:
    """What the items still to do cost and take under ``limits``; ``finished`` items cost nothing."""
    items = {
        e.item_id: EstimateLine(
            e.item_id,
            e.model,
            e.chunks,
            e.cached_chunks,
            e.requests,
            round(e.units, 3),
            e.cost_usd,
            round(wall_time_s([e], limits), 2),
            audit_requests=e.audit_requests,
            audit_cost_usd=e.audit_cost_usd,
        )
        for e in estimates
    }
    for item in finished:
        items[item] = EstimateLine(item, None, 0, 0, 0, 0.0, 0.0, 0.0, finished=True)
    return RunEstimate(
        items=items,
        unit=estimates[0].unit if estimates else "chars",
        requests=sum(e.requests for e in estimates),
        units=round(sum(e.units for e in estimates), 3),
        cost_usd=total_cost_usd(estimates),
        wall_s=round(wall_time_s(estimates, limits), 2),
        requests_per_minute=limits.requests_per_minute,
        units_per_minute=limits.units_per_minute,
        max_in_flight=limits.max_in_flight,
        audit_requests=sum(e.audit_requests for e in estimates),
        audit_cost_usd=_sum_or_none([e.audit_cost_usd for e in estimates]),
    )


def _unit_label(unit: str, value: float) -> str:
    return f"{value / SECONDS_PER_MINUTE:.2f} audio min" if unit == "audio_s" else f"{value:,.0f} chars"


def estimate_text(estimate: RunEstimate) -> str:
    """The dry run as the command prints it: one line per item, then the totals and the assumptions."""
    unit = estimate.unit
    lines = [
        "dry run: nothing was called",
        f"{'item':<28} {'chunks':>6} {'cached':>6} {'size':>16} {'cost':>10} {'wall':>9}",
    ]
    for item, e in estimate.items.items():
        if e.finished:
            lines.append(f"{item:<28} {'finished: will be skipped':>51}")
            continue
        cost = "unknown" if e.cost_usd is None else f"${e.cost_usd:.4f}"
        size = _unit_label(unit, e.units)
        lines.append(f"{item:<28} {e.chunks:>6} {e.cached_chunks:>6} {size:>16} {cost:>10} {e.wall_s:>8.1f}s")
    total = estimate.cost_usd
    rates = {"requests per minute": estimate.requests_per_minute, "units per minute": estimate.units_per_minute}
    paced = ", ".join(f"{v:g} {k}" for k, v in rates.items() if v is not None)
    lines.append(
        f"total: {counted(estimate.requests, 'request')}, {_unit_label(unit, estimate.units)}, "
        f"{'unknown cost' if total is None else f'${total:.4f}'}, about {estimate.wall_s} s "
        f"({paced or 'no rate limit set'}; {estimate.max_in_flight} in flight; assumed call latencies)"
    )
    if estimate.audit_requests:
        audit = estimate.audit_cost_usd
        lines.append(
            f"of which the audit: {estimate.audit_requests} transcription{'s' if estimate.audit_requests > 1 else ''}, "
            f"{'unknown cost' if audit is None else f'${audit:.4f}'} (repeats of chunks found bad are not included)"
        )
    return "\n".join(lines)
