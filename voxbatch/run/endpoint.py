"""Which server a run talks to: Together with a key, any compatible server by URL, or the embedded default.

With no ``TOGETHER_API_KEY`` (and no base URL) the run starts the local Together-compatible server
in-process on an ephemeral port and says so in one line; the pipeline then talks to it over real HTTP
exactly as it would talk to Together.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from voxbatch.client.options import API_KEY_ENV, BASE_URL_ENV, ClientOptions
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.server.options import ServerOptions
from voxbatch.server.recognizer import DEFAULT_WORKERS
from voxbatch.server.runner import LocalServer

EMBEDDED_ENDPOINT_ID = "embedded"  # what identifies the embedded server's audio: its port changes, its audio not
EMBEDDED_KEY = "embedded-local-server"  # the embedded server accepts any key; this one is not a secret
NO_KEY = "no-key"  # sent to a compatible server given by URL without a key (local servers ignore it)


@dataclass(frozen=True)
class Endpoint:
    """Where calls go, and how to describe it in logs (never with the key)."""

    options: ClientOptions
    description: str
    embedded: bool


def embedded_in_flight(requested: int, unit: str) -> int:
    """Requests worth having in flight at once at the embedded server.

    It decodes speech on ``DEFAULT_WORKERS`` worker processes; a transcription sent while they are all busy
    would wait at the server, its attempt's timeout running, for a decode that has not begun. Speech
    (espeak-ng, milliseconds per call) has no such queue.
    """
    return min(requested, DEFAULT_WORKERS) if unit == "audio_s" else requested


@contextmanager
def open_endpoint(
    api_key: str | None = None,
    base_url: str | None = None,
    *,
    notice: Callable[[str], None] = print,
    server_options: ServerOptions | None = None,
    **client_options: object,
) -> Iterator[Endpoint]:
    """Yield the endpoint for a run; an embedded server, when used, stops when the block ends."""
    key = api_key or os.environ.get(API_KEY_ENV)
    url = base_url or os.environ.get(BASE_URL_ENV)
    if key or url:
        options = ClientOptions.from_env(api_key=key or NO_KEY, base_url=url, **client_options)
        yield Endpoint(options, f"{options.provider} at {options.base_url}", embedded=False)
        return
    with LocalServer(server_options or ServerOptions(port=0)) as server:
        notice(f"voxbatch: no {API_KEY_ENV} set; using the embedded local audio server at {server.base_url}")
        timeouts = client_options.pop("timeouts", None) or CallTimeouts()
        assert isinstance(timeouts, CallTimeouts)
        options = ClientOptions(
            api_key=EMBEDDED_KEY,
            base_url=server.base_url,
            timeouts=timeouts.on_embedded_server(),
            **client_options,  # type: ignore[arg-type]
        )
        yield Endpoint(options, f"embedded local server at {server.base_url}", embedded=True)
