"""``POST /v1/audio/speech``: whole-body answers and server-sent-event streams.

A request the fault injector drew ``short`` (:mod:`voxbatch.server.faults`) gets a well-formed answer holding only
the first part of its speech.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from voxbatch.audio import pcm
from voxbatch.engines.espeak import SynthesisCancelled
from voxbatch.server.disconnect import unless_caller_leaves
from voxbatch.server.errors import ApiError
from voxbatch.server.options import STREAM_CHUNK_S, StreamShape
from voxbatch.server.speech_request import SpeechRequest, bad_json, parse_speech_request
from voxbatch.server.state import ServerState, note_billing
from voxbatch.server.synthesis import (
    CONTENT_TYPES,
    Rendering,
    chunk_samples,
    encode_body,
    render,
    speak,
)

_item_ids = itertools.count(1)


def next_item_id() -> str:
    """Item ids look like ``tts_<n>``, as Together's do."""
    return f"tts_{next(_item_ids)}"


async def render_piece(req: SpeechRequest, text: str, cancel: threading.Event | None = None) -> Rendering:
    """Synthesize and render one piece off the event loop; setting ``cancel`` stops it (SynthesisCancelled)."""
    synth = await run_in_threadpool(
        speak, text, req.voice, speed=req.speed, language=req.espeak_language, cancel=cancel
    )
    return render(synth, req.sample_rate_hz, req.encoding)


def delta_event(shape: StreamShape, item_id: str, model_id: str, payload: bytes) -> dict[str, Any]:
    """One audio chunk in the configured SSE shape."""
    b64 = base64.b64encode(payload).decode()
    if shape == "legacy":
        return {"object": "audio.tts.chunk", "model": model_id, "b64": b64}
    return {"type": "conversation.item.audio_output.delta", "item_id": item_id, "delta": b64}


def word_event(item_id: str, rendering: Rendering, offset_s: float) -> dict[str, Any]:
    """``conversation.item.word_timestamps`` for one rendered piece, shifted by ``offset_s``."""
    return {
        "type": "conversation.item.word_timestamps",
        "item_id": item_id,
        "words": [w.word for w in rendering.words],
        "start_seconds": [round(offset_s + w.start_s, 3) for w in rendering.words],
        "end_seconds": [round(offset_s + w.end_s, 3) for w in rendering.words],
    }


def cut_short(rendering: Rendering, keep: float) -> Rendering:
    """The first ``keep`` of a rendering, and the words heard in it (the ``short`` fault's answer)."""
    n = int(len(rendering.pcm) * keep)
    end_s = n / rendering.sample_rate_hz
    return replace(rendering, pcm=rendering.pcm[:n], words=tuple(w for w in rendering.words if w.end_s <= end_s))


def shortened(fault: str | None, state: ServerState, req: SpeechRequest) -> float | None:
    """The share of the speech to answer with when the request (or WebSocket session) was drawn ``fault`` =
    ``short`` and its input may still be cut, else None."""
    if fault == "short" and state.faults.cuts_short(req.input_sha256):
        return state.faults.spec.short_keep
    return None


def audio_chunks(rendering: Rendering) -> list[bytes]:
    """A rendering cut into fixed-length deltas in its wire encoding."""
    step = chunk_samples(rendering.sample_rate_hz, STREAM_CHUNK_S)
    return [pcm.encode(rendering.pcm[i : i + step], rendering.encoding) for i in range(0, len(rendering.pcm), step)]


async def _sse(req: SpeechRequest, shape: StreamShape, keep: float | None = None) -> AsyncIterator[bytes]:
    # The whole input is synthesized at once (espeak-ng takes milliseconds), so the stream carries
    # exactly the audio of the non-streamed answer, pauses between sentences included.
    item_id = next_item_id()
    cancel = threading.Event()  # set when the stream ends, or is closed because the caller left
    try:
        rendering = await render_piece(req, req.text, cancel)
        if keep is not None:
            rendering = cut_short(rendering, keep)
        for chunk in audio_chunks(rendering):
            yield _data(delta_event(shape, item_id, req.model.model_id, chunk))
        if req.alignment == "word" and rendering.words:
            yield _data(word_event(item_id, rendering, 0.0))
    except Exception as exc:  # an error after the 200 has gone out travels in the stream itself
        error = ApiError(500, f"synthesis failed: {exc}", type="server_error", code="processing_failed")
        yield _data(error.body())
    finally:
        cancel.set()
    yield b"data: [DONE]\n\n"


def _data(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


async def create_speech(request: Request) -> Response:
    """Synthesize ``input``; stream SSE when ``stream`` is true."""
    state: ServerState = request.app.state.vox
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise TypeError("not an object")
    except (ValueError, TypeError) as exc:
        raise bad_json(exc) from exc
    req = parse_speech_request(body, max_input_chars=state.options.max_input_chars)
    note_billing(
        request.scope,
        model=req.model.model_id,
        voice=req.voice_name,
        characters=len(req.text),
        input_sha256=req.input_sha256,
        transport="sse" if req.stream else "rest",
    )
    keep = shortened(request.scope.get("state", {}).get("fault"), state, req)
    if req.stream:
        return StreamingResponse(
            _sse(req, state.options.stream_shape, keep),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    rendering = await unless_caller_leaves(
        request, state.stats, lambda cancel: render_piece(req, req.text, cancel), (SynthesisCancelled,)
    )
    if keep is not None:
        rendering = cut_short(rendering, keep)
    body_bytes = await run_in_threadpool(encode_body, rendering, req.response_format, req.bit_rate_bps)
    return Response(body_bytes, media_type=CONTENT_TYPES[req.response_format])
