"""The terminal progress bar: items, chunks, spend and ETA from a run's :class:`~voxbatch.run.progress.RunProgress`.

It draws only on a TTY (rich), redraws on updates (no thread of its own), and while it shows, log lines
written to its stream are printed above it instead of through it; a pipe or a file stays untouched.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable
from functools import partial
from typing import TextIO, cast

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn
from rich.text import Text

from voxbatch.run.progress import ProgressSnapshot

BAR_FRACTION_STEPS = 1000  # the terminal bar's resolution (0.1 %)
BAR_WIDTH_CHARS = 24  # leaves room for the summary line on a 120-column terminal


class _AboveTheBar(io.TextIOBase):
    """A text stream whose complete lines are printed above a live bar, through the bar's console."""

    def __init__(self, console: Console, stream: TextIO) -> None:
        self._console = console
        self._stream = stream
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        if lines:
            self._console.print(Text("\n").join(Text.from_ansi(line) for line in lines), soft_wrap=True)
        return len(text)

    def flush_partial(self) -> None:
        if self._partial:
            self.write("\n")

    def isatty(self) -> bool:
        return True  # the writer keeps its colours; they are decoded and printed by the bar's console

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True


def _all_log_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {id(h): h for lg in loggers if isinstance(lg, logging.Logger) for h in lg.handlers}
    return list(handlers.values())


class TerminalBar:
    """A progress bar on a terminal (rich): items, chunks, spend and ETA. Quiet when the stream is not a TTY.

    Output to a pipe, a file or a test's captured stream stays untouched. While the bar shows, log handlers that
    write to its stream (plain ``logging.StreamHandler`` or a rich console, like Prefect's console handler) and
    writes to ``sys.stderr`` (when the bar is on it) are printed above the bar instead of through it; everything
    is put back when the bar closes.
    """

    def __init__(self, stream: TextIO, *, label: str = "voxbatch") -> None:
        self.stream = stream
        self.label = label
        isatty = getattr(stream, "isatty", None)
        self.active = bool(isatty()) if callable(isatty) else False
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._above: _AboveTheBar | None = None
        self._restore: list[Callable[[], object]] = []

    @classmethod
    def for_stream(cls, stream: TextIO | None = None, *, label: str = "voxbatch") -> TerminalBar:
        """A bar on ``stream`` (default: the current ``sys.stderr``)."""
        return cls(stream if stream is not None else sys.stderr, label=label)

    def update(self, snap: ProgressSnapshot) -> None:
        """Redraw the bar (started on the first update)."""
        if not self.active:
            return
        if self._progress is None:
            console = Console(file=self.stream, force_terminal=True)
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=BAR_WIDTH_CHARS),
                TaskProgressColumn(),
                TextColumn("{task.fields[detail]}"),
                console=console,
                auto_refresh=False,  # redrawn on updates only: no thread of its own
                redirect_stdout=False,  # stdout may be a pipe (a report); never send it to the terminal
                redirect_stderr=self.stream is sys.stderr,
            )
            self._task = self._progress.add_task(self.label, total=BAR_FRACTION_STEPS, detail=snap.summary())
            self._progress.update(self._task, completed=round(snap.fraction * BAR_FRACTION_STEPS))
            self._progress.start()  # draws the first state
            self._route_logs_above(console)
            return
        self._draw(snap)

    def close(self, snap: ProgressSnapshot) -> None:
        """Draw the final state and leave it on the terminal."""
        if self._progress is None:
            self.update(snap)
        if self._progress is not None:
            self._draw(snap)
            if self._above is not None:
                self._above.flush_partial()
            for restore in reversed(self._restore):
                restore()
            self._restore.clear()
            self._progress.stop()
            self._progress = None

    def _draw(self, snap: ProgressSnapshot) -> None:
        assert self._progress is not None and self._task is not None
        completed = round(snap.fraction * BAR_FRACTION_STEPS)
        self._progress.update(self._task, completed=completed, detail=snap.summary())
        self._progress.refresh()

    def _route_logs_above(self, console: Console) -> None:
        """Point the log handlers that write to this bar's stream at the bar's console until it closes."""
        self._above = _AboveTheBar(console, self.stream)
        above = cast(TextIO, self._above)
        for handler in _all_log_handlers():
            rich_console = getattr(handler, "console", None)
            if isinstance(rich_console, Console) and rich_console.file is self.stream:
                rich_console.file = above
                self._restore.append(partial(setattr, rich_console, "file", self.stream))
            elif isinstance(handler, logging.StreamHandler) and handler.stream is self.stream:
                handler.setStream(above)
                self._restore.append(partial(handler.setStream, self.stream))
