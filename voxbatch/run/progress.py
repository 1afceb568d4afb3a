"""Run progress: items and chunks done, money spent so far and an ETA, sent to listeners while a run goes.

A :class:`RunProgress` is told what the run plans (:meth:`~RunProgress.add_items`, :meth:`~RunProgress.add_chunks`;
totals may grow as files are planned) and what finished (:meth:`~RunProgress.chunk_done`,
:meth:`~RunProgress.item_done`, or ledger records through :meth:`~RunProgress.observe`). It is thread-safe, so calls
on the event loop and work in threads report to one tracker. Listeners (:class:`TerminalBar`, the Prefect artifact
in ``tasks/artifacts/progress.py``) get a :class:`ProgressSnapshot` at most every ``min_interval_s`` seconds, on
:meth:`~RunProgress.tick` when time alone moved on, and always once at :meth:`~RunProgress.close`. A listener that
raises is logged and gets no more updates; it never breaks the run.

**ETA.** Remaining chunks divided by the recent throughput of chunks that were actually *requested*: cached chunks
finish instantly and would make the rate a lie, so they only shrink the remaining count. The throughput is
``(n - 1) / (now - t_1)`` over the last ``RATE_WINDOW_CHUNKS`` requested completions ``t_1 … t_n``: with many calls
in flight completions come in bursts, and counting from the first completion (not from the start of the run)
leaves out the latency of the first wave; measuring to *now* (not to ``t_n``) makes the estimate grow while the
run stalls (a long ``Retry-After``). No ETA before ``MIN_RATE_SAMPLES`` requested completions.

**Totals that grow.** When items are planned one by one (the transcript flow learns a file's chunk count only after
probing it), ``add_chunks(n, item_id=...)`` says which item the chunks belong to; the chunks of the items not
planned yet are then estimated at the planned items' average, so the fraction and the ETA do not jump to "almost
done" while most files are still unread. When a named item finishes, its chunks that never reported are dropped
from the total (``chunks_dropped``), so a finished run reaches 100 %.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from voxbatch.ledger.record import CallRecord

logger = logging.getLogger(__name__)

DEFAULT_MIN_INTERVAL_S = 0.5  # listeners hear from a busy run at most twice a second
RATE_WINDOW_CHUNKS = 100  # the ETA's throughput is measured over this many recent requested chunks
MIN_RATE_SAMPLES = 3  # requested chunks needed before there is an ETA (two intervals between them)
MAX_UNFINISHED_FRACTION = 0.99  # "100 %" only ever means finished (chunks may be done while items still assemble)
CHUNK_ENDPOINTS = frozenset({"speech", "transcriptions", "translations"})  # ledger calls that are chunks
NO_REQUEST_STATUSES = frozenset({"cached", "skipped", "skipped_budget"})  # chunk records that sent nothing
SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600

Clock = Callable[[], float]


def format_duration(seconds: float | None) -> str:
    """``1:02:05``, ``3:05`` or ``0:42``; ``--:--`` when unknown."""
    if seconds is None:
        return "--:--"
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, SECONDS_PER_HOUR)
    minutes, secs = divmod(rest, SECONDS_PER_MINUTE)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_spend(spent_usd: float, cost_unknown: int) -> str:
    """``$0.0123``, ``$12.35``, plus ``(+3 unpriced)`` when some calls' prices are unknown."""
    text = f"${spent_usd:.4f}" if spent_usd < 1 else f"${spent_usd:.2f}"
    return f"{text} (+{cost_unknown} unpriced)" if cost_unknown else text


@dataclass(frozen=True)
class ProgressSnapshot:
    """The state of a run at one moment. Failed chunks and items count as done (finished, unsuccessfully)."""

    items_done: int
    items_total: int
    chunks_done: int
    chunks_total: int
    spent_usd: float  # the known cost so far; calls whose price is unknown are counted in ``cost_unknown``
    elapsed_s: float
    eta_s: float | None  # None until enough chunks were requested to measure a throughput
    cost_unknown: int = 0  # successful calls whose model has no price (their cost is not in ``spent_usd``)
    chunks_cached: int = 0
    chunks_failed: int = 0
    items_failed: int = 0
    items_planned: int = 0  # named items whose chunks are known (0: items not named, no estimate for the unplanned)
    chunks_dropped: int = 0  # planned chunks of finished items that never reported (not run); not in chunks_total

    @property
    def finished(self) -> bool:
        """Every planned item and chunk is done (successfully or not); an empty run is finished."""
        return self.items_done >= self.items_total and self.chunks_done >= self.chunks_total

    @property
    def chunks_expected(self) -> float:
        """``chunks_total`` plus, for items not planned yet, the planned items' average number of chunks."""
        unplanned = min(self.items_total - self.items_planned, self.items_total - self.items_done)
        if self.items_planned > 0 and unplanned > 0:
            return self.chunks_total + unplanned * self.chunks_total / self.items_planned
        return float(self.chunks_total)

    @property
    def fraction(self) -> float:
        """0..1: by chunks when there are any, else by items; 1.0 only when finished, 0.0 while nothing is planned."""
        if self.items_total == 0 and self.chunks_total == 0:
            return 0.0
        if self.finished:
            return 1.0
        expected = self.chunks_expected
        done = self.chunks_done / expected if expected > 0 else self.items_done / self.items_total
        return min(done, MAX_UNFINISHED_FRACTION)

    def summary(self) -> str:
        """One line: items, chunks (cached, failed), spend and ETA."""
        chunks = f"chunks {self.chunks_done}/{self.chunks_total}"
        counts = ((self.chunks_cached, "cached"), (self.chunks_failed, "failed"), (self.chunks_dropped, "not run"))
        notes = [f"{n} {what}" for n, what in counts if n]
        if notes:
            chunks += f" ({', '.join(notes)})"
        items = f"items {self.items_done}/{self.items_total}"
        if self.items_failed:
            items += f" ({self.items_failed} failed)"
        spend = format_spend(self.spent_usd, self.cost_unknown)
        return f"{items} · {chunks} · {spend} · ETA {format_duration(self.eta_s)}"


class ProgressListener(Protocol):
    """Hears about a run's progress; called from any thread, but never from two at once."""

    def update(self, snap: ProgressSnapshot) -> None: ...

    def close(self, snap: ProgressSnapshot) -> None: ...


@dataclass
class _ItemChunks:
    """What one item planned and reported (for :meth:`RunProgress.item_done` to settle)."""

    planned: int = 0
    done: int = 0
    known: bool = False  # its plan was given (add_chunks or item_done); chunks may report before that
    settled: bool = False


class RunProgress:
    """Counts a run's items, chunks and spend (thread-safe) and tells its listeners, throttled.

    Items may be named (``item_id``): then the tracker knows each item's plan, extrapolates the chunks of items not
    planned yet, and when an item finishes it writes off that item's chunks that never reported (a file that broke
    off while decoding, a book that failed), so a finished run always reaches 100 %.

    Example::

        progress = RunProgress([TerminalBar.for_stream()])
        progress.add_items(2)
        progress.add_chunks(40, item_id="alice")
        progress.chunk_done(cost_usd=0.0012, cached=False, item_id="alice")  # or progress.observe(record)
        progress.item_done(item_id="alice")
        progress.item_done(item_id="moby", failed=True)  # failed before planning: no chunks expected
        progress.close()
    """

    def __init__(
        self,
        listeners: Sequence[ProgressListener] = (),
        *,
        clock: Clock = time.monotonic,
        min_interval_s: float = DEFAULT_MIN_INTERVAL_S,
    ) -> None:
        self._listeners = list(listeners)
        self._clock = clock
        self._min_interval_s = min_interval_s
        self._lock = threading.Lock()  # the counters
        self._notify_lock = threading.RLock()  # listeners are called in order, one thread at a time
        self._started = clock()
        self._closed_at: float | None = None
        self._last_notified: float | None = None
        self._items_total = self._items_done = self._items_failed = self._items_planned = 0
        self._chunks_total = self._chunks_done = self._chunks_cached = self._chunks_failed = self._chunks_dropped = 0
        self._spent_usd = 0.0
        self._cost_unknown = 0
        self._items: dict[str, _ItemChunks] = {}
        self._requested_at: deque[float] = deque(maxlen=RATE_WINDOW_CHUNKS)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (later events are still counted, but nobody is told)."""
        return self._closed_at is not None

    def add_listener(self, listener: ProgressListener) -> None:
        """Tell ``listener`` too, from the next update on."""
        with self._notify_lock:
            self._listeners.append(listener)

    def add_items(self, n: int) -> None:
        """``n`` more items (books, files) to do."""
        _non_negative(n, "n")
        with self._lock:
            self._items_total += n
            due = self._due_locked()
        if due:
            self._notify()

    def add_chunks(self, n: int, *, item_id: str | None = None) -> None:
        """``n`` more chunks to do, of item ``item_id`` when given (may be called more than once per item)."""
        _non_negative(n, "n")
        with self._lock:
            self._chunks_total += n
            if item_id is not None:
                self._item_locked(item_id, known=True).planned += n
            due = self._due_locked()
        if due:
            self._notify()

    def chunk_done(
        self, *, cost_usd: float | None, cached: bool, failed: bool = False, item_id: str | None = None
    ) -> None:
        """One chunk finished: from a cache, requested and paid (``cost_usd`` None: price unknown), or failed."""
        with self._lock:
            self._chunks_done += 1
            if cached:
                self._chunks_cached += 1
            else:
                self._requested_at.append(self._clock())
            if failed:
                self._chunks_failed += 1
            if cost_usd is not None:
                self._spent_usd += cost_usd
            elif not (cached or failed):  # a failed call is not billed, a cached one costs nothing
                self._cost_unknown += 1
            if item_id is not None:
                state = self._item_locked(item_id)
                state.done += 1
                if state.settled:  # reported after its item was written off: it did run after all
                    self._chunks_total += 1
                    if state.done <= state.planned:
                        self._chunks_dropped -= 1
            due = self._due_locked()
        if due:
            self._notify()

    def item_done(self, *, failed: bool = False, item_id: str | None = None) -> None:
        """One item finished (built, skipped or failed); a named item counts once, and its unreported chunks drop."""
        with self._lock:
            if item_id is not None:
                state = self._item_locked(item_id, known=True)
                if state.settled:
                    return
                state.settled = True
                outstanding = max(0, state.planned - state.done)
                self._chunks_total -= outstanding
                self._chunks_dropped += outstanding
            self._items_done += 1
            self._items_failed += failed
            due = self._due_locked()
        if due:
            self._notify()

    def observe(self, rec: CallRecord) -> None:
        """Count one ledger record: a chunk call (ok, cached or failed) or an item summary; others (a chunk's
        repeats and audit, which have a ``purpose``, and free calls) are ignored.

        Use it as (or inside) the client's ledger sink for the chunk calls. Item records usually do not pass through
        that sink: give each one to :meth:`observe` too, or call :meth:`item_done` (a named item counts once either
        way).
        """
        if rec.kind == "item":
            self.item_done(failed=rec.status == "failed", item_id=rec.item_id)
        elif rec.kind == "call" and rec.endpoint in CHUNK_ENDPOINTS and rec.purpose is None:
            cached = rec.cached or rec.status in NO_REQUEST_STATUSES
            self.chunk_done(cost_usd=rec.cost_usd, cached=cached, failed=rec.status == "failed", item_id=rec.item_id)

    def tick(self) -> None:
        """Time passed: tell the listeners if an update is due (a trailing change, a growing ETA while stalled)."""
        with self._lock:
            due = self._due_locked()
        if due:
            self._notify()

    def snapshot(self) -> ProgressSnapshot:
        """The state now (frozen at :meth:`close`'s moment once closed)."""
        with self._lock:
            return self._snapshot_locked()

    def close(self) -> ProgressSnapshot:
        """Stop the updates and give every listener the final snapshot (only the first call does)."""
        with self._notify_lock:
            with self._lock:
                if self._closed_at is not None:
                    return self._snapshot_locked()
                self._closed_at = self._clock()
                snap = self._snapshot_locked()
            for listener in list(self._listeners):
                self._call(listener, "close", snap)
        return snap

    # --- internals ---------------------------------------------------------------------------------

    def _item_locked(self, item_id: str, *, known: bool = False) -> _ItemChunks:
        state = self._items.get(item_id)
        if state is None:
            state = self._items[item_id] = _ItemChunks()
        if known and not state.known:
            state.known = True
            self._items_planned += 1
        return state

    def _due_locked(self) -> bool:
        if self._closed_at is not None or not self._listeners:
            return False
        now = self._clock()
        if self._last_notified is not None and now - self._last_notified < self._min_interval_s:
            return False
        self._last_notified = now
        return True

    def _notify(self) -> None:
        with self._notify_lock:
            with self._lock:
                if self._closed_at is not None:
                    return
                snap = self._snapshot_locked()  # taken under the notify lock, so listeners never go backwards
            for listener in list(self._listeners):
                self._call(listener, "update", snap)

    def _call(self, listener: ProgressListener, method: str, snap: ProgressSnapshot) -> None:
        """Call a listener; one that raises is logged and removed (caller holds the notify lock)."""
        try:
            getattr(listener, method)(snap)
        except Exception:
            logger.warning(
                "progress listener %r failed in %s; it gets no more updates", listener, method, exc_info=True
            )
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _snapshot_locked(self) -> ProgressSnapshot:
        now = self._closed_at if self._closed_at is not None else self._clock()
        snap = ProgressSnapshot(
            items_done=self._items_done,
            items_total=self._items_total,
            chunks_done=self._chunks_done,
            chunks_total=self._chunks_total,
            spent_usd=self._spent_usd,
            elapsed_s=now - self._started,
            eta_s=None,
            cost_unknown=self._cost_unknown,
            chunks_cached=self._chunks_cached,
            chunks_failed=self._chunks_failed,
            items_failed=self._items_failed,
            items_planned=self._items_planned,
            chunks_dropped=self._chunks_dropped,
        )
        return replace(snap, eta_s=self._eta_locked(snap, now))

    def _eta_locked(self, snap: ProgressSnapshot, now: float) -> float | None:
        remaining = snap.chunks_expected - snap.chunks_done
        if snap.finished or (remaining <= 0 and snap.chunks_total > 0):
            return 0.0  # at most the items' assembly is left
        if remaining <= 0:
            return None  # items to do but no chunk planned yet
        if len(self._requested_at) < MIN_RATE_SAMPLES:
            return None
        span_s = now - self._requested_at[0]
        if span_s <= 0:
            return None
        return remaining * span_s / (len(self._requested_at) - 1)


def _non_negative(n: int, name: str) -> int:
    if n < 0:
        raise ValueError(f"{name} must be >= 0, got {n}")
    return n
