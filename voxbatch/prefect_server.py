"""Starting a local ``prefect server start`` (SQLite) for users without one, and waiting until it answers.

Schedules need a real Prefect server; the embedded one that flows start on their own runs no scheduler. The
server is a child process with its log in ``$PREFECT_HOME/voxbatch-server.log``; it stops with this process.
This module starts a program and polls a URL; it does not import Prefect.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

DEFAULT_PORT = 4200
STARTUP_TIMEOUT_S = 90.0
POLL_INTERVAL_S = 0.5


class PrefectServerError(RuntimeError):
    """The server did not start or did not become healthy."""


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _prefect_exe() -> list[str]:
    found = shutil.which("prefect", path=str(Path(sys.executable).parent)) or shutil.which("prefect")
    return [found] if found else [sys.executable, "-m", "prefect"]


def wait_healthy(
    api_url: str, timeout_s: float = STARTUP_TIMEOUT_S, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``<api_url>/health`` until it answers ``true``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise PrefectServerError(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(POLL_INTERVAL_S)
    raise PrefectServerError(f"{api_url} did not answer within {timeout_s:.0f} s")


def start_local_prefect_server(port: int = DEFAULT_PORT, home: Path | None = None) -> str:
    """Start ``prefect server start`` on 127.0.0.1 (SQLite under PREFECT_HOME) and return its API URL."""
    if not _free(port):
        raise PrefectServerError(f"port {port} is taken; is a Prefect server already running? set PREFECT_API_URL")
    prefect_home = home or Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
    prefect_home.mkdir(parents=True, exist_ok=True)
    log = (prefect_home / "voxbatch-server.log").open("ab")
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    argv = [*_prefect_exe(), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    atexit.register(_stop, process)
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_healthy(url, process=process)
    except PrefectServerError:
        _stop(process)
        raise
    return url


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
