"""When a run stops starting calls: the first SIGINT or SIGTERM asks for a graceful stop, a second for an abort.

One :class:`RunStop` per process (signals are per process); the command activates a fresh one per run and
installs it on the run's event loop. After the first signal:

- no new call starts: every HTTP attempt passes a :class:`StopGate` (the run's limiter, wrapped), which raises
  :class:`RunStopped` instead of starting one, and attempts still waiting for their turn in the limiter are
  released at once with :class:`RunStopped` (nothing was sent for them);
- attempts already in flight run to their end, for at most ``grace_s`` seconds; then they are cut off with
  :class:`RunStopped` (the answer is lost and the call may be billed; the ledger's journal knows it was sent);
- the flows start no new item and no new assembly; every answer that arrived is saved to the cache and the
  ledger is flushed when the run's resources close; the command then exits 128 + the signal number.

A second signal is the command's business (it exits at once): :meth:`RunStop.abort` runs the hooks registered
with :meth:`RunStop.at_abort` (ledger flushes, stopping child servers) first.
Nothing here imports Prefect.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import FrameType

from voxbatch.client.limits import Limiter, Unit
from voxbatch.environment import DEFAULT_STOP_GRACE_S
from voxbatch.plural import counted

logger = logging.getLogger(__name__)

STOP_GRACE_S = DEFAULT_STOP_GRACE_S  # how long calls in flight may take to finish after the first signal
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SIGNAL_EXIT_BASE = 128  # shells report a process ended by signal N as 128 + N: 130 for SIGINT, 143 for SIGTERM

SignalHandler = Callable[[int], None]


class RunStopped(Exception):
    """A call was not started (or was cut off after the grace period) because the run is stopping."""


def signal_name(signum: int) -> str:
    """``SIGINT`` for 2, and so on."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(signum: int) -> int:
    """The exit code a run stopped by ``signum`` ends with (130 for SIGINT, 143 for SIGTERM)."""
    return SIGNAL_EXIT_BASE + signum


class RunStop:
    """Whether (and by which signal) the run was asked to stop, and the calls it lets finish meanwhile.

    Example::

        stop = RunStop(grace_s=30.0)
        stop.install(asyncio.get_running_loop(), on_signal)  # on_signal(signum) calls stop.request(signum)
        limiter = StopGate(AsyncRateLimiter(limits), stop)
    """

    def __init__(self, grace_s: float = STOP_GRACE_S) -> None:
        if not grace_s >= 0:
            raise ValueError(f"grace_s must be >= 0, not {grace_s!r}")
        self.grace_s = grace_s
        self.signum: int | None = None  # the first signal (or None when asked by code)
        self.requests = 0
        self._waiting: set[asyncio.Task[object]] = set()  # attempts waiting for the limiter: nothing sent yet
        self._in_flight: set[asyncio.Task[object]] = set()  # attempts whose request may be on the wire
        self._cut: dict[asyncio.Task[object], str] = {}  # tasks this stop cancelled, and why (not other cancels)
        self._cut_timer: asyncio.TimerHandle | None = None
        self._abort_hooks: list[Callable[[], object]] = []
        self._installed: tuple[asyncio.AbstractEventLoop, SignalHandler] | None = None

    # --- the flag ------------------------------------------------------------------------------------------

    @property
    def requested(self) -> bool:
        """Whether a stop was asked for: start no new call, item or assembly."""
        return self.requests > 0

    @property
    def reason(self) -> str:
        """Why the run is stopping, for messages."""
        return f"the run was stopped by {signal_name(self.signum)}" if self.signum else "the run was stopped"

    @property
    def in_flight(self) -> int:
        """Attempts under way (their requests may be on the wire)."""
        return len(self._in_flight)

    def request(self, signum: int | None = None) -> int:
        """Ask for a stop; returns how many times it has been asked (1 for the first request)."""
        self.requests += 1
        if self.requests > 1:
            return self.requests
        self.signum = signum
        for task in list(self._waiting):  # they sent nothing: release them now
            self._cancel(task, f"not sent: {self.reason}")
        if self._in_flight:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # asked from outside the loop (a plain signal handler): nothing to time
                return self.requests
            self._cut_timer = loop.call_later(self.grace_s, self._cut_off)
        return self.requests

    def check(self) -> None:
        """Raise :class:`RunStopped` when a stop was asked for."""
        if self.requested:
            raise RunStopped(f"not sent: {self.reason}")

    def _cut_off(self) -> None:
        if self._in_flight:
            calls = counted(len(self._in_flight), "call")
            logger.warning("%s still in flight after %.0f s: cut off", calls, self.grace_s)
        for task in list(self._in_flight):
            self._cancel(task, f"cut off after {self.grace_s:g} s in flight: {self.reason}")

    def _cancel(self, task: asyncio.Task[object], why: str) -> None:
        if not task.done() and task not in self._cut:
            self._cut[task] = why
            task.cancel()

    # --- the second signal ---------------------------------------------------------------------------------

    def at_abort(self, hook: Callable[[], object]) -> Callable[[], None]:
        """Run ``hook`` (quick, synchronous) before an abort; returns a function that unregisters it."""
        self._abort_hooks.append(hook)

        def forget() -> None:
            if hook in self._abort_hooks:
                self._abort_hooks.remove(hook)

        return forget

    def abort(self) -> None:
        """Run the abort hooks (newest first); a failing hook does not keep the others from running."""
        for hook in reversed(list(self._abort_hooks)):
            try:
                hook()
            except Exception as exc:  # an abort must go on whatever one hook does
                logger.error("while aborting: %s: %s", type(exc).__name__, exc)

    # --- signals -------------------------------------------------------------------------------------------

    def install(self, loop: asyncio.AbstractEventLoop, on_signal: SignalHandler) -> None:
        """Route SIGINT and SIGTERM to ``on_signal(signum)`` on ``loop`` (even where they were ignored)."""
        self._installed = (loop, on_signal)
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, on_signal, signum)

    def rearm(self) -> None:
        """Install the handlers again on the running loop (after a library replaced one, as Prefect's flow
        engine does with SIGTERM for the length of a flow run); does nothing when :meth:`install` was not called.
        """
        if self._installed is None:
            return
        loop, on_signal = self._installed
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return
        if running is loop and not loop.is_closed():
            self.install(loop, on_signal)


def install_early(on_signal: SignalHandler) -> None:
    """Route SIGINT and SIGTERM to ``on_signal`` before any event loop runs (``install`` replaces this)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        on_signal(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)


_current = RunStop()


def current_stop() -> RunStop:
    """This process's stop (a fresh one that is never requested unless a command activated and installed one)."""
    return _current


def activate(stop: RunStop) -> RunStop:
    """Make ``stop`` this process's stop (one per run of a command); returns it."""
    global _current
    _current = stop
    return stop


class StopGate:
    """A limiter that refuses new attempts once the run is stopping, and lets started ones finish (bounded).

    Wraps the run's limiter: ``StopGate(AsyncRateLimiter(limits), stop)``. An attempt refused or cut off raises
    :class:`RunStopped` out of ``slot``; the limiter it wraps is left consistent (its slot is released).
    """

    def __init__(self, inner: Limiter, stop: RunStop) -> None:
        self.inner = inner
        self.stop = stop

    def slot(self, units: float = 0.0, unit: Unit = "chars") -> AbstractAsyncContextManager[None]:
        """The wrapped limiter's slot, unless the run is stopping."""
        return self._slot(units, unit)

    def observe(self, status: int | None, headers: Mapping[str, str]) -> None:
        """Pass the answer on to the wrapped limiter."""
        self.inner.observe(status, headers)

    def __getattr__(self, name: str) -> object:
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)  # introspection (current_rpm, in_flight, aclose, ...) of the wrapped one

    @asynccontextmanager
    async def _slot(self, units: float, unit: Unit) -> AsyncIterator[None]:
        stop = self.stop
        stop.check()
        task = asyncio.current_task()
        if task is None:  # not in a task (cannot be cut off): just the wrapped limiter
            async with self.inner.slot(units, unit):
                yield
            return
        try:
            stop._waiting.add(task)
            try:
                async with self.inner.slot(units, unit):
                    stop._waiting.discard(task)
                    stop.check()  # the stop came while this attempt waited for its turn
                    stop._in_flight.add(task)
                    try:
                        yield
                    finally:
                        stop._in_flight.discard(task)
            finally:
                stop._waiting.discard(task)
        except asyncio.CancelledError:
            why = stop._cut.pop(task, None)
            if why is None:
                raise
            task.uncancel()
            raise RunStopped(why) from None
