"""The local Together-compatible audio server as an ASGI application."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp

from voxbatch.server.catalog import STT_MODELS, TTS_MODELS
from voxbatch.server.errors import ApiError
from voxbatch.server.gateway import Gateway
from voxbatch.server.options import ServerOptions
from voxbatch.server.speech import create_speech
from voxbatch.server.state import ServerState
from voxbatch.server.transcription import create_transcription, create_translation
from voxbatch.server.websocket import speech_websocket

ADMIN_PREFIX = "/_voxbatch"


async def list_voices(request: Request) -> Response:
    """``GET /v1/voices``: every TTS model with its voices (``?model=`` filters, same shape)."""
    wanted = request.query_params.get("model")
    if wanted is not None and wanted not in TTS_MODELS:
        raise ApiError(404, f"model {wanted!r} not found", code="model_not_found", param="model")
    data = [
        {"model": m.model_id, "voices": [{"id": f"{m.model_id}::{v}", "name": v} for v in m.voices]}
        for m in TTS_MODELS.values()
        if wanted is None or m.model_id == wanted
    ]
    return JSONResponse({"object": "list", "data": data})


async def list_models(request: Request) -> Response:
    """``GET /v1/models``: the audio models this server offers."""
    data = [{"id": m, "object": "model", "type": "audio", "owned_by": m.split("/")[0]} for m in TTS_MODELS]
    data += [{"id": m, "object": "model", "type": "transcribe", "owned_by": m.split("/")[0]} for m in STT_MODELS]
    return JSONResponse(data)


async def stats(request: Request) -> Response:
    """``GET /_voxbatch/stats[?log=1]``: request counters (outside /v1: not counted, no auth, no faults)."""
    state: ServerState = request.app.state.vox
    return JSONResponse(state.stats.snapshot(include_log=request.query_params.get("log") in ("1", "true")))


async def reset_stats(request: Request) -> Response:
    """``POST /_voxbatch/stats/reset``."""
    state: ServerState = request.app.state.vox
    state.stats.reset()
    return JSONResponse({"ok": True})


async def health(request: Request) -> Response:
    """``GET /_voxbatch/health``."""
    return JSONResponse({"ok": True})


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return ApiError(exc.status_code, str(exc.detail), code=code).response()


async def _server_error(request: Request, exc: Exception) -> Response:
    return ApiError(
        500, f"internal error: {type(exc).__name__}", type="server_error", code="processing_failed"
    ).response()


def create_app(options: ServerOptions | None = None) -> ASGIApp:
    """Build the server; ``app.state.vox`` (also returned via :func:`state_of`) holds its live state."""
    state = ServerState(options or ServerOptions())
    app = Starlette(
        routes=[
            Route("/v1/audio/speech", create_speech, methods=["POST"]),
            WebSocketRoute("/v1/audio/speech/websocket", speech_websocket),
            Route("/v1/audio/transcriptions", create_transcription, methods=["POST"]),
            Route("/v1/audio/translations", create_translation, methods=["POST"]),
            Route("/v1/voices", list_voices, methods=["GET"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route(f"{ADMIN_PREFIX}/stats", stats, methods=["GET"]),
            Route(f"{ADMIN_PREFIX}/stats/reset", reset_stats, methods=["POST"]),
            Route(f"{ADMIN_PREFIX}/health", health, methods=["GET"]),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
    )
    app.state.vox = state
    return Gateway(app, state)


def state_of(app: ASGIApp) -> ServerState:
    """The live state of an app made by :func:`create_app`."""
    assert isinstance(app, Gateway)
    return app.state
