"""The ASGI layer in front of every ``/v1`` route: request ids, auth, rate limit, faults and counting.

It wraps the Starlette app directly (outermost), so it still holds uvicorn's own ``send`` and can
really drop or cut connections, as a failing network or provider would.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxbatch.server.errors import ApiError
from voxbatch.server.faults import FaultKind
from voxbatch.server.ratelimit import Admission
from voxbatch.server.state import ServerState, billing_of
from voxbatch.server.stats import RequestRecord

API_PREFIX = "/v1"
MS_PER_S = 1000.0


def presented_key(scope: Scope) -> str | None:
    """The API key a request presents: ``Authorization: Bearer``, or ``?api_key=`` on WebSockets."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    if scope["type"] == "websocket":
        keys = parse_qs(scope.get("query_string", b"").decode()).get("api_key")
        return keys[0] if keys else None
    return None


def auth_error(scope: Scope, expected: str | None) -> ApiError | None:
    """None when the request may proceed, else the 401 to answer (never echoing the key)."""
    if expected is None:
        return None
    key = presented_key(scope)
    if key is None:
        return ApiError(401, "Missing API key. Send 'Authorization: Bearer <key>'.", code="missing_api_key")
    if not hmac.compare_digest(key.encode(), expected.encode()):
        return ApiError(401, "Invalid API key provided.", code="invalid_api_key")
    return None


def injected_error(fault: FaultKind, retry_after_s: float, limit: int | None = None) -> ApiError:
    """The answer for an injected 429/500/503 (``limit``: the server's requests per minute, if it has one)."""
    if fault == "429":
        wait_ms = max(1, math.ceil(retry_after_s * MS_PER_S))
        headers = {
            "retry-after": str(max(1, math.ceil(retry_after_s))),
            "retry-after-ms": str(wait_ms),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": f"{retry_after_s:.3f}",
        }
        if limit is not None:  # a limit of 0 would tell a learning client it may send nothing
            headers["x-ratelimit-limit"] = str(limit)
        return ApiError(
            429,
            "Rate limit exceeded (injected).",
            type="rate_limit_exceeded",
            code="dynamic_request_limited",
            headers=headers,
        )
    if fault == "503":
        return ApiError(
            503,
            "The engine is currently overloaded, please try again later (injected).",
            type="server_error",
            code="engine_overloaded",
        )
    return ApiError(500, "Processing failed (injected).", type="server_error", code="processing_failed")


async def _abort(send: Send) -> bool:
    """Close the underlying TCP connection at once; False when the server does not expose it."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    transport.abort()
    await asyncio.sleep(0)  # let uvicorn see connection_lost, so it does not report an unfinished response
    return True


class _Once:
    """Records one request in the server's stats, the first time it is called (later calls do nothing)."""

    def __init__(self, gateway: Gateway, scope: Scope, request_id: str) -> None:
        self.gateway = gateway
        self.scope = scope
        self.request_id = request_id
        self.done = False

    def __call__(self, status: int, fault: str, bill: dict[str, Any]) -> None:
        if not self.done:
            self.done = True
            self.gateway._record(self.scope, status, self.request_id, fault, bill)


class Gateway:
    """Outermost ASGI middleware of the local server."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send, request_id)
            return
        await self._http(scope, receive, send, request_id)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        # The WebSocket handler reports refusals in-band (tts.failed), so it gets the verdict: auth first,
        # then the rate limit (a connection counts as one request).
        refusal = auth_error(scope, self.state.options.api_key)
        limiter = self.state.limiter
        admission = limiter.acquire() if refusal is None and limiter.enabled else None
        if admission is not None and not admission.admitted:
            refusal = self._limited(admission)
            admission = None
        scope["state"]["refusal"] = refusal
        fault = scope["state"]["fault"] = self.state.faults.draw() if refusal is None else "none"
        record = _Once(self, scope, request_id)

        def record_with_billing() -> None:
            bill = billing_of(scope)
            record(int(bill.pop("status", 101)), fault, bill)

        async def wrapped(message: Message) -> None:
            if message["type"] == "websocket.close":
                record_with_billing()  # counted before the client can see the close
            await send(message)

        try:
            await self.app(scope, receive, wrapped)
        finally:
            if admission is not None:
                limiter.release()
            record_with_billing()

    @staticmethod
    def _limited(admission: Admission) -> ApiError:
        return ApiError(
            429,
            f"Too many requests ({admission.reason} limit).",
            type="rate_limit_exceeded",
            code="dynamic_request_limited",
            headers=admission.headers(),
        )

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        # Every request is counted before its last byte goes out, so a client never sees its answer
        # before the server's counters include it.
        spec = self.state.faults.spec
        record = _Once(self, scope, request_id)
        error = auth_error(scope, self.state.options.api_key)
        if error is not None:
            record(error.status, "none", {})
            await self._answer(error, send, request_id)
            return
        limiter = self.state.limiter
        admission = limiter.acquire() if limiter.enabled else None
        if admission is not None and not admission.admitted:
            record(429, "none", {})
            await self._answer(self._limited(admission), send, request_id)
            return
        try:
            fault = scope["state"]["fault"] = self.state.faults.draw()  # a handler may act on it too ("short")
            if spec.ttfb_ms:
                await asyncio.sleep(spec.ttfb_ms / MS_PER_S)
            if fault == "drop":
                record(0, fault, {})
                if await _abort(send):
                    return
            if fault in ("429", "500", "503"):
                error = injected_error(fault, spec.retry_after_s, None if limiter.rpm is None else int(limiter.rpm))
                record(error.status, fault, {})
                await self._answer(error, send, request_id)
                return
            extra = admission.headers() if admission is not None else {}
            try:
                await self._forward(scope, receive, send, request_id, fault, extra, record)
            finally:
                record(500, fault, billing_of(scope))  # only if nothing was recorded: the handler raised
        finally:
            if admission is not None:
                limiter.release()

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        fault: FaultKind,
        extra: dict[str, str],
        record: _Once,
    ) -> None:
        """Run the app, adding headers, the configured latency and (for ``cut``) a broken-off body."""
        latency_s = self.state.faults.spec.latency_ms / MS_PER_S
        status = 0
        body_messages = 0
        aborted = False

        async def wrapped(message: Message) -> None:
            nonlocal status, body_messages, aborted
            if aborted:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend((k.encode(), v.encode()) for k, v in extra.items())
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                more = message.get("more_body", False)
                body = message.get("body", b"")
                if fault == "cut" and status < 400 and (body_messages > 0 or (not more and len(body) > 1)):
                    record(status, fault, billing_of(scope))
                    if body_messages == 0:  # a whole body: half of it goes out
                        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
                    aborted = await _abort(send)
                    return
                if body:
                    body_messages += 1
                if not more:
                    if latency_s:
                        await asyncio.sleep(latency_s)
                    record(status, fault, billing_of(scope))
            await send(message)

        await self.app(scope, receive, wrapped)

    @staticmethod
    async def _answer(error: ApiError, send: Send, request_id: str) -> None:
        response = error.response()
        response.headers["x-request-id"] = request_id

        async def noop_receive() -> Message:
            return {"type": "http.disconnect"}

        await response({"type": "http"}, noop_receive, send)

    def _record(self, scope: Scope, status: int, request_id: str, fault: str, bill: dict[str, Any]) -> None:
        billed = 200 <= status < 300 or status == 101
        self.state.stats.record(
            RequestRecord(
                at=time.time(),
                method=scope.get("method", "WS"),
                path=scope["path"],
                status=status,
                request_id=request_id,
                model=bill.get("model"),
                voice=bill.get("voice"),
                input_sha256=bill.get("input_sha256"),
                characters=int(bill.get("characters", 0)) if billed else 0,
                audio_seconds=float(bill.get("audio_seconds", 0.0)) if billed else 0.0,
                fault=fault,
                transport=bill.get("transport"),
            )
        )
