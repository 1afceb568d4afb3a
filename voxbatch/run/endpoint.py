"""Which server a run talks to, and with which key: Together with a key, any compatible server by URL, or the
embedded default.

With no ``TOGETHER_API_KEY`` (and no base URL) the run starts the local Together-compatible server in-process on
an ephemeral port and says so in one line; the pipeline then talks to it over real HTTP exactly as it would talk
to Together. A process opening an already opened run (a Dask worker) calls the spec's resolved URL, never starts
a server, and finds the key where the spec's ``key_source`` says (:func:`resolve_key`, the one place keys are
resolved).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from voxbatch.client.errors import ConfigurationError
from voxbatch.client.options import API_KEY_ENV, NO_KEY, ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.run.spec import EMBEDDED_ENDPOINT_ID, RunSpec
from voxbatch.server.options import ServerOptions
from voxbatch.server.recognizer import DEFAULT_WORKERS
from voxbatch.server.runner import LocalServer

__all__ = ["EMBEDDED_ENDPOINT_ID", "EMBEDDED_KEY", "NO_KEY", "Endpoint", "open_endpoint", "resolve_key"]

EMBEDDED_KEY = "embedded-local-server"  # the embedded server accepts any key; this one is not a secret

SecretResolver = Callable[[str], Awaitable[str]]  # a secret block's name -> its value (the Prefect layer's)


@dataclass(frozen=True)
class Endpoint:
    """Where calls go, and how to describe it in logs (never with the key)."""

    options: ClientOptions
    description: str
    embedded: bool

    @property
    def endpoint_id(self) -> str:
        """What identifies the endpoint's audio in cache keys."""
        return EMBEDDED_ENDPOINT_ID if self.embedded else self.options.base_url


def embedded_in_flight(requested: int, unit: str) -> int:
    """Requests worth having in flight at once at the embedded server.

    It decodes speech on ``DEFAULT_WORKERS`` worker processes; a transcription sent while they are all busy
    would wait at the server, its attempt's timeout running, for a decode that has not begun. Speech
    (espeak-ng, milliseconds per call) has no such queue.
    """
    return min(requested, DEFAULT_WORKERS) if unit == "audio_s" else requested


async def resolve_key(spec: RunSpec, resolve_secret: SecretResolver | None) -> str:
    """The API key for ``spec``'s run, from where its key source says (the key never travels in the spec)."""
    source = spec.chosen_key_source()
    if source == "embedded":
        return EMBEDDED_KEY
    if source == "none":
        return NO_KEY
    block = spec.secret_block
    if block is not None:
        if resolve_secret is None:
            raise ConfigurationError(f"the key is in the secret block {block!r}, but nothing here can read blocks")
        return await resolve_secret(block)
    key = os.environ.get(API_KEY_ENV)
    if not key:
        raise ConfigurationError(f"this process has no {API_KEY_ENV} in its environment")
    return key


@contextmanager
def open_endpoint(
    spec: RunSpec,
    api_key: str,
    *,
    notice: Callable[[str], None] = print,
    server_options: ServerOptions | None = None,
) -> Iterator[Endpoint]:
    """Yield the endpoint for ``spec``'s run; an embedded server, when this process starts one, stops when the
    block ends. An opened spec (a worker's) calls the URL the run already chose."""
    retry = RetryPolicy(max_attempts=spec.max_attempts)
    timeouts = spec.timeouts()
    embedded = spec.chosen_key_source() == "embedded"
    if spec.is_open or not embedded:
        url = spec.base_url if spec.is_open else spec.endpoint_id()
        assert url is not None
        if embedded:
            timeouts = timeouts.on_embedded_server()
        options = ClientOptions(api_key=api_key, base_url=url, retry=retry, timeouts=timeouts)
        where = "embedded local server" if embedded else options.provider
        yield Endpoint(options, f"{where} at {options.base_url}", embedded=embedded)
        return
    with LocalServer(server_options or ServerOptions(port=0)) as server:
        notice(f"voxbatch: no {API_KEY_ENV} set; using the embedded local audio server at {server.base_url}")
        options = ClientOptions(
            api_key=api_key, base_url=server.base_url, retry=retry, timeouts=timeouts.on_embedded_server()
        )
        yield Endpoint(options, f"embedded local server at {server.base_url}", embedded=True)
