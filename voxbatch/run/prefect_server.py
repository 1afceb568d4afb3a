"""Starting Prefect API servers for users without one, and waiting until they answer.

- :func:`start_local_prefect_server`: a full ``prefect server start`` (SQLite, with its scheduler services) for
  ``voxbatch schedule``; schedules do not run on the embedded one.
- :func:`start_embedded_prefect_server`: what Prefect's own "ephemeral" mode starts for a flow run (its API
  only, no UI, no services), but in **its own session**: a Ctrl-C at the terminal reaches every process of the
  foreground process group, and Prefect starts its ephemeral server in ours, so the first Ctrl-C used to kill
  the API under the running flow (which then hung for minutes retrying). Ours only hears from us: it stops
  when this process exits (atexit), and on Linux also when this process is killed (parent-death signal).

Each server is a child process with its log in ``$PREFECT_HOME``. This module starts programs and polls URLs;
it does not import Prefect.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

DEFAULT_PORT = 4200
STARTUP_TIMEOUT_S = 90.0
POLL_INTERVAL_S = 0.5
HEALTH_TIMEOUT_S = 2.0  # one health request
EMBEDDED_STARTUP_TIMEOUT_S = 120.0  # a loaded 2-core machine needs far more than Prefect's default 20 s
EMBEDDED_POLL_INTERVAL_S = 0.1
EMBEDDED_LOG = "voxbatch-embedded-server.log"
REACH_TIMEOUT_S = 30.0  # how long one health check of a configured PREFECT_API_URL may take
STOP_WAIT_S = 5.0
_PR_SET_PDEATHSIG = 1


class PrefectServerError(RuntimeError):
    """The server did not start or did not become healthy."""


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _prefect_exe() -> list[str]:
    found = shutil.which("prefect", path=str(Path(sys.executable).parent)) or shutil.which("prefect")
    return [found] if found else [sys.executable, "-m", "prefect"]


def _health_client() -> httpx.Client:
    """One client for every poll of a wait: a client of its own per poll would build a TLS context each time
    (~0.1 CPU-s), which polling every 0.1 s turned into a core kept busy while the server itself was starting."""
    return httpx.Client(timeout=HEALTH_TIMEOUT_S)


def _healthy(client: httpx.Client, api_url: str) -> bool:
    """Whether ``<api_url>/health`` answers 200 now."""
    try:
        return client.get(f"{api_url}/health").status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(
    api_url: str, timeout_s: float = STARTUP_TIMEOUT_S, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``<api_url>/health`` until it answers ``true``."""
    deadline = time.monotonic() + timeout_s
    with _health_client() as client:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise PrefectServerError(f"the server exited with code {process.returncode}")
            if _healthy(client, api_url):
                return
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
    process = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent(),  # stops with this process even when it is killed, not only at exit
    )
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


def check_reachable(api_url: str, timeout_s: float = REACH_TIMEOUT_S) -> None:
    """Raise :class:`PrefectServerError` unless ``<api_url>/health`` answers 200."""
    try:
        status = httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout_s).status_code
    except httpx.HTTPError as exc:
        raise PrefectServerError(f"{type(exc).__name__}: {exc or 'no answer'}") from exc
    if status != 200:
        raise PrefectServerError(f"its /health answered HTTP {status}")


@dataclass
class EmbeddedServer:
    """A started embedded Prefect API server: its URL and its process."""

    api_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def home(self) -> Path:
        """The ``PREFECT_HOME`` it was started in (its database and log are there)."""
        return self.log_path.parent

    def wait_healthy(self, timeout_s: float, give_up: Callable[[], bool] = lambda: False) -> None:
        """Wait until it answers; raise :class:`PrefectServerError` if it does not within ``timeout_s`` or when
        ``give_up()`` says so (polled)."""
        deadline = time.monotonic() + timeout_s
        with _health_client() as client:
            while True:
                if give_up():
                    raise PrefectServerError("given up waiting")
                if self.process.poll() is not None:
                    raise PrefectServerError(f"it exited with code {self.process.returncode} (log: {self.log_path})")
                if _healthy(client, self.api_url):
                    return
                if time.monotonic() >= deadline:
                    raise PrefectServerError(f"it did not answer within {timeout_s:g} s (log: {self.log_path})")
                time.sleep(EMBEDDED_POLL_INTERVAL_S)

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """Terminate it (and kill it if it lingers more than ``wait_s``)."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        if wait_s <= 0:
            return
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook that makes the child get SIGTERM when this process dies (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return hook


def start_embedded_prefect_server(home: Path | None = None) -> EmbeddedServer:
    """Start Prefect's API (as its ephemeral mode would) in its own session on a free port; do not wait for it.

    Call :meth:`EmbeddedServer.wait_healthy` before using it; it is stopped when this process exits.
    """
    prefect_home = home or Path(os.environ.get("PREFECT_HOME", Path.home() / ".prefect"))
    prefect_home.mkdir(parents=True, exist_ok=True)
    log_path = prefect_home / EMBEDDED_LOG
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(prefect_home),  # its database, beside its log
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",  # Prefect's own flags for this mode: API only, no services
        "PREFECT__SERVER_FINAL": "1",
    }
    env.pop("PREFECT_API_URL", None)
    argv = [
        *(sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app"),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"),
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # a terminal's Ctrl-C goes to our process group, not to this server
            preexec_fn=_die_with_parent(),  # one prctl call in the child
        )
    server = EmbeddedServer(f"http://127.0.0.1:{port}/api", process, log_path)
    atexit.register(server.stop)
    return server


def prefect_unreachable(exc: BaseException) -> str | None:
    """``Type: message`` of the error in ``exc``'s chain that says the Prefect API could not be reached, else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.TransportError) or "Prefect API server" in str(seen):
            return f"{type(seen).__name__}: {seen}"
        seen = seen.__cause__ or seen.__context__
    return None
