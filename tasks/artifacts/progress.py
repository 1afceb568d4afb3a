"""The run's progress as a Prefect progress artifact of the flow run, updated while the run goes.

Why the writes happen in one coroutine on the flow's event loop, and never in :meth:`PrefectProgressArtifact.update`:
Prefect's sync ``create_progress_artifact`` / ``update_progress_artifact`` are ``async_dispatch`` wrappers. Inside
an async flow (and in a worker thread started with ``asyncio.to_thread``, which inherits the flow's run context)
they see an async context and *return a coroutine* instead of writing, so a sync progress callback would silently
write nothing (and leak an un-awaited coroutine); forcing ``_sync=True`` would block the event loop for an HTTP
round trip per update. So the listener only keeps the latest snapshot (cheap, thread-safe, callable from any
thread), and :func:`publish_progress` runs a small pump on the flow's loop that writes it with the async variants
(``acreate_progress_artifact`` once, then ``aupdate_progress_artifact``) at most every ``interval_s`` seconds and
only when it changed. Started from the flow body, the pump carries the flow run's context, so the artifact belongs
to the flow run itself, not to whichever task run happened to report.

The artifact has no key (progress artifacts live on their flow run: one per :func:`publish_progress` block, on the
run's Artifacts tab); its value is the percentage and its description the summary line (items, chunks, spend,
ETA). At the end it reads 100 % only if every planned item and chunk finished (failed ones included: progress, not
success); otherwise the real fraction. Outside a flow run nothing is written and nothing fails. A failed write is
logged and retried at the next interval; it never breaks the run.

Wiring (:func:`tasks.run.run_pipeline`, in the flow body, so the artifact is the flow run's)::

    kernel.progress = RunProgress([TerminalBar.for_stream(label=pipeline.flow)])
    async with publish_progress(kernel.progress, title=pipeline.flow):
        report = await kernel.run(rows, errors, max_cost_usd)  # the kernel feeds items, chunks and calls
    # progress is closed here: the bar shows its final line and the artifact its final value
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.context import FlowRunContext

from voxbatch.run.progress import ProgressSnapshot, RunProgress

DEFAULT_PUBLISH_INTERVAL_S = 2.0  # at most one artifact write per 2 s: each is an API round trip
DEFAULT_TICK_S = 0.5  # how often the pump lets time-driven updates through (the bar's ETA while stalled)
PERCENT_DECIMALS = 1  # the artifact's value is rounded to 0.1 %
FULL_PERCENT = 100.0

Clock = Callable[[], float]


def percent_of(snap: ProgressSnapshot, *, final: bool = False) -> float:
    """The artifact's value: 0-100; 100 only when finished (at the end an empty run is finished too)."""
    if final and snap.finished:
        return FULL_PERCENT
    return round(snap.fraction * FULL_PERCENT, PERCENT_DECIMALS)


class PrefectProgressArtifact:
    """A progress listener that mirrors the run onto a progress artifact of one flow run.

    :meth:`update` and :meth:`close` only record the snapshot (any thread); :meth:`publish` writes it (on the flow's
    event loop). Use it through :func:`publish_progress`, which runs the writes.
    """

    def __init__(
        self,
        title: str,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        *,
        interval_s: float = DEFAULT_PUBLISH_INTERVAL_S,
        clock: Clock = time.monotonic,
    ) -> None:
        self.title = title
        self.interval_s = interval_s
        self.artifact_id: UUID | None = None
        self._logger = logger
        self._clock = clock
        self._latest: ProgressSnapshot | None = None
        self._final = False
        self._written: tuple[float, str] | None = None  # (percent, description) of the last successful write
        self._last_write_at: float | None = None
        self._failures = 0
        self._write_lock: asyncio.Lock | None = None

    def update(self, snap: ProgressSnapshot) -> None:
        """Keep the latest snapshot for the next write (no I/O; safe from any thread)."""
        if not self._final:
            self._latest = snap

    def close(self, snap: ProgressSnapshot) -> None:
        """Keep the final snapshot; the next :meth:`publish` writes it whatever the interval."""
        self._latest = snap
        self._final = True

    async def publish(self, *, force: bool = False) -> bool:
        """Write the latest snapshot if it changed and the interval passed (``force`` or final: at once); True if so."""
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            snap, final = self._latest, self._final
            if snap is None:
                return False
            now = self._clock()
            due = self._last_write_at is None or now - self._last_write_at >= self.interval_s
            if not (due or force or final):
                return False
            state = (percent_of(snap, final=final), f"{self.title}: {snap.summary()}")
            if state == self._written:
                return False
            try:
                if self.artifact_id is None:
                    self.artifact_id = await acreate_progress_artifact(progress=state[0], description=state[1])
                else:
                    await aupdate_progress_artifact(self.artifact_id, progress=state[0], description=state[1])
            except Exception as exc:  # progress must never break the run
                self._failures += 1
                log = self._logger.warning if self._failures == 1 else self._logger.debug
                log("progress artifact not written (%s: %s); trying again later", type(exc).__name__, exc)
                return False
            self._written, self._last_write_at = state, now
            return True


@asynccontextmanager
async def publish_progress(
    progress: RunProgress,
    *,
    title: str,
    interval_s: float = DEFAULT_PUBLISH_INTERVAL_S,
    tick_s: float = DEFAULT_TICK_S,
) -> AsyncIterator[PrefectProgressArtifact | None]:
    """While the block runs, tick ``progress`` and mirror it onto a progress artifact of the current flow run.

    Enter it in the body of an async flow. Every ``tick_s`` seconds it calls ``progress.tick()`` (so listeners such
    as the terminal bar see trailing changes and an ETA that grows during a stall) and writes the artifact when
    ``interval_s`` has passed and the value or summary changed. On exit, normal or not, it closes ``progress`` and
    writes the final value. Outside a flow run there is no artifact (it yields None), but the ticks still run.

    Parameters
    ----------
    progress:
        The run's tracker; the artifact listener is added to it here.
    title:
        Starts the artifact's description (``"audiobook: items 1/3 · chunks 12/40 · $0.0123 · ETA 1:20"``).
    interval_s, tick_s:
        Least time between two artifact writes; time between two ticks.
    """
    context = FlowRunContext.get()
    artifact: PrefectProgressArtifact | None = None
    if context is not None and context.flow_run is not None:
        artifact = PrefectProgressArtifact(title, get_run_logger(), interval_s=interval_s)
        progress.add_listener(artifact)
    stop = asyncio.Event()
    pump = asyncio.create_task(_pump(progress, artifact, stop, tick_s), name="voxbatch-progress")
    try:
        yield artifact
    finally:
        stop.set()  # no cancel: a write cut off mid-request could leave a second artifact behind
        with contextlib.suppress(Exception):
            await pump
        progress.close()
        if artifact is not None:
            await artifact.publish(force=True)


async def _pump(
    progress: RunProgress, artifact: PrefectProgressArtifact | None, stop: asyncio.Event, tick_s: float
) -> None:
    """Tick the tracker and write the artifact until ``stop`` is set."""
    while not stop.is_set():
        progress.tick()
        if artifact is not None:
            await artifact.publish()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=tick_s)
