"""Small helpers shared by the local-server tests (requests, error checks, SSE and WebSocket plumbing)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import time
import wave
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import numpy as np
import numpy.typing as npt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import TEST_API_KEY
from voxbatch.server.runner import LocalServer

AUTH = {"Authorization": f"Bearer {TEST_API_KEY}"}
ORPHEUS = "canopylabs/orpheus-3b-0.1-ft"
KOKORO = "hexgrad/Kokoro-82M"
SONIC = "cartesia/sonic-2"
MINIMAX = "minimax/speech-2.6-turbo"
ERROR_FIELDS = {"message", "type", "param", "code"}
HTTP_TIMEOUT_S = 30.0
WS_TIMEOUT_S = 15.0
QUIET_S = 0.3  # how long a WebSocket test listens to prove that nothing more arrives

T = TypeVar("T")


def speech(server: LocalServer, **body: Any) -> httpx.Response:
    """``POST /v1/audio/speech`` with the test key."""
    return httpx.post(f"{server.base_url}/audio/speech", json=body, headers=AUTH, timeout=HTTP_TIMEOUT_S)


def get(server: LocalServer, path: str, **kwargs: Any) -> httpx.Response:
    """``GET`` a path under the server's origin (``/v1/...`` or ``/_voxbatch/...``) with the test key."""
    kwargs.setdefault("headers", AUTH)
    return httpx.get(f"{server.origin}{path}", timeout=HTTP_TIMEOUT_S, **kwargs)


def assert_api_error(
    resp: httpx.Response,
    status: int,
    *,
    param: str | object | None = ...,
    code: str | object | None = ...,
    type_: str | None = None,
) -> dict[str, Any]:
    """Check Together's error shape ``{"error": {"message","type","param","code"}}``; return ``error``."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == ERROR_FIELDS
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    if param is not ...:
        assert error["param"] == param, error
    if code is not ...:
        assert error["code"] == code, error
    if type_ is not None:
        assert error["type"] == type_, error
    return error


def wav_params(data: bytes) -> tuple[int, int, int, bytes]:
    """(channels, sample width, frame rate, frames) of a WAV body."""
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.readframes(w.getnframes())


def s16(data: bytes) -> npt.NDArray[np.int16]:
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def sse_data(text: str) -> list[str]:
    """The ``data:`` payloads of an SSE body, in order."""
    return [line[len("data: ") :] for line in text.splitlines() if line.startswith("data: ")]


def sse_events(text: str) -> tuple[list[dict[str, Any]], bool]:
    """(JSON events, whether the stream ended with ``[DONE]``)."""
    payloads = sse_data(text)
    done = bool(payloads) and payloads[-1] == "[DONE]"
    events = [json.loads(p) for p in payloads if p != "[DONE]"]
    return events, done


def b64_pcm(events: list[dict[str, Any]], key: str = "delta") -> bytes:
    return b"".join(base64.b64decode(e[key]) for e in events if key in e)


def run(coro: Awaitable[T], timeout_s: float = 60.0) -> T:
    """Run a coroutine to completion from a sync test."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout_s)

    return asyncio.run(bounded())


def ws_url(server: LocalServer, **params: Any) -> str:
    return f"{server.ws_url}?{urlencode(params)}" if params else server.ws_url


def ws_connect(server: LocalServer, *, auth: bool = True, **params: Any) -> Any:
    """``websockets`` connection to the realtime endpoint (key in the header unless ``auth=False``)."""
    headers = AUTH if auth else None
    return connect(ws_url(server, **params), additional_headers=headers, open_timeout=WS_TIMEOUT_S)


async def recv_json(ws: ClientConnection, timeout_s: float = WS_TIMEOUT_S) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.recv(), timeout_s)
    assert isinstance(message, str)
    event = json.loads(message)
    assert isinstance(event, dict)
    return event


async def send_json(ws: ClientConnection, **event: Any) -> None:
    await ws.send(json.dumps(event))


async def recv_until(
    ws: ClientConnection, stop: Callable[[dict[str, Any]], bool], timeout_s: float = WS_TIMEOUT_S
) -> list[dict[str, Any]]:
    """Events up to and including the first one for which ``stop`` is true."""
    events: list[dict[str, Any]] = []
    while True:
        event = await recv_json(ws, timeout_s)
        events.append(event)
        if stop(event):
            return events


async def recv_item(ws: ClientConnection) -> list[dict[str, Any]]:
    """Events up to and including the next ``audio_output.done`` (fails on ``tts.failed``)."""
    events = await recv_until(
        ws, lambda e: e["type"] in ("conversation.item.audio_output.done", "conversation.item.tts.failed")
    )
    assert events[-1]["type"] == "conversation.item.audio_output.done", events[-1]
    return events


async def quiet(ws: ClientConnection, seconds: float = QUIET_S) -> list[dict[str, Any]]:
    """Whatever arrives within ``seconds`` (normally nothing)."""
    events: list[dict[str, Any]] = []
    try:
        while True:
            events.append(await recv_json(ws, seconds))
    except TimeoutError:
        return events


async def recv_close(ws: ClientConnection, timeout_s: float = WS_TIMEOUT_S) -> tuple[list[dict[str, Any]], int | None]:
    """Events until the server closes the connection, and the close code."""
    events: list[dict[str, Any]] = []
    try:
        while True:
            events.append(await recv_json(ws, timeout_s))
    except ConnectionClosed:
        return events, ws.close_code


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == kind]


def item_pcm(events: list[dict[str, Any]]) -> bytes:
    return b64_pcm(of_type(events, "conversation.item.audio_output.delta"))


def spoken_words(events: list[dict[str, Any]]) -> list[str]:
    return [w for e in of_type(events, "conversation.item.word_timestamps") for w in e["words"]]


def settled(server: LocalServer, total: int, timeout_s: float = 10.0) -> None:
    """Wait until the server has logged ``total`` requests.

    The gateway records a request just after its last byte is sent, so a client can see its answer a
    moment before the server's counters do.
    """
    deadline = time.monotonic() + timeout_s
    while server.stats.count() < total:
        assert time.monotonic() < deadline, f"server logged {server.stats.count()} requests, expected {total}"
        time.sleep(0.005)


def silence_server_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop uvicorn logging the tracebacks of requests that crash the server on purpose.

    Python 3.11's traceback module calls ``ast.parse``, which is not thread-safe in CPython 3.11.7
    ("AST constructor recursion depth mismatch"): the server thread formatting a traceback while pytest
    formats the test's own failure can crash the whole pytest session.
    """
    monkeypatch.setattr(logging.getLogger("uvicorn.error"), "disabled", True)
