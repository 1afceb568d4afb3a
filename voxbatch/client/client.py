"""The speech API client: every call rate-limited, retried, timed, priced and written to the ledger.

One :class:`SpeechClient` per run holds one pooled ``httpx.AsyncClient``, one limiter shared by all its
calls, and the ledger sink. Each call runs attempts under ``limiter.slot`` inside
:func:`voxbatch.client.retry.call_with_retries` and yields exactly one :class:`CallRecord`, whether
it succeeded or failed.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import urlparse

import httpx

from voxbatch.audio.ffmpeg import AudioDecodeError, probe_duration_s
from voxbatch.client import http as http_attempt
from voxbatch.client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    SpeechAPIError,
    StreamTruncatedError,
    request_id_of,
)
from voxbatch.client.limits import Limiter, NoLimit, Unit
from voxbatch.client.models import WEBSOCKET_RATE_HZ, answered_pcm_format
from voxbatch.client.options import ClientOptions
from voxbatch.client.results import CallInfo, SpeechResult, Transcript, WordTime, parse_transcript
from voxbatch.client.retry import RetryStats, call_with_retries
from voxbatch.client.sse import stream_speech
from voxbatch.client.ws import speak_over_websocket
from voxbatch.ledger.record import CallRecord
from voxbatch.pricing import PriceTable, load_price_table

T = TypeVar("T")
Transport = Literal["rest", "sse", "websocket"]
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_STT_MODEL = "openai/whisper-large-v3"
BYTES_PER_SAMPLE = {"pcm_s16le": 2, "pcm_f32le": 4, "pcm_mulaw": 1, "pcm_alaw": 1}


@dataclass(frozen=True)
class SpeechOptions:
    """What to synthesize with, and how to get it back.

    ``audio_format="pcm"`` returns raw PCM (in ``encoding``, at the model's real rate); any other
    format (wav, mp3, mulaw, opus, ...) returns the encoded bytes as the provider sent them (REST only).
    """

    model: str
    voice: str
    transport: Transport = "rest"
    audio_format: str = "pcm"
    encoding: str = "pcm_s16le"
    sample_rate_hz: int | None = None
    language: str | None = None
    word_timestamps: bool = False  # alignment=word (streaming and WebSocket transports)
    extra: Mapping[str, Any] = field(default_factory=dict)  # more body fields, sent as given


@dataclass(frozen=True)
class TranscriptionOptions:
    """How to transcribe (or translate) one audio file."""

    model: str = DEFAULT_STT_MODEL
    language: str | None = None
    prompt: str | None = None
    response_format: Literal["json", "verbose_json"] = "verbose_json"
    temperature: float | None = None
    timestamp_granularities: tuple[Literal["segment", "word"], ...] = ("segment",)
    diarize: bool = False
    min_speakers: int | None = None
    max_speakers: int | None = None
    audio_seconds: float | None = None  # known duration (rate-limit units, cost); probed with ffmpeg when None


@dataclass(frozen=True)
class CallContext:
    """Where a call belongs in the run, for its ledger record."""

    item_id: str | None = None
    chunk_index: int | None = None


LedgerSink = Callable[[CallRecord], None]


class SpeechClient:
    """Async client for Together's audio API and OpenAI-compatible servers.

    Use one per run, as an async context manager::

        async with SpeechClient(ClientOptions.from_env(), limiter=AsyncRateLimiter(limits)) as client:
            result = await client.speak("Hello.", SpeechOptions(model=KOKORO, voice="af_heart"))
    """

    def __init__(
        self,
        options: ClientOptions,
        *,
        limiter: Limiter | None = None,
        ledger: LedgerSink | None = None,
        prices: PriceTable | None = None,
        run_id: str | None = None,
        flow: str = "script",
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.options = options
        self.limiter: Limiter = limiter or NoLimit()
        self.ledger = ledger
        self.prices = prices if prices is not None else load_price_table()
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.flow = flow
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=options.base_url,
            headers={"Authorization": f"Bearer {options.api_key}", "User-Agent": "voxbatch"},
            timeout=httpx.Timeout(
                connect=options.connect_timeout_s,
                read=options.read_timeout_s,
                write=options.write_timeout_s,
                pool=options.total_timeout_s,
            ),
            limits=httpx.Limits(
                max_connections=options.max_connections, max_keepalive_connections=options.max_keepalive
            ),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"SpeechClient(base_url={self.options.base_url!r}, provider={self.options.provider!r})"

    @property
    def provider_label(self) -> str:
        """``local`` for a server on this machine, else the provider profile's name."""
        host = urlparse(self.options.base_url).hostname or ""
        return "local" if host in LOCAL_HOSTS else self.options.provider

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SpeechClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # --- the shared call machinery ---------------------------------------------------------------

    async def _limited(self, units: float, unit: Unit, attempt: Callable[[], Awaitable[T]]) -> T:
        """One attempt under the limiter, with the total timeout; the limiter hears every outcome."""
        async with self.limiter.slot(units, unit):
            try:
                async with asyncio.timeout(self.options.total_timeout_s):
                    result = await attempt()
            except TimeoutError as exc:
                self.limiter.observe(None, {})
                raise APITimeoutError(f"no complete answer within {self.options.total_timeout_s:g} s") from exc
            except APIStatusError as exc:
                self.limiter.observe(exc.status, exc.headers)
                raise
            except (APIConnectionError, StreamTruncatedError):
                self.limiter.observe(None, {})
                raise
        self.limiter.observe(200, getattr(result, "headers", {}))
        return result

    async def _call(
        self,
        what: str,
        units: float,
        unit: Unit,
        attempt: Callable[[], Awaitable[T]],
        record: Callable[[T | None, RetryStats, SpeechAPIError | None, float, datetime], CallRecord],
    ) -> T:
        stats = RetryStats()
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        try:
            result = await call_with_retries(
                lambda: self._limited(units, unit, attempt), self.options.retry, stats, sleep=self._sleep, what=what
            )
        except SpeechAPIError as exc:
            self._write(record(None, stats, exc, time.perf_counter() - started, started_at))
            raise
        self._write(record(result, stats, None, time.perf_counter() - started, started_at))
        return result

    def _write(self, rec: CallRecord) -> None:
        if self.ledger is not None:
            self.ledger(rec)

    def _record(
        self,
        *,
        endpoint: str,
        model: str | None,
        voice: str | None,
        transport: str,
        context: CallContext,
        stats: RetryStats,
        error: SpeechAPIError | None,
        latency_s: float,
        started_at: datetime,
        info: CallInfo | None = None,
        input_chars: int | None = None,
        audio_seconds: float | None = None,
        n_bytes: int | None = None,
    ) -> CallRecord:
        status_error = error if isinstance(error, APIStatusError) else None
        cost = None
        if model is not None and endpoint in ("speech", "transcriptions", "translations"):
            cost = self.prices.cost_usd(model, input_chars=input_chars, audio_seconds=audio_seconds)
            if error is not None and cost is not None:
                cost = 0.0  # a failed call is not billed; an unknown price stays unknown
        return CallRecord(
            run_id=self.run_id,
            flow=self.flow,
            item_id=context.item_id,
            chunk_index=context.chunk_index,
            provider=self.provider_label,
            endpoint=endpoint,
            model=model,
            voice=voice,
            transport=transport,
            input_chars=input_chars,
            audio_seconds=audio_seconds,
            bytes=n_bytes,
            attempts=stats.attempts,
            retry_wait_s=round(stats.retry_wait_s, 6),
            http_status=info.http_status if info else (status_error.status if status_error else None),
            status="failed" if error is not None else "ok",
            error=f"{type(error).__name__}: {error}" if error is not None else None,
            request_id=info.request_id if info else (status_error.request_id if status_error else None),
            started_at=started_at,
            ttfb_s=info.ttfb_s if info else None,
            latency_s=latency_s,
            cost_usd=cost,
            cached=False,
        )

    # --- text to speech ----------------------------------------------------------------------------

    def _speech_body(self, text: str, opts: SpeechOptions, stream: bool) -> dict[str, Any]:
        openai = self.options.provider == "openai"
        body: dict[str, Any] = {"model": opts.model, "input": text, "voice": opts.voice}
        if opts.audio_format == "pcm" or stream:
            body["response_format"] = "pcm" if openai else "raw"
            if not openai:
                body["response_encoding"] = opts.encoding
        else:
            body["response_format"] = opts.audio_format
        if opts.sample_rate_hz is not None and not openai:
            body["sample_rate"] = opts.sample_rate_hz
        if opts.language is not None:
            body["language"] = opts.language
        if stream:
            if openai:
                body["stream_format"] = "sse"
            else:
                body["stream"] = True
                if opts.word_timestamps:
                    body["alignment"] = "word"
        return {**body, **opts.extra}

    async def speak(self, text: str, opts: SpeechOptions, *, context: CallContext | None = None) -> SpeechResult:
        """Synthesize ``text`` over ``opts.transport``; retried and rate-limited (units: characters)."""
        context = context or CallContext()
        if opts.transport != "rest" and opts.audio_format != "pcm":
            raise BadRequestError(f"the {opts.transport} transport returns PCM only", status=400, param="audio_format")
        pcm = answered_pcm_format(self.options.provider, opts.model, opts.sample_rate_hz, opts.encoding)
        if opts.transport == "websocket":
            pcm = type(pcm)(
                WEBSOCKET_RATE_HZ if pcm.sample_rate_hz == WEBSOCKET_RATE_HZ else pcm.sample_rate_hz, "pcm_s16le"
            )

        async def attempt() -> tuple[bytes, tuple[WordTime, ...], Mapping[str, str], float]:
            if opts.transport == "sse":
                streamed = await stream_speech(self._http, "/audio/speech", self._speech_body(text, opts, True))
                return streamed.audio, streamed.words, streamed.headers, streamed.ttfb_s
            if opts.transport == "websocket":
                params = {"model": opts.model, "voice": opts.voice, "response_format": "pcm"}
                if opts.word_timestamps:
                    params["alignment"] = "word"
                if opts.sample_rate_hz is not None:
                    params["sample_rate"] = str(opts.sample_rate_hz)
                if opts.language is not None:
                    params["language"] = opts.language
                got = await speak_over_websocket(
                    f"{self.options.ws_base_url}/audio/speech/websocket",
                    self.options.api_key,
                    text,
                    params,
                    open_timeout_s=self.options.connect_timeout_s,
                )
                return got.audio, got.words, {"x-request-id": str(got.session.get("id", ""))}, got.ttfb_s
            answer = await http_attempt.send(
                self._http, "POST", "/audio/speech", json=self._speech_body(text, opts, False)
            )
            return answer.body, (), answer.headers, answer.ttfb_s

        holder: dict[str, SpeechResult] = {}

        def record(
            got: tuple[bytes, tuple[WordTime, ...], Mapping[str, str], float] | None,
            stats: RetryStats,
            error: SpeechAPIError | None,
            latency_s: float,
            started_at: datetime,
        ) -> CallRecord:
            info = None
            audio_s = None
            n_bytes = None
            if got is not None:
                audio, words, headers, ttfb_s = got
                info = CallInfo(
                    stats.attempts, stats.retry_wait_s, request_id_of(headers), 200, ttfb_s, latency_s, opts.transport
                )
                is_pcm = opts.audio_format == "pcm" or opts.transport != "rest"
                result = SpeechResult(
                    audio=audio,
                    audio_format="pcm" if is_pcm else opts.audio_format,
                    sample_rate_hz=pcm.sample_rate_hz if is_pcm else None,
                    encoding=pcm.encoding if is_pcm else None,
                    words=words,
                    model=opts.model,
                    voice=opts.voice,
                    input_chars=len(text),
                    info=info,
                )
                holder["result"] = result
                audio_s = result.duration_s
                n_bytes = len(audio)
            return self._record(
                endpoint="speech",
                model=opts.model,
                voice=opts.voice,
                transport=opts.transport,
                context=context,
                stats=stats,
                error=error,
                latency_s=latency_s,
                started_at=started_at,
                info=info,
                input_chars=len(text),
                audio_seconds=audio_s,
                n_bytes=n_bytes,
            )

        await self._call(f"speech[{opts.transport}]", float(len(text)), "chars", attempt, record)
        return holder["result"]

    # --- speech to text ----------------------------------------------------------------------------

    def _stt_fields(self, opts: TranscriptionOptions, task: str) -> list[tuple[str, str]]:
        openai = self.options.provider == "openai"
        fields: list[tuple[str, str]] = [("model", opts.model)]  # model first: servers route on it
        if opts.language is not None:
            fields.append(("language", opts.language))
        if opts.prompt is not None:
            fields.append(("prompt", opts.prompt))
        fields.append(("response_format", opts.response_format))
        if opts.temperature is not None:
            fields.append(("temperature", str(opts.temperature)))
        if opts.response_format == "verbose_json":
            name = "timestamp_granularities[]" if openai else "timestamp_granularities"
            fields += [(name, g) for g in opts.timestamp_granularities]
        if task == "transcribe" and not openai:
            if opts.diarize:
                fields.append(("diarize", "true"))
            if opts.min_speakers is not None:
                fields.append(("min_speakers", str(opts.min_speakers)))
            if opts.max_speakers is not None:
                fields.append(("max_speakers", str(opts.max_speakers)))
        return fields

    async def transcribe(
        self, audio: bytes | Path, opts: TranscriptionOptions | None = None, *, context: CallContext | None = None
    ) -> Transcript:
        """Speech to text in the spoken language (units: audio seconds)."""
        return await self._stt("transcribe", audio, opts or TranscriptionOptions(), context or CallContext())

    async def translate(
        self, audio: bytes | Path, opts: TranscriptionOptions | None = None, *, context: CallContext | None = None
    ) -> Transcript:
        """Speech to English text (units: audio seconds)."""
        return await self._stt("translate", audio, opts or TranscriptionOptions(), context or CallContext())

    async def _stt(
        self, task: str, audio: bytes | Path, opts: TranscriptionOptions, context: CallContext
    ) -> Transcript:
        name = audio.name if isinstance(audio, Path) else "audio"
        data = await asyncio.to_thread(audio.read_bytes) if isinstance(audio, Path) else audio
        seconds = opts.audio_seconds
        if seconds is None:
            try:
                seconds = await asyncio.to_thread(probe_duration_s, data)
            except AudioDecodeError:
                seconds = None  # the provider may still decode what our ffmpeg cannot; let it judge
        endpoint = "transcriptions" if task == "transcribe" else "translations"
        fields = self._stt_fields(opts, task)

        async def attempt() -> http_attempt.HttpAnswer:
            # httpx keeps the order of data fields; repeated names go as lists.
            grouped: dict[str, list[str]] = {}
            for key, value in fields:
                grouped.setdefault(key, []).append(value)
            form = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
            return await http_attempt.send(
                self._http, "POST", f"/audio/{endpoint}", data=form, files={"file": (name, data)}
            )

        holder: dict[str, Transcript] = {}

        def record(
            answer: http_attempt.HttpAnswer | None,
            stats: RetryStats,
            error: SpeechAPIError | None,
            latency_s: float,
            started_at: datetime,
        ) -> CallRecord:
            info = None
            if answer is not None:
                info = CallInfo(
                    stats.attempts,
                    stats.retry_wait_s,
                    request_id_of(answer.headers),
                    answer.status,
                    answer.ttfb_s,
                    latency_s,
                    "multipart",
                )
                holder["result"] = parse_transcript(json.loads(answer.body), opts.model, info)
            billed_s = seconds if seconds is not None else holder["result"].duration_s
            return self._record(
                endpoint=endpoint,
                model=opts.model,
                voice=None,
                transport="multipart",
                context=context,
                stats=stats,
                error=error,
                latency_s=latency_s,
                started_at=started_at,
                info=info,
                audio_seconds=billed_s if answer is not None else seconds,
                n_bytes=len(data),
            )

        await self._call(endpoint, seconds or 0.0, "audio_s", attempt, record)
        return holder["result"]

    # --- work already paid for ---------------------------------------------------------------------

    def record_cached(
        self,
        *,
        endpoint: str,
        model: str,
        voice: str | None = None,
        context: CallContext | None = None,
        input_chars: int | None = None,
        audio_seconds: float | None = None,
        n_bytes: int | None = None,
    ) -> CallRecord:
        """Write the ledger record of a call answered from a cache: no request, no attempts, no cost."""
        rec = CallRecord(
            run_id=self.run_id,
            flow=self.flow,
            item_id=(context or CallContext()).item_id,
            chunk_index=(context or CallContext()).chunk_index,
            provider=self.provider_label,
            endpoint=endpoint,
            model=model,
            voice=voice,
            transport="cache",
            input_chars=input_chars,
            audio_seconds=audio_seconds,
            bytes=n_bytes,
            attempts=0,
            retry_wait_s=0.0,
            http_status=None,
            status="cached",
            error=None,
            request_id=None,
            started_at=datetime.now(UTC),
            ttfb_s=None,
            latency_s=0.0,
            cost_usd=0.0,
            cached=True,
        )
        self._write(rec)
        return rec

    # --- voices ------------------------------------------------------------------------------------

    async def voices(self, model: str | None = None) -> dict[str, list[str]]:
        """Voice names per model (``GET /voices``); not rate-limited by units, not billed."""

        async def attempt() -> http_attempt.HttpAnswer:
            params = {"model": model} if model else None
            return await http_attempt.send(self._http, "GET", "/voices" + (f"?model={model}" if params else ""))

        holder: dict[str, dict[str, list[str]]] = {}

        def record(
            answer: http_attempt.HttpAnswer | None,
            stats: RetryStats,
            error: SpeechAPIError | None,
            latency_s: float,
            started_at: datetime,
        ) -> CallRecord:
            info = None
            if answer is not None:
                data = json.loads(answer.body)
                entries = data.get("data", []) if isinstance(data, dict) else []
                holder["result"] = {
                    str(e["model"]): [str(v.get("name", v.get("id"))) for v in e.get("voices", [])] for e in entries
                }
                info = CallInfo(
                    stats.attempts,
                    stats.retry_wait_s,
                    request_id_of(answer.headers),
                    answer.status,
                    answer.ttfb_s,
                    latency_s,
                    "rest",
                )
            return self._record(
                endpoint="voices",
                model=model,
                voice=None,
                transport="rest",
                context=CallContext(),
                stats=stats,
                error=error,
                latency_s=latency_s,
                started_at=started_at,
                info=info,
            )

        await self._call("voices", 0.0, "chars", attempt, record)
        return holder["result"]
