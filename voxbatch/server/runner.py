"""Running the local server: in the foreground (``voxbatch serve``) or in-process on an ephemeral port.

In-process use (tests, the embedded default)::

    with LocalServer(ServerOptions(port=0, api_key="k")) as server:
        httpx.post(f"{server.base_url}/audio/speech", ...)
        server.stats.count("/v1/audio/speech")
"""

from __future__ import annotations

import asyncio
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from voxbatch.server.app import create_app, state_of
from voxbatch.server.faults import FaultSpec
from voxbatch.server.options import ServerOptions
from voxbatch.server.state import ServerState
from voxbatch.server.stats import ServerStats

STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.01


def _config(app: ASGIApp, options: ServerOptions, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_level=log_level,
        access_log=log_level == "info",
        lifespan="off",
        ws="websockets-sansio",
        timeout_graceful_shutdown=1,
    )


def serve_forever(options: ServerOptions, log_level: str = "info") -> None:
    """Run the server in the foreground until interrupted."""
    uvicorn.Server(_config(create_app(options), options, log_level)).run()


class LocalServer:
    """The server on a background thread of this process, with its live state at hand."""

    def __init__(self, options: ServerOptions | None = None, log_level: str = "warning") -> None:
        self.options = options or ServerOptions(port=0)
        app = create_app(self.options)
        # Served from a non-main thread, uvicorn installs no signal handlers of its own.
        self._server = uvicorn.Server(_config(app, self.options, log_level))
        self._thread: threading.Thread | None = None
        self.state: ServerState = state_of(app)

    @property
    def port(self) -> int:
        sockets = [s for server in self._server.servers for s in server.sockets]
        return int(sockets[0].getsockname()[1])

    @property
    def origin(self) -> str:
        """``http://host:port`` without the API prefix."""
        return f"http://{self.options.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What a Together client takes as its base URL (``.../v1``)."""
        return f"{self.origin}/v1"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.options.host}:{self.port}/v1/audio/speech/websocket"

    @property
    def stats(self) -> ServerStats:
        return self.state.stats

    def set_faults(self, spec: FaultSpec | str) -> None:
        """Change fault injection while running (a spec or its string form; "" turns it off)."""
        self.state.set_faults(FaultSpec.parse(spec) if isinstance(spec, str) else spec)

    def start(self) -> LocalServer:
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve()), name="voxbatch-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"local server failed to start on {self.options.host}:{self.options.port}")
            time.sleep(POLL_INTERVAL_S)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(SHUTDOWN_TIMEOUT_S)
            self._thread = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
