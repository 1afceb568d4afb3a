"""What a rate limiter promises the client, and the limits it is configured with.

The client wraps every HTTP attempt in ``async with limiter.slot(units, unit):`` and reports each
answer with ``limiter.observe(status, headers)``. Two backends implement it: the in-process
:class:`voxbatch.client.limiter.AsyncRateLimiter` and, in ``tasks/``, one that leases permits from a
Prefect global concurrency limit so several processes share one provider limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol

Unit = Literal["chars", "audio_s"]  # characters for speech, audio seconds for transcription


@dataclass(frozen=True)
class RateLimits:
    """A provider's limits for one run. ``None`` means unlimited.

    Example::

        RateLimits(requests_per_minute=600, units_per_minute={"chars": 200_000}, max_in_flight=16)
    """

    requests_per_minute: float | None = None
    units_per_minute: Mapping[Unit, float] = field(default_factory=dict)
    max_in_flight: int | None = None
    adaptive: bool = True  # a 429 lowers the rate; sustained success restores it
    # With no requests_per_minute: learn the provider's limit from its answers (x-ratelimit-* headers, 429s) and
    # adapt both the pace and the calls in flight (see voxbatch.client.limiter). Ignored when a rate is configured.
    learn: bool = False
    limit_header_window_s: float = 60.0  # x-ratelimit-limit counts requests per this many seconds
    learned_headroom: float = 0.02  # pace at least this share under a learned limit (arrivals jitter)
    min_rate_fraction: float = 0.1  # never slow below this share of the configured rate
    backoff_factor: float = 0.5  # rate multiplier applied on each 429
    recovery_successes: int = 20  # consecutive successes before the rate is raised again
    recovery_factor: float = 1.25  # rate multiplier per recovery step (capped at the configured rate)


class Limiter(Protocol):
    """Grants permission for one HTTP attempt at a time, at the configured rates."""

    def slot(self, units: float = 0.0, unit: Unit = "chars") -> AbstractAsyncContextManager[None]:
        """Wait until one request (and ``units`` of ``unit``) may be sent; hold an in-flight slot inside."""
        ...

    def observe(self, status: int | None, headers: Mapping[str, str]) -> None:
        """Learn from an answer (``None`` status: no answer): 429s, ``retry-after``, ``x-ratelimit-*``."""
        ...


def holds_rate_limited_retries(limiter: object) -> bool:
    """Whether ``limiter`` itself holds the next attempt after a 429 (its shared pause and pacing).

    A limiter that says so (attribute ``holds_rate_limited_retries``) lets a 429's retry queue in it at once
    instead of sleeping privately, so callers refused together are paced apart, not woken together.
    """
    return bool(getattr(limiter, "holds_rate_limited_retries", False))


class NoLimit:
    """A limiter that never waits (for scripts and tests that do not care)."""

    class _Slot:
        async def __aenter__(self) -> None:
            return None

        async def __aexit__(self, *exc: object) -> None:
            return None

    def slot(self, units: float = 0.0, unit: Unit = "chars") -> AbstractAsyncContextManager[None]:
        return self._Slot()

    def observe(self, status: int | None, headers: Mapping[str, str]) -> None:
        return None
