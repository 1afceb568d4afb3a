"""``/v1/audio/speech/websocket``: Together's realtime text-to-speech session protocol.

Client frames: ``input_text_buffer.append|commit|clear``, ``tts_session.updated``, ``context.cancel``.
Server frames: ``session.created`` first, then per synthesized item
``conversation.item.audio_output.delta``..., ``conversation.item.word_timestamps`` (with
``alignment=word``), ``conversation.item.audio_output.done``; errors as ``conversation.item.tts.failed``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass, replace
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from voxbatch.server.catalog import KOKORO, TTS_MODELS
from voxbatch.server.errors import ApiError
from voxbatch.server.gateway import injected_error
from voxbatch.server.options import DEFAULT_WS_MAX_PARTIAL_CHARS
from voxbatch.server.speech import audio_chunks, cut_short, next_item_id, render_piece, shortened, word_event
from voxbatch.server.speech_request import SpeechRequest, parse_speech_request
from voxbatch.server.state import ServerState, note_billing
from voxbatch.server.synthesis import complete_sentences_end, split_sentences

WS_DEFAULT_MODEL = KOKORO  # Together's documented default for this endpoint (not the command's choice)
WS_FORMATS = ("pcm", "wav", "mp3", "opus", "aac", "flac", "raw")
MAX_CONTEXTS = 100
DEFAULT_CONTEXT = "default"
WS_POLICY_VIOLATION = 1008
WS_SERVER_ERROR = 1011


@dataclass
class _Context:
    buffer: str = ""
    cancelled: bool = False


class _Session:
    """One WebSocket connection: its settings, text buffers per context, and billing."""

    def __init__(self, ws: WebSocket, settings: dict[str, Any], state: ServerState) -> None:
        self.ws = ws
        self.settings = settings
        self.state = state
        self.contexts: dict[str, _Context] = {}
        self.characters = 0
        self.send_lock = asyncio.Lock()
        self.fault = ws.scope.get("state", {}).get("fault", "none")
        self.deltas_sent = 0
        self.session_id = f"sess_{uuid.uuid4().hex[:24]}"

    def request(self, text: str = "", settings: dict[str, Any] | None = None) -> SpeechRequest:
        """Validate ``settings`` (default: the session's) with ``text`` as the input."""
        settings = self.settings if settings is None else settings
        req = parse_speech_request(
            {**settings, "input": text},
            max_input_chars=self.state.options.max_input_chars,
            formats=WS_FORMATS,
            require_input=False,
        )
        max_partial = str(settings.get("max_partial_length", DEFAULT_WS_MAX_PARTIAL_CHARS))
        if not max_partial.isdigit() or int(max_partial) < 1:
            raise ApiError(
                400,
                f"max_partial_length must be a positive integer; got {max_partial!r}",
                param="max_partial_length",
                code="invalid_request",
            )
        # The realtime endpoint always streams 16-bit PCM (24 kHz for Orpheus and Kokoro).
        return replace(req, encoding="pcm_s16le")

    async def send(self, event: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(event, separators=(",", ":")))

    async def failed(self, error: ApiError, context_id: str | None = None) -> None:
        event: dict[str, Any] = {"type": "conversation.item.tts.failed", "error": error.body()["error"]}
        if context_id is not None:
            event["context_id"] = context_id
        await self.send(event)

    async def synthesize(self, text: str, context_id: str) -> None:
        """Speak one complete piece of text as one item."""
        ctx = self.contexts.get(context_id)
        try:
            req = self.request(text)
        except ApiError as exc:
            await self.failed(exc, context_id)
            return
        item_id = next_item_id()
        self.characters += len(text)
        note_billing(self.ws.scope, model=req.model.model_id, voice=req.voice_name, characters=self.characters)
        rendering = await render_piece(req, text)
        keep = shortened(self.fault, self.state, req)
        if keep is not None:
            rendering = cut_short(rendering, keep)  # injected: complete-looking, cut
        for chunk in audio_chunks(rendering):
            if ctx is not None and ctx.cancelled:
                return
            if self.fault == "cut" and self.deltas_sent >= 1:
                # Injected fault: the connection breaks off in the middle of the audio.
                await self.ws.close(WS_SERVER_ERROR)
                raise WebSocketDisconnect(WS_SERVER_ERROR)
            await self.send(
                {
                    "type": "conversation.item.audio_output.delta",
                    "item_id": item_id,
                    "context_id": context_id,
                    "delta": base64.b64encode(chunk).decode(),
                }
            )
            self.deltas_sent += 1
        if req.alignment == "word" and rendering.words:
            await self.send({**word_event(item_id, rendering, 0.0), "context_id": context_id})
        await self.send({"type": "conversation.item.audio_output.done", "item_id": item_id, "context_id": context_id})

    def ready_pieces(self, ctx: _Context, flush: bool) -> list[str]:
        """Take from the buffer what is ready to speak under the session's ``segment`` rule."""
        text = ctx.buffer
        segment = self.settings.get("segment") or "sentence"
        max_partial = int(self.settings.get("max_partial_length") or DEFAULT_WS_MAX_PARTIAL_CHARS)
        if flush or segment == "immediate" or len(text) > max_partial:
            ctx.buffer = ""
            return [text] if text.strip() else []
        if segment == "never":
            return []
        cut = complete_sentences_end(text)
        ctx.buffer = text[cut:]  # unstripped: "How " + "are you?" must stay "How are you?"
        return split_sentences(text[:cut])

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        context_id = str(message.get("context_id") or DEFAULT_CONTEXT)
        if kind == "tts_session.updated":
            update = message.get("session") or {}
            if not isinstance(update, dict):
                raise ApiError(400, "session must be an object", param="session")
            candidate = {**self.settings, **{k: v for k, v in update.items() if v is not None}}
            self.request(settings=candidate)
            self.settings = candidate
            await self.send({"type": "session.updated", "session": self.session_body()})
            return
        if kind == "context.cancel":
            ctx = self.contexts.get(context_id)
            if ctx is not None:
                ctx.cancelled = True
                ctx.buffer = ""
            await self.send({"type": "context.cancelled", "context_id": context_id})
            return
        if kind not in ("input_text_buffer.append", "input_text_buffer.commit", "input_text_buffer.clear"):
            raise ApiError(400, f"unknown message type {kind!r}", param="type", code="unknown_message_type")
        if context_id not in self.contexts:
            if len(self.contexts) >= MAX_CONTEXTS:
                raise ApiError(400, f"at most {MAX_CONTEXTS} contexts per connection", code="too_many_contexts")
            self.contexts[context_id] = _Context()
        ctx = self.contexts[context_id]
        if kind == "input_text_buffer.clear":
            ctx.buffer = ""
            return
        if kind == "input_text_buffer.append":
            text = message.get("text")
            if not isinstance(text, str):
                raise ApiError(400, "text must be a string", param="text")
            ctx.cancelled = False
            ctx.buffer += text
            await self.send({"type": "conversation.item.input_text.received", "text": text, "context_id": context_id})
        for piece in self.ready_pieces(ctx, flush=kind == "input_text_buffer.commit"):
            if len(piece) > self.state.options.max_input_chars:
                raise ApiError(
                    400,
                    f"text is {len(piece)} characters; the limit is {self.state.options.max_input_chars}",
                    code="input_too_long",
                )
            await self.synthesize(piece, context_id)

    def session_body(self) -> dict[str, Any]:
        return {
            "id": self.session_id,
            "object": "realtime.tts.session",
            "modalities": ["text", "audio"],
            "model": self.settings.get("model"),
            "voice": self.settings.get("voice"),
        }


async def speech_websocket(websocket: WebSocket) -> None:
    """Serve one realtime TTS connection until the client closes it."""
    state: ServerState = websocket.app.state.vox
    await websocket.accept()
    scope_state = websocket.scope.get("state", {})
    params = {k: v for k, v in websocket.query_params.items() if k != "api_key"}
    params.setdefault("model", WS_DEFAULT_MODEL)
    params.setdefault("response_format", "pcm")
    model = TTS_MODELS.get(params["model"])
    params.setdefault("voice", model.default_voice if model else "tara")
    session = _Session(websocket, params, state)
    refusal: ApiError | None = scope_state.get("refusal")  # missing/wrong key, or over the rate limit
    if refusal is not None:
        note_billing(websocket.scope, status=refusal.status)
        await session.failed(refusal)
        await websocket.close(WS_POLICY_VIOLATION)
        return
    fault = scope_state.get("fault", "none")
    if fault == "drop":  # injected: the connection goes away before the session starts
        note_billing(websocket.scope, status=0)
        await websocket.close(WS_SERVER_ERROR)
        return
    if fault in ("429", "500", "503"):
        rpm = state.limiter.rpm
        error = injected_error(fault, state.faults.spec.retry_after_s, None if rpm is None else int(rpm))
        note_billing(websocket.scope, status=error.status)
        await session.failed(error)
        await websocket.close(WS_SERVER_ERROR)
        return
    try:
        req = session.request()
    except ApiError as exc:
        note_billing(websocket.scope, status=exc.status)
        await session.failed(exc)
        await websocket.close(WS_POLICY_VIOLATION)
        return
    note_billing(websocket.scope, model=req.model.model_id, voice=req.voice_name, transport="websocket")
    await session.send({"event_id": uuid.uuid4().hex, "type": "session.created", "session": session.session_body()})
    try:
        while True:
            raw = await websocket.receive_text()
            try:
                message = json.loads(raw)
                if not isinstance(message, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                await session.failed(ApiError(400, f"message must be a JSON object: {exc}", code="invalid_json"))
                continue
            try:
                await session.handle(message)
            except ApiError as exc:
                await session.failed(exc, message.get("context_id"))
    except WebSocketDisconnect:
        return
