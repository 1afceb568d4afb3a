"""The terminal progress bar: silent off a terminal, drawn on one, and log lines printed above it."""

from __future__ import annotations

import io
import logging

from rich.console import Console
from rich.logging import RichHandler

from voxbatch.run.progress import RunProgress
from voxbatch.run.progress_bar import TerminalBar


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_bar_is_quiet_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = TerminalBar.for_stream(stream)
    progress = RunProgress([bar], min_interval_s=0)
    progress.add_items(1)
    progress.add_chunks(2)
    progress.chunk_done(cost_usd=0.5, cached=False)
    progress.close()
    assert not bar.active
    assert stream.getvalue() == ""


def test_terminal_bar_draws_on_a_terminal() -> None:
    stream = FakeTTY()
    bar = TerminalBar.for_stream(stream, label="audiobook")
    progress = RunProgress([bar], min_interval_s=0)
    progress.add_items(1)
    progress.add_chunks(2)
    progress.chunk_done(cost_usd=0.5, cached=False)
    drawn = stream.getvalue()
    assert bar.active
    assert "audiobook" in drawn
    assert "chunks 1/2" in drawn
    assert "$0.5000" in drawn
    progress.chunk_done(cost_usd=0.25, cached=False)
    progress.item_done()
    progress.close()
    final = stream.getvalue()
    assert "100%" in final
    assert "items 1/1" in final
    assert "$0.7500" in final


def test_log_lines_print_above_the_bar_and_handlers_are_put_back() -> None:
    stream = FakeTTY()
    plain = logging.StreamHandler(stream)
    rich_console = Console(file=stream, force_terminal=True)
    rich_handler = RichHandler(console=rich_console, show_time=False, show_path=False)  # like Prefect's handler
    log = logging.getLogger("test-progress-bar-logs")
    log.setLevel(logging.INFO)
    log.propagate = False
    log.addHandler(plain)
    log.addHandler(rich_handler)
    try:
        progress = RunProgress([TerminalBar.for_stream(stream)], min_interval_s=0)
        progress.add_items(1)
        log.info("a log line")
        progress.close()
    finally:
        log.removeHandler(plain)
        log.removeHandler(rich_handler)
    # the bar's line is erased, each log line is printed on its own line, and the bar is drawn again below it
    parts = stream.getvalue().split("\r\x1b[2K")
    after_plain = [p for p in parts if p.startswith("a log line\n")]
    after_rich = [p for p in parts if p.startswith("\x1b[34mINFO") and "a log line" in p]
    assert len(after_plain) == len(after_rich) == 1
    assert all(p.split("\n", 1)[1].startswith("\x1b[1mvoxbatch") for p in after_plain + after_rich)
    assert plain.stream is stream
    assert rich_console.file is stream
