"""One temporary Prefect server for every pytest-xdist worker of a test run.

Each worker used to start its own (``prefect_test_harness``): about 10 CPU-seconds each, a third of a
2-core machine's first half minute. Now the first worker that needs one starts it (under a file lock in the
run's shared temporary folder) and writes where it is; the others read that and wait until it answers. Workers
finish at different times, so none of them stops it: the controller process does, when the whole run ends
(:func:`stop_shared_server`). It runs as Prefect's own test harness runs its server (uvicorn on
``create_app``, no UI, the ephemeral-server services) on its own SQLite database.

The server stays in the test run's process group, so a Ctrl-C on pytest stops it too.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

STATE_FILE = "prefect-server.json"
LOCK_FILE = "prefect-server.lock"
HEALTH_POLL_S = 0.2
STOP_WAIT_S = 10.0
_STARTED: list[subprocess.Popen[bytes]] = []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(root: Path) -> dict[str, object]:
    """Start the server process (without waiting for it); returns what the others need to find it."""
    import prefect

    port = _free_port()
    folder = root / "prefect-server"
    folder.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.pop("PREFECT_API_URL", None)
    env |= {
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{folder / 'prefect.db'}",
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent)]
    argv += ["--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--log-level", "error", "--lifespan", "on"]
    with (folder / "server.log").open("ab") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    _STARTED.append(proc)  # outlives this worker's tests; the controller stops it
    url = f"http://127.0.0.1:{port}/api"
    return {
        "pid": proc.pid,
        "url": url,
        "database": env["PREFECT_SERVER_DATABASE_CONNECTION_URL"],
        "log": str(folder / "server.log"),
    }


def _wait_until_healthy(state: dict[str, object], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    url = f"{state['url']}/health"
    while True:
        try:
            if httpx.get(url, timeout=5.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            log = Path(str(state["log"]))
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"the shared Prefect test server did not answer within {timeout_s:.0f} s:\n{tail}")
        time.sleep(HEALTH_POLL_S)


def shared_server(root: Path, timeout_s: float) -> tuple[str, str]:
    """The API URL and database URL of the run's shared Prefect server, started here if no worker has yet."""
    with (root / LOCK_FILE).open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            path = root / STATE_FILE
            if path.exists():
                state = json.loads(path.read_text())
            else:
                state = _start(root)
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(state))
                tmp.replace(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    _wait_until_healthy(state, timeout_s)
    return str(state["url"]), str(state["database"])


def stop_shared_server(root: Path) -> None:
    """Stop the run's shared server if a worker started one (called once, by the controller, at the end)."""
    path = root / STATE_FILE
    if not path.exists():
        return
    pid = int(json.loads(path.read_text())["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_WAIT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(HEALTH_POLL_S)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextmanager
def using_server(url: str, database_url: str) -> Iterator[None]:
    """Point this process's Prefect settings at ``url`` and name its database (as ``prefect_test_harness`` does for
    its own server); on the way out, hand the server whatever logs and events are still queued."""
    import prefect.context
    import prefect.settings
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    with (
        prefect.settings.temporary_settings(
            updates={
                prefect.settings.PREFECT_API_URL: url,
                prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL: database_url,
            }
        ),
        prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()),
    ):
        yield

        async def drain() -> None:
            try:
                result = APILogWorker.instance().drain()
                if hasattr(result, "__await__"):
                    await result
            except RuntimeError:
                pass
            result = EventsWorker.drain_all()
            if hasattr(result, "__await__"):
                await result

        run_coro_as_sync(drain())
