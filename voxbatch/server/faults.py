"""Fault injection for the local server: which request gets which failure, reproducibly.

A :class:`FaultSpec` is parsed from a compact string (``voxbatch serve --faults``)::

    seed=7,p429=0.1,p500=0.05,p503=0.05,drop=0.02,cut=0.1,latency_ms=200,ttfb_ms=50,storm429=5

Each request to ``/v1`` draws one decision from a ``random.Random(seed)`` in arrival order, so a
sequential client sees the same faults on every run with the same seed. With ``storm429=N`` a drawn
429 starts a storm: it and the next ``N - 1`` requests are all answered 429 (with ``retry-after``), as
a provider does when an account hits its limit and every caller in flight is turned away at once.

``short`` is the quiet failure: a speech request drawn ``short`` is answered 200 with correct headers and a
complete, well-formed body (or stream, or WebSocket item) holding only the first ``short_keep`` of its speech (and
of its word timestamps), as a provider that silently drops the end of a long input does. With ``short_times=N`` one
input (the same text) is answered short at most N times, so a repeat of it comes back whole:
``short=1,short_times=1`` cuts every chunk's first answer and no other. A ``short`` drawn for any other request
changes nothing.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, fields
from typing import Literal

FaultKind = Literal["none", "429", "500", "503", "drop", "cut", "short"]
INT_KEYS = ("seed", "storm429", "short_times")


class FaultSpecError(ValueError):
    """The fault specification string is malformed."""


@dataclass(frozen=True)
class FaultSpec:
    """What to inject, as probabilities per request plus fixed delays.

    Example::

        FaultSpec(seed=1, p429=0.2, cut=0.1, ttfb_ms=30)
    """

    seed: int = 0
    p429: float = 0.0  # answer 429 with retry-after and x-ratelimit-* headers
    p500: float = 0.0  # answer 500 processing_failed
    p503: float = 0.0  # answer 503 (engine overloaded)
    drop: float = 0.0  # close the connection without answering
    cut: float = 0.0  # send part of the body (or stream), then close the connection
    latency_ms: float = 0.0  # added before the last byte of every answer
    ttfb_ms: float = 0.0  # added before the first byte of every answer
    retry_after_s: float = 1.0  # what injected 429s tell the client to wait
    storm429: int = 1  # requests answered 429 in a row once a 429 is drawn (1: each 429 alone)
    short: float = 0.0  # answer speech complete-looking but with only its first part (short_keep of it)
    short_keep: float = 0.4  # the share of the speech a short answer keeps
    short_times: int = 0  # the most times one input (its text) is answered short (0: whenever drawn)

    def __post_init__(self) -> None:
        if self.storm429 < 1:
            raise FaultSpecError("storm429 must be at least 1 (the drawn 429 itself)")
        if not 0 < self.short_keep < 1 or self.short_times < 0:
            raise FaultSpecError("short_keep must be between 0 and 1 (exclusive) and short_times not negative")
        probs = (self.p429, self.p500, self.p503, self.drop, self.cut, self.short)
        if not all(0 <= p <= 1 for p in probs) or sum(probs) > 1 + 1e-9:  # "not <=" also catches NaN
            raise FaultSpecError("fault probabilities must each be in [0, 1] and sum to at most 1")
        delays = (self.latency_ms, self.ttfb_ms, self.retry_after_s)
        if not all(0 <= d < math.inf for d in delays):
            raise FaultSpecError("delays must be finite and not negative")

    @property
    def active(self) -> bool:
        return any((self.p429, self.p500, self.p503, self.drop, self.cut, self.short, self.latency_ms, self.ttfb_ms))

    @classmethod
    def parse(cls, text: str) -> FaultSpec:
        """Parse ``key=value,key=value``; an empty string means no faults."""
        names = {f.name: f.type for f in fields(cls)}
        values: dict[str, float | int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep or key not in names:
                raise FaultSpecError(f"bad fault item {item!r}; known keys: {', '.join(names)}")
            try:
                values[key] = int(raw) if key in INT_KEYS else float(raw)
            except ValueError as exc:
                raise FaultSpecError(f"bad number in fault item {item!r}") from exc
        return cls(**values)  # type: ignore[arg-type]


class FaultInjector:
    """Draws the fault for each request from the spec's seeded generator (thread-safe)."""

    def __init__(self, spec: FaultSpec) -> None:
        self._lock = threading.Lock()
        self.configure(spec)

    def configure(self, spec: FaultSpec) -> None:
        """Replace the spec and restart its random sequence."""
        with self._lock:
            self.spec = spec
            self._rng = random.Random(spec.seed)
            self._storm_left = 0  # 429s still owed by the storm under way
            self._shorts: dict[str, int] = {}  # input -> times it was answered short

    def draw(self) -> FaultKind:
        """The fault for the next request."""
        with self._lock:
            spec = self.spec
            if not (spec.p429 or spec.p500 or spec.p503 or spec.drop or spec.cut or spec.short):
                return "none"
            if self._storm_left:
                self._storm_left -= 1
                return "429"
            x = self._rng.random()
            if x < spec.p429:
                self._storm_left = spec.storm429 - 1
        for kind, p in (
            ("429", spec.p429),
            ("500", spec.p500),
            ("503", spec.p503),
            ("drop", spec.drop),
            ("cut", spec.cut),
            ("short", spec.short),
        ):
            if x < p:
                return kind  # type: ignore[return-value]
            x -= p
        return "none"

    def cuts_short(self, input_key: str) -> bool:
        """For a speech request drawn ``short``: whether its answer is cut (an input is cut at most
        ``short_times`` times; then it is answered whole). Counts the cut."""
        with self._lock:
            done = self._shorts.get(input_key, 0)
            if self.spec.short_times and done >= self.spec.short_times:
                return False
            self._shorts[input_key] = done + 1
            return True
