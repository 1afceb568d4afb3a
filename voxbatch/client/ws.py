"""Speech over Together's realtime WebSocket: one connection per call, one item per call.

The text goes in one ``input_text_buffer.append`` followed by ``input_text_buffer.commit``, with
``segment=never`` and a ``max_partial_length`` above the text's length, so the server speaks it as
exactly one item and the call ends at that item's ``conversation.item.audio_output.done``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from voxbatch.client.errors import (
    APIConnectionError,
    APITimeoutError,
    StreamTruncatedError,
    make_status_error,
)
from voxbatch.client.results import WordTime
from voxbatch.client.sse import error_from_event, word_timings_of
from voxbatch.client.transport import Answer


async def speak_over_websocket(
    url: str,
    api_key: str,
    text: str,
    params: Mapping[str, Any],
    *,
    open_timeout_s: float,
) -> Answer:
    """Open a session, speak ``text`` as one item, and return its audio and word timings."""
    query = {**params, "segment": "never", "max_partial_length": len(text) + 1}
    started = time.perf_counter()
    audio: list[bytes] = []
    words: list[WordTime] = []
    ttfb_s: float | None = None
    try:
        async with connect(
            f"{url}?{urlencode(query)}",
            additional_headers={"Authorization": f"Bearer {api_key}"},
            open_timeout=open_timeout_s,
            max_size=None,
        ) as ws:
            session: dict[str, Any] = {}
            with contextlib.suppress(ConnectionClosed):  # refused (key, limit): the reason is already in the queue
                await ws.send(json.dumps({"type": "input_text_buffer.append", "text": text}))
                await ws.send(json.dumps({"type": "input_text_buffer.commit"}))
            async for raw in ws:
                event = json.loads(raw)
                kind = event.get("type")
                if kind == "session.created":
                    session = dict(event.get("session") or {})
                elif kind == "conversation.item.tts.failed" or kind == "error":
                    raise error_from_event(dict(event.get("error") or {}), {})
                elif kind == "conversation.item.audio_output.delta":
                    if ttfb_s is None:
                        ttfb_s = time.perf_counter() - started
                    audio.append(base64.b64decode(event["delta"]))
                elif kind == "conversation.item.word_timestamps":
                    words += word_timings_of(event)
                elif kind == "conversation.item.audio_output.done":
                    headers = {"x-request-id": str(session.get("id", ""))}  # the session id is our request id
                    return Answer(200, headers, b"".join(audio), ttfb_s or 0.0, tuple(words))
    except InvalidStatus as exc:
        response = exc.response
        raise make_status_error(response.status_code, bytes(response.body or b""), dict(response.headers)) from exc
    except ConnectionClosed as exc:
        raise StreamTruncatedError(f"the WebSocket closed before the audio was done ({exc.rcvd})") from exc
    except TimeoutError as exc:
        raise APITimeoutError("the WebSocket handshake timed out") from exc
    except (OSError, WebSocketException) as exc:
        raise APIConnectionError(f"{type(exc).__name__}: could not talk to the WebSocket endpoint") from exc
    raise StreamTruncatedError("the WebSocket closed before the audio was done")
