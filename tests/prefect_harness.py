"""The suite's Prefect API server: one per test session, the one ``voxbatch`` itself starts when no
PREFECT_API_URL is set (:func:`voxbatch.run.prefect_server.start_embedded_prefect_server`: what Prefect's
ephemeral mode runs, API only).

Under pytest-xdist the controller starts it while its workers start and collect, and the workers use it: each
start costs ~5 CPU-s (importing Prefect's server, registering block types) and an idle server ~1 CPU-s a minute,
while the flows of all workers together keep one server about a tenth busy. The controller hands its workers the
path of a file that holds the server's URL once it answers, or why it did not start. Without xdist the session's
one process starts its own (``tests/conftest.py``).

It stores no task runs and no events: no test reads either, and storing them was over a third of the server's CPU
(BENCHMARKS.md). Flow runs, their states, logs and artifacts are stored as ever. Servers that commands start
themselves run every service.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from tests.prefect_db import DB_FILE, migrated_template, seed_prefect_home
from voxbatch.run.prefect_server import EmbeddedServer, start_embedded_prefect_server, wait_healthy

HARNESS_STARTUP_TIMEOUT_S = 600.0  # a hang guard, never a speed bound: a start takes minutes at 10x load, not ten
SHARED_HARNESS_POLL_S = 0.05
SHARED_HARNESS_FILE = "harness.json"


@dataclass(frozen=True)
class HarnessServer:
    """A started harness server: its API and its database (what ``PREFECT_SERVER_DATABASE_CONNECTION_URL`` says)."""

    api_url: str
    database: str


def start_harness_server(home: Path, template: Path) -> tuple[HarnessServer, EmbeddedServer]:
    """The harness server in ``home`` on a copy of ``template``; started, not yet waited for."""
    seed_prefect_home(home, template)
    database = f"sqlite+aiosqlite:///{home / DB_FILE}"  # the copy; tests find it here, as with Prefect's harness
    server_settings = {
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database,
    }
    with mock.patch.dict(os.environ, server_settings):
        server = start_embedded_prefect_server(home)
    return HarnessServer(server.api_url, database), server


class SharedHarness:
    """The xdist controller's harness server: started from the calling thread (a child started from another thread
    would be stopped when that thread ends: the parent-death signal follows the thread), waited for in the
    background; :attr:`file` says when it answers."""

    def __init__(self, basetemp: Path) -> None:
        self.file = basetemp / "prefect-harness" / SHARED_HARNESS_FILE
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self._server: EmbeddedServer | None = None
        self._harness: HarnessServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        try:  # the template under the session's root, where the workers look for theirs
            self._harness, self._server = start_harness_server(self.file.parent / "home", migrated_template(basetemp))
        except Exception as exc:
            self._answer({"error": f"{type(exc).__name__}: {exc}"})
            return
        self._thread = threading.Thread(target=self._wait, name="prefect-harness", daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        assert self._server is not None and self._harness is not None
        try:
            self._server.wait_healthy(HARNESS_STARTUP_TIMEOUT_S, give_up=self._stopping.is_set)
        except Exception as exc:  # the workers say why (its log stays in the session's folder)
            self._answer({"error": f"{type(exc).__name__}: {exc}"})
        else:
            self._answer({"api_url": self._harness.api_url, "database": self._harness.database})

    def _answer(self, answer: dict[str, str]) -> None:
        scratch = self.file.with_suffix(".tmp")
        scratch.write_text(json.dumps(answer), encoding="utf-8")
        scratch.replace(self.file)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=HARNESS_STARTUP_TIMEOUT_S)
        if self._server is not None:
            self._server.stop()


def shared_harness(file: Path) -> HarnessServer:
    """The controller's harness server (see :class:`SharedHarness`), once it answers."""
    deadline = time.monotonic() + HARNESS_STARTUP_TIMEOUT_S
    while not file.is_file():
        assert time.monotonic() < deadline, f"the session's Prefect server did not start ({file} never appeared)"
        time.sleep(SHARED_HARNESS_POLL_S)
    answer = json.loads(file.read_text(encoding="utf-8"))
    assert "error" not in answer, f"the session's Prefect server did not start: {answer['error']}"
    wait_healthy(answer["api_url"], timeout_s=HARNESS_STARTUP_TIMEOUT_S)
    return HarnessServer(answer["api_url"], answer["database"])
