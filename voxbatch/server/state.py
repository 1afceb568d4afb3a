"""The live state of one server instance: options, counters, fault injector and rate limiter."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from voxbatch.server.faults import FaultInjector, FaultSpec
from voxbatch.server.options import ServerOptions
from voxbatch.server.ratelimit import RequestLimiter
from voxbatch.server.stats import ServerStats

BILLING_KEY = "voxbatch.billing"


@dataclass
class ServerState:
    """Shared by every request of one server instance (reachable as ``app.state.vox``)."""

    options: ServerOptions
    stats: ServerStats = field(init=False)
    faults: FaultInjector = field(init=False)
    limiter: RequestLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.stats = ServerStats(self.options.recent_requests_kept)
        self.faults = FaultInjector(self.options.faults)
        self.limiter = RequestLimiter(
            self.options.requests_per_minute, self.options.burst_requests, self.options.max_concurrency
        )

    def set_faults(self, spec: FaultSpec) -> None:
        """Switch fault injection on, off or to another spec while the server runs."""
        self.faults.configure(spec)


def note_billing(scope: MutableMapping[str, Any], **fields: Any) -> None:
    """Tell the gateway what this request bills (model, voice, characters, audio_seconds, ...)."""
    scope.setdefault("state", {}).setdefault(BILLING_KEY, {}).update(fields)


def billing_of(scope: MutableMapping[str, Any]) -> dict[str, Any]:
    """What :func:`note_billing` recorded for this request."""
    return dict(scope.get("state", {}).get(BILLING_KEY, {}))
