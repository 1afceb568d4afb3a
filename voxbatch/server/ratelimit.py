"""The server's own rate limit: a token bucket of requests per minute plus a cap on requests in flight.

Over the limit, the server answers 429 with ``retry-after`` / ``retry-after-ms`` and the
``x-ratelimit-limit/remaining/reset`` headers, as the real service does; admitted answers (2xx included) carry
the ``x-ratelimit-*`` headers too, so a client can learn the limit before it ever trips it.
``x-ratelimit-limit`` is the request rate per minute; a server with only a cap on requests in flight sends no
``x-ratelimit-*`` headers (a client would read the cap as a rate), and a refusal for concurrency only
``retry-after``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

SECONDS_PER_MINUTE = 60.0


@dataclass(frozen=True)
class Admission:
    """The limiter's answer for one request."""

    admitted: bool
    reason: str  # "ok", "rate" or "concurrency"
    limit: int | None  # requests per minute; None: no rate limit (only a cap in flight)
    remaining: int
    reset_s: float  # until a token is free (refused) or the bucket is full (admitted)

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.limit is not None and self.reason != "concurrency":
            out["x-ratelimit-limit"] = str(self.limit)
            out["x-ratelimit-remaining"] = str(self.remaining)
            out["x-ratelimit-reset"] = f"{self.reset_s:.3f}"
        if not self.admitted:
            out["retry-after"] = str(max(1, math.ceil(self.reset_s)))
            out["retry-after-ms"] = str(max(1, math.ceil(self.reset_s * 1000)))
        return out


class RequestLimiter:
    """Token bucket (requests/minute, burst) plus an in-flight counter; thread-safe."""

    def __init__(
        self,
        requests_per_minute: float | None,
        burst_requests: int | None,
        max_concurrency: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpm = requests_per_minute
        self.rate_per_s = (requests_per_minute or 0.0) / SECONDS_PER_MINUTE
        self.capacity = float(burst_requests or max(1, math.ceil(self.rate_per_s)))
        self.max_concurrency = max_concurrency
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rpm is not None or self.max_concurrency is not None

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate_per_s)
        self._stamp = now

    def acquire(self) -> Admission:
        """Admit or refuse one request; an admitted request must be released."""
        with self._lock:
            now = self._clock()
            limit = int(self.rpm) if self.rpm is not None else None
            if self.max_concurrency is not None and self._in_flight >= self.max_concurrency:
                return Admission(False, "concurrency", limit, 0, 1.0)
            if self.rpm is not None:
                self._refill(now)
                if self._tokens < 1.0:
                    wait_s = (1.0 - self._tokens) / self.rate_per_s if self.rate_per_s else SECONDS_PER_MINUTE
                    return Admission(False, "rate", limit, 0, wait_s)
                self._tokens -= 1.0
                full_in_s = (self.capacity - self._tokens) / self.rate_per_s if self.rate_per_s else 0.0
                admission = Admission(True, "ok", limit, int(self._tokens), full_in_s)
            else:
                admission = Admission(True, "ok", None, 0, 0.0)
            self._in_flight += 1
            return admission

    def release(self) -> None:
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
