"""The client's errors never carry the API key, even pickled with their whole chain as Dask does (tblib)."""

from __future__ import annotations

import asyncio
import pickle
import socket
import traceback
from collections.abc import Callable

import pytest
import tblib.pickling_support

from voxbatch.client.call_options import SpeechOptions, Transport
from voxbatch.client.client import SpeechClient
from voxbatch.client.errors import (
    APIConnectionError,
    AuthenticationError,
    SpeechAPIError,
    StreamTruncatedError,
)
from voxbatch.client.options import ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.server.faults import FaultSpec
from voxbatch.server.runner import LocalServer

KEY = "sk-voxbatch-canary-unit-5e0c1d"
TRANSPORTS: tuple[Transport, ...] = ("rest", "sse", "websocket")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _error(base_url: str, transport: Transport) -> SpeechAPIError:
    async def call() -> SpeechAPIError:
        options = ClientOptions(api_key=KEY, base_url=base_url, retry=RetryPolicy(max_attempts=1))
        speech = SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart", transport=transport)
        async with SpeechClient(options) as client:
            try:
                await client.speak("Hello there, this is long enough to be cut.", speech)
            except SpeechAPIError as exc:
                return exc
        raise AssertionError("the call succeeded")

    return asyncio.run(call())


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("kind", "expected"),
    [("refused", APIConnectionError), ("cut", StreamTruncatedError), ("wrong key", AuthenticationError)],
)
def test_errors_pickle_without_the_key(
    kind: str, expected: type[SpeechAPIError], transport: Transport, make_server: Callable[..., LocalServer]
) -> None:
    if kind == "refused":
        origin = f"http://127.0.0.1:{_closed_port()}"
    elif kind == "cut":
        origin = make_server(api_key=KEY, faults=FaultSpec(cut=1.0)).origin
    else:
        origin = make_server(api_key="sk-another-account").origin
    error = _error(origin, transport)
    assert isinstance(error, expected)
    tblib.pickling_support.install(error)  # what Dask does before sending a task's exception: the whole chain
    pickled = pickle.dumps(error)
    assert KEY.encode() not in pickled
    assert KEY not in "".join(traceback.format_exception(error)) + repr(error)
    restored = pickle.loads(pickled)
    assert type(restored) is type(error) and str(restored) == str(error)
