"""The real transport: speech and transcription requests on the wire, spelled in the provider's dialect.

One pooled ``httpx.AsyncClient`` carries REST and server-sent events (:mod:`voxbatch.client.http`,
:mod:`voxbatch.client.sse`); a WebSocket session per call carries realtime speech (:mod:`voxbatch.client.ws`).
Each attempt's allowance becomes httpx's timeouts here; the client still ends any attempt that outlives it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from voxbatch.client import http
from voxbatch.client.options import ClientOptions
from voxbatch.client.providers import speech_body, stt_fields
from voxbatch.client.sse import stream_speech
from voxbatch.client.transport import Answer, SpeechRequest, TranscriptionRequest
from voxbatch.client.ws import speak_over_websocket

READ_BACKSTOP_MARGIN_S = 5.0  # httpx's read timeout trails the attempt's total timeout by this much


class WireTransport:
    """REST, SSE and WebSocket speech, and multipart transcription, over real sockets.

    ``http_transport`` replaces httpx's network layer (e.g. ``httpx.MockTransport`` to test how requests are
    spelled and answers read); WebSocket calls always use the network.
    """

    def __init__(self, options: ClientOptions, *, http_transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.options = options
        self.http = httpx.AsyncClient(
            base_url=options.base_url,
            headers={"Authorization": f"Bearer {options.api_key}", "User-Agent": "voxbatch"},
            timeout=self._http_timeout(options.timeouts.floor_s),  # each request passes its own
            limits=httpx.Limits(
                max_connections=options.max_connections, max_keepalive_connections=options.max_keepalive
            ),
            transport=http_transport,
        )

    def __repr__(self) -> str:
        return f"WireTransport(base_url={self.options.base_url!r}, provider={self.options.provider!r})"

    def _http_timeout(self, seconds: float) -> httpx.Timeout:
        """httpx's timeouts for an attempt allowed ``seconds``: a non-streamed answer is silent until done,
        so reads may wait that long too (plus a margin, so the client's clearer total timeout fires first)."""
        return httpx.Timeout(
            connect=self.options.connect_timeout_s,
            read=seconds + READ_BACKSTOP_MARGIN_S,
            write=self.options.write_timeout_s,
            pool=seconds,
        )

    async def speak(self, request: SpeechRequest) -> Answer:
        opts, provider = request.options, self.options.provider
        timeout = self._http_timeout(request.timeout_s)
        if opts.transport == "sse":
            return await stream_speech(
                self.http, "/audio/speech", speech_body(provider, request.text, opts, True), timeout=timeout
            )
        if opts.transport == "websocket":
            params = {"model": opts.model, "voice": opts.voice, "response_format": "pcm"}
            if opts.word_timestamps:
                params["alignment"] = "word"
            if opts.sample_rate_hz is not None:
                params["sample_rate"] = str(opts.sample_rate_hz)
            if opts.language is not None:
                params["language"] = opts.language
            return await speak_over_websocket(
                f"{self.options.ws_base_url}/audio/speech/websocket",
                self.options.api_key,
                request.text,
                params,
                open_timeout_s=self.options.connect_timeout_s,
            )
        body = speech_body(provider, request.text, opts, False)
        return await http.send(self.http, "POST", "/audio/speech", json=body, timeout=timeout)

    async def transcribe(self, request: TranscriptionRequest) -> Answer:
        # httpx keeps the order of data fields; repeated names go as lists.
        grouped: dict[str, list[str]] = {}
        for key, value in stt_fields(self.options.provider, request.options, request.task):
            grouped.setdefault(key, []).append(value)
        form: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
        return await http.send(
            self.http,
            "POST",
            f"/audio/{request.endpoint}",
            data=form,
            files={"file": (request.filename, request.audio)},
            timeout=self._http_timeout(request.timeout_s),
        )

    async def voices(self, model: str | None) -> Answer:
        path = f"/voices?{urlencode({'model': model})}" if model else "/voices"
        return await http.send(self.http, "GET", path)

    async def models(self) -> Answer:
        return await http.send(self.http, "GET", "/models")

    async def aclose(self) -> None:
        await self.http.aclose()
