"""One HTTP attempt: send, time the first byte, read the whole answer, map failures to the taxonomy."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from voxbatch.client.errors import from_transport_error, make_status_error
from voxbatch.client.transport import Answer


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    files: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: httpx.Timeout | None = None,
) -> Answer:
    """Make one attempt; raise an ``APIStatusError`` for an error status, or a connection/truncation error.

    ``timeout`` is this attempt's own (see :mod:`voxbatch.client.timeouts`); None keeps the client's default.
    """
    started = time.perf_counter()
    per_request: Any = timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT
    try:
        async with http.stream(
            method, url, json=json, data=data, files=files, headers=headers, timeout=per_request
        ) as response:
            chunks: list[bytes] = []
            ttfb_s: float | None = None
            async for chunk in response.aiter_bytes():
                if ttfb_s is None:
                    ttfb_s = time.perf_counter() - started
                chunks.append(chunk)
            body = b"".join(chunks)
            answer_headers = dict(response.headers)
            status = response.status_code
    except httpx.TransportError as exc:
        raise from_transport_error(exc) from exc
    if status >= 400:
        raise make_status_error(status, body, answer_headers)
    return Answer(status, answer_headers, body, ttfb_s if ttfb_s is not None else time.perf_counter() - started)
