"""Streamed speech over server-sent events, in every shape providers send.

Together: ``conversation.item.audio_output.delta`` (``delta``), ``conversation.item.word_timestamps``,
then ``data: [DONE]``; its older shape ``{"object": "audio.tts.chunk", "b64": ...}``. OpenAI-style
servers: ``speech.audio.delta`` (``audio``) and ``speech.audio.done``. A stream that ends without
its end marker was cut: that is a :class:`StreamTruncatedError` (retried), never short audio.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from voxbatch.client.errors import (
    APIStatusError,
    StreamTruncatedError,
    from_transport_error,
    make_status_error,
    request_id_of,
)
from voxbatch.client.results import WordTime
from voxbatch.client.transport import Answer

END_EVENTS = ("speech.audio.done", "conversation.item.audio_output.done")
ERROR_STATUS_BY_CODE = {"dynamic_request_limited": 429, "engine_overloaded": 503, "invalid_api_key": 401}


def _audio_of(event: dict[str, Any]) -> str | None:
    kind = event.get("type")
    if kind in ("conversation.item.audio_output.delta", "speech.audio.delta"):
        return event.get("delta") or event.get("audio")
    if event.get("object") == "audio.tts.chunk":
        return event.get("b64")
    return None


def word_timings_of(event: dict[str, Any]) -> list[WordTime]:
    if event.get("type") != "conversation.item.word_timestamps":
        return []
    words, starts, ends = event.get("words", []), event.get("start_seconds", []), event.get("end_seconds", [])
    return [WordTime(str(w), float(s), float(e)) for w, s, e in zip(words, starts, ends, strict=False)]


def error_from_event(error: dict[str, Any], headers: Mapping[str, str]) -> APIStatusError:
    """An error object that arrived inside a stream, as the taxonomy's status error."""
    status = int(error.get("status") or ERROR_STATUS_BY_CODE.get(str(error.get("code")), 500))
    return make_status_error(status, json.dumps({"error": error}).encode(), headers)


async def stream_speech(
    http: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    headers: Mapping[str, str] | None = None,
    *,
    timeout: httpx.Timeout | None = None,
) -> Answer:
    """POST ``body`` and collect the streamed audio and word timings; raise on errors and cut streams.

    ``timeout`` is this attempt's own (see :mod:`voxbatch.client.timeouts`); None keeps the client's default.
    """
    per_request: Any = timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT
    started = time.perf_counter()
    audio: list[bytes] = []
    words: list[WordTime] = []
    ttfb_s: float | None = None
    try:
        async with aconnect_sse(
            http, "POST", url, json=body, headers=dict(headers or {}), timeout=per_request
        ) as source:
            response = source.response
            answer_headers = dict(response.headers)
            if response.status_code >= 400:
                raise make_status_error(response.status_code, await response.aread(), answer_headers)
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                # Some servers answer a streamed request with plain chunked audio bytes.
                raw = await response.aread()
                return Answer(response.status_code, answer_headers, raw, time.perf_counter() - started)
            async for sse in source.aiter_sse():
                if ttfb_s is None:
                    ttfb_s = time.perf_counter() - started
                if sse.data.startswith("[DONE]"):
                    return Answer(response.status_code, answer_headers, b"".join(audio), ttfb_s, tuple(words))
                event = json.loads(sse.data)
                if isinstance(event.get("error"), dict):
                    raise error_from_event(event["error"], answer_headers)
                if event.get("type") in END_EVENTS:
                    return Answer(response.status_code, answer_headers, b"".join(audio), ttfb_s, tuple(words))
                payload = _audio_of(event)
                if payload:
                    audio.append(base64.b64decode(payload))
                words.extend(word_timings_of(event))
    except httpx.TransportError as exc:
        raise from_transport_error(exc) from exc
    raise StreamTruncatedError(
        f"the stream ended without its end marker after {sum(map(len, audio))} bytes"
        + (f" (request_id={request_id_of(answer_headers)})" if request_id_of(answer_headers) else "")
    )
