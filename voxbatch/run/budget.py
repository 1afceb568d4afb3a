"""A run's spending cap: items are admitted only while everything already spent, plus what every admitted
item may still cost, stays within the cap.

An item's estimate is exact for per-unit prices (characters for speech, audio seconds for transcription) and
counts only chunks not already cached, so admitting an item reserves what it will really cost. As its calls
come back (their ledger records pass through :meth:`Budget.observe`) the spend moves from reserved to spent;
when the item ends, whatever of its reservation is left is released. A call whose outcome is unknown (an
attempt that timed out or broke off after the request went out) may have been billed: its estimated cost
(``possibly_billed_usd``) counts as spent too, and is never released. An item that does not fit is not
started: the flow records it as ``skipped_budget``, and a later run (with a larger cap, or a fresh one)
continues where this one stopped, paying nothing again for chunks already finished.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from voxbatch.ledger.record import CallRecord

COST_TOLERANCE_USD = 1e-9  # float sums of prices are not exact


@dataclass(frozen=True)
class Admission:
    """Whether an item may start, and why not."""

    admitted: bool
    reason: str | None = None


class Budget:
    """Thread-safe: spent so far, reserved by admitted items, and the cap."""

    def __init__(self, cap_usd: float) -> None:
        if not cap_usd >= 0:
            raise ValueError(f"the budget cap must be zero or more dollars, not {cap_usd!r}")
        self.cap_usd = cap_usd
        self._spent = 0.0
        self._reserved: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def spent_usd(self) -> float:
        with self._lock:
            return self._spent

    @property
    def reserved_usd(self) -> float:
        with self._lock:
            return sum(self._reserved.values())

    def admit(self, item_id: str, estimate_usd: float | None) -> Admission:
        """Reserve ``estimate_usd`` for ``item_id`` if it fits under the cap (an unknown price never fits)."""
        with self._lock:
            committed = self._spent + sum(self._reserved.values())
            if estimate_usd is None:
                return Admission(False, "its price is unknown, so it cannot be kept under the budget cap")
            if committed + estimate_usd > self.cap_usd + COST_TOLERANCE_USD:
                left = max(self.cap_usd - committed, 0.0)
                return Admission(
                    False,
                    f"it would cost about ${estimate_usd:.4f} and the budget has ${left:.4f} of "
                    f"${self.cap_usd:.4f} left",
                )
            self._reserved[item_id] = self._reserved.get(item_id, 0.0) + estimate_usd
            return Admission(True)

    def observe(self, rec: CallRecord) -> None:
        """Count a call's cost, and what it may have cost (timed-out attempts), as spent, out of its item's
        reservation."""
        if rec.kind != "call":
            return
        spent = (rec.cost_usd or 0.0) + (rec.possibly_billed_usd or 0.0)
        if not spent:
            return
        with self._lock:
            self._spent += spent
            if rec.item_id in self._reserved:
                self._reserved[rec.item_id] = max(self._reserved[rec.item_id] - spent, 0.0)

    def forfeit(self, item_id: str) -> None:
        """The item's calls can no longer be accounted for (a worker vanished): count what is left of its
        reservation as spent, so the cap still holds."""
        with self._lock:
            self._spent += self._reserved.pop(item_id, 0.0)

    def release(self, item_id: str) -> None:
        """The item ended: what is left of its reservation is free again."""
        with self._lock:
            self._reserved.pop(item_id, None)
