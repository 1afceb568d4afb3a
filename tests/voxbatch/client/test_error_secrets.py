"""The client's errors never carry the API key, even pickled with their whole chain as Dask does (tblib)."""

from __future__ import annotations

import asyncio
import pickle
import socket
import traceback

import pytest
import tblib.pickling_support

from voxbatch.client.call_options import SpeechOptions
from voxbatch.client.client import SpeechClient
from voxbatch.client.errors import APIConnectionError, SpeechAPIError, StreamTruncatedError
from voxbatch.client.options import ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.server.faults import FaultSpec

KEY = "sk-voxbatch-canary-unit-5e0c1d"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _error(base_url: str) -> SpeechAPIError:
    async def call() -> SpeechAPIError:
        options = ClientOptions(api_key=KEY, base_url=base_url, retry=RetryPolicy(max_attempts=1))
        async with SpeechClient(options) as client:
            try:
                await client.speak("Hello.", SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart"))
            except SpeechAPIError as exc:
                return exc
        raise AssertionError("the call succeeded")

    return asyncio.run(call())


@pytest.mark.parametrize("kind", ["refused", "cut"])
def test_transport_errors_pickle_without_the_key(kind: str, make_server) -> None:  # type: ignore[no-untyped-def]
    if kind == "refused":
        error = _error(f"http://127.0.0.1:{_closed_port()}")
        assert isinstance(error, APIConnectionError)
    else:
        error = _error(make_server(api_key=KEY, faults=FaultSpec(cut=1.0)).origin)
        assert isinstance(error, StreamTruncatedError)
    assert error.__cause__ is not None  # the httpx error stays chained, for debugging
    tblib.pickling_support.install(error)  # what Dask does before sending a task's exception
    pickled = pickle.dumps(error)
    assert KEY.encode() not in pickled
    assert KEY not in "".join(traceback.format_exception(error))
    restored = pickle.loads(pickled)
    assert type(restored.__cause__) is type(error.__cause__)
