"""The command's own Prefect API and its signals: one line when Prefect cannot be reached, Ctrl-C at a terminal,
a second signal, and the bounded wait for calls in flight. Real ``python -m flows.cli`` processes throughout."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, environ_without_prefect_settings
from voxbatch.run.catalog import embedded_catalog
from voxbatch.run.catalog_source import CatalogStore
from voxbatch.run.spec import CACHE_DIR_NAME
from voxbatch.server.faults import FaultSpec
from voxbatch.server.runner import LocalServer

pytestmark = pytest.mark.slow

HANG_GUARD_S = 300.0  # only a guard against a hang; nothing here waits for a clock
SLOW_ANSWER_MS = 300_000  # answers that stay in flight for the whole test, however loaded the machine
POLL_S = 0.01


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _manifest(folder: Path) -> Path:
    text = "\n".join(f"# Part {n}\n\nThis is part {n} of a short book.\n" for n in range(1, 4))
    (folder / "book.md").write_text(text, encoding="utf-8")
    (folder / "books.csv").write_text("id,text_path\nbook,book.md\n", encoding="utf-8")
    return folder / "books.csv"


def _env(prefect_home: Path, **extra: str) -> dict[str, str]:
    env = environ_without_prefect_settings()
    env.update(PYTHONPATH=str(REPO_ROOT), PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.update(extra)
    return env


def _processes_with(variable: str, value: str) -> list[int]:
    """Processes (Linux) whose environment has ``variable=value``: children a command left behind."""
    wanted = f"{variable}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Run:
    """A running command whose output is collected line by line."""

    def __init__(self, argv: list[str], env: dict[str, str], new_session: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", *argv],
            env=env,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,  # its own process group, as a terminal gives a foreground job
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace"))

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + HANG_GUARD_S
        while not condition():
            if self.proc.poll() is not None:
                self._reader.join(HANG_GUARD_S)
                pytest.fail(f"the command ended (exit {self.proc.returncode}) before {what}:\n{self.output[-3000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"no {what} within {HANG_GUARD_S} s:\n{self.output[-3000:]}")
            time.sleep(POLL_S)

    def finish(self) -> int:
        code = self.proc.wait(timeout=HANG_GUARD_S)
        self._reader.join(HANG_GUARD_S)
        return code


def test_an_unreachable_prefect_api_is_one_line_with_the_fix(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/api"
    run = Run(["tts", str(_manifest(tmp_path)), "--out", str(tmp_path / "out")], _env(tmp_path, PREFECT_API_URL=dead))
    assert run.finish() == 1
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in run.output, run.output
    assert lines[0].startswith(f"cannot reach the Prefect API at {dead} (") and "unset PREFECT_API_URL" in lines[0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="looks for left-over processes in /proc")
def test_a_prefect_server_that_does_not_start_in_time_is_one_line_and_is_not_left_running(tmp_path: Path) -> None:
    home = tmp_path / "prefect-home"
    env = _env(home, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0")
    run = Run(["tts", str(_manifest(tmp_path)), "--out", str(tmp_path / "out")], env)
    assert run.finish() == 1
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in run.output, run.output
    assert lines[0].startswith("could not start Prefect's local API server within 0 s (")
    assert "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=300" in lines[0] and "PREFECT_API_URL=" in lines[0]
    assert _processes_with("PREFECT_HOME", str(home)) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="looks for left-over processes in /proc")
def test_ctrl_c_at_the_terminal_stops_gracefully_and_spares_the_commands_prefect_server(
    tmp_path: Path, prefect_home: Path, make_server: Callable[..., LocalServer]
) -> None:
    # No PREFECT_API_URL: the command starts Prefect's API itself. A terminal's Ctrl-C is SIGINT to the whole
    # foreground process group; it used to kill Prefect's embedded server too, and the run hung for minutes.
    server = make_server(api_key=None, faults=FaultSpec(latency_ms=300))
    home = prefect_home  # migrated, as after a first run: the start is the command's, the migrations are not
    argv = ["tts", str(_manifest(tmp_path)), "--out", str(tmp_path / "out"), "--base-url", server.origin]
    run = Run([*argv, "--max-in-flight", "1"], _env(home), new_session=True)
    run.wait_for(lambda: server.stats.count("/v1/audio/speech", 200) >= 1, "a first answer")
    os.killpg(run.proc.pid, signal.SIGINT)
    assert run.finish() == 130, run.output[-3000:]
    assert "Traceback" not in run.output, run.output
    assert "stopped by SIGINT: 0 items finished, 1 stopped, 0 failed" in run.output, run.output[-3000:]
    assert f"to continue (answered calls are not sent again): voxbatch tts {tmp_path / 'books.csv'}" in run.output
    assert _processes_with("PREFECT_HOME", str(home)) == []  # its Prefect server stopped with it


def _catalog_kept(out: Path, server: LocalServer) -> None:
    """The server's catalog as a run earlier today kept it, so this run asks the slow server for speech only."""
    CatalogStore(out / CACHE_DIR_NAME).save(f"{server.origin}/v1", embedded_catalog())


def _in_flight(server: LocalServer) -> int:
    """Requests the server is answering now (its concurrency counter; enabled by ``max_concurrency``)."""
    return server.state.limiter._in_flight


@pytest.mark.parametrize(
    ("first", "second", "grace_s", "expected"),
    [
        (signal.SIGINT, signal.SIGINT, "600", "SIGINT again: stopped at once; calls in flight were abandoned"),
        (signal.SIGTERM, None, "0", "0 of 6 chunks done, not assembled: the run was stopped by SIGTERM"),
    ],
    ids=["second-signal", "grace-period-over"],
)
def test_calls_in_flight_are_waited_for_only_so_long(
    prefect_harness: str,
    tmp_path: Path,
    make_server: Callable[..., LocalServer],
    first: signal.Signals,
    second: signal.Signals | None,
    grace_s: str,
    expected: str,
) -> None:
    server = make_server(api_key=None, faults=FaultSpec(latency_ms=SLOW_ANSWER_MS), max_concurrency=1000)
    _catalog_kept(tmp_path / "out", server)  # the call in flight is a chunk's, not the catalog's
    argv = ["tts", str(_manifest(tmp_path)), "--out", str(tmp_path / "out"), "--base-url", server.origin]
    env = _env(tmp_path, PREFECT_API_URL=prefect_harness, VOXBATCH_STOP_GRACE_S=grace_s)
    run = Run([*argv, "--max-in-flight", "1"], env)
    run.wait_for(lambda: _in_flight(server) >= 1, "a call in flight")
    run.proc.send_signal(first)
    run.wait_for(lambda: "stopping: no new calls" in run.output, "the first signal's notice")
    if second is not None:
        run.proc.send_signal(second)
    assert run.finish() == 128 + first, run.output[-3000:]
    assert expected in run.output and "Traceback" not in run.output, run.output[-3000:]
    assert server.stats.count("/v1/audio/speech", 200) == 0  # the slow answer never came back
