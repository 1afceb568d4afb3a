"""The speech API client: every call rate-limited, retried, timed, priced and written to the ledger.

One :class:`SpeechClient` per run holds one pooled ``httpx.AsyncClient``, one limiter shared by all its
calls, and the ledger sink. Each call runs attempts under ``limiter.slot`` inside
:func:`voxbatch.client.retry.call_with_retries` and yields exactly one :class:`CallRecord`, whether
it succeeded or failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Protocol, TypeVar
from urllib.parse import urlencode, urlparse

import httpx

from voxbatch.audio.ffmpeg import AudioDecodeError, probe_duration_s
from voxbatch.client import http as http_attempt
from voxbatch.client.call_options import (
    CallContext,
    SpeechOptions,
    TranscriptionOptions,
)
from voxbatch.client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    SpeechAPIError,
    StreamTruncatedError,
    request_id_of,
)
from voxbatch.client.limits import Limiter, NoLimit, Unit, holds_rate_limited_retries
from voxbatch.client.models import WEBSOCKET_RATE_HZ, answered_pcm_format
from voxbatch.client.options import ClientOptions
from voxbatch.client.providers import speech_body, stt_fields
from voxbatch.client.records import CallFacts, RunStamp, cached_record, call_record
from voxbatch.client.results import CallInfo, SpeechAudio, SpeechResult, Transcript, parse_transcript
from voxbatch.client.retry import RetryStats, call_with_retries
from voxbatch.client.sse import stream_speech
from voxbatch.client.ws import speak_over_websocket
from voxbatch.ledger.record import CallRecord
from voxbatch.pricing import PriceTable, load_price_table

logger = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A", bound="_Answer")
R = TypeVar("R")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
LedgerSink = Callable[[CallRecord], None]


class _Answer(Protocol):
    """What ``_call`` reads from any successful attempt."""

    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def status(self) -> int: ...
    @property
    def ttfb_s(self) -> float: ...


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
    def _stamp(self) -> RunStamp:
        return RunStamp(self.run_id, self.flow, self.provider_label)

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
        attempt: Callable[[], Awaitable[A]],
        facts: CallFacts,
        finish: Callable[[A, CallInfo], tuple[R, CallFacts]],
    ) -> R:
        """Run ``attempt`` with retries under the limiter; ``finish`` turns the answer into the result.

        Exactly one ledger record is written, from ``facts`` (as ``finish`` completed them on success).
        """
        stats = RetryStats()
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        try:
            answer = await call_with_retries(
                lambda: self._limited(units, unit, attempt),
                self.options.retry,
                stats,
                sleep=self._sleep,
                what=what,
                limiter_waits=holds_rate_limited_retries(self.limiter),
            )
        except SpeechAPIError as exc:
            latency_s = time.perf_counter() - started
            failed = call_record(
                self._stamp, self.prices, facts, stats=stats, error=exc, latency_s=latency_s, started_at=started_at
            )
            self._write(failed)
            raise
        latency_s = time.perf_counter() - started
        info = CallInfo(
            stats.attempts,
            stats.retry_wait_s,
            request_id_of(answer.headers),
            answer.status,
            answer.ttfb_s,
            latency_s,
            facts.transport,
        )
        result, facts = finish(answer, info)
        self._write(
            call_record(
                self._stamp,
                self.prices,
                facts,
                stats=stats,
                error=None,
                latency_s=latency_s,
                started_at=started_at,
                info=info,
            )
        )
        return result

    def _write(self, rec: CallRecord) -> None:
        """Hand the record to the ledger; a ledger that cannot take it never costs the caller a paid answer."""
        if self.ledger is None:
            return
        try:
            self.ledger(rec)
        except Exception as exc:
            logger.error("ledger record of %s call for item %s not written: %s", rec.endpoint, rec.item_id, exc)

    # --- text to speech ----------------------------------------------------------------------------

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

        async def attempt() -> SpeechAudio:
            if opts.transport == "sse":
                return await stream_speech(
                    self._http, "/audio/speech", speech_body(self.options.provider, text, opts, True)
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
                    text,
                    params,
                    open_timeout_s=self.options.connect_timeout_s,
                )
            answer = await http_attempt.send(
                self._http, "POST", "/audio/speech", json=speech_body(self.options.provider, text, opts, False)
            )
            return SpeechAudio(answer.body, (), answer.headers, answer.ttfb_s)

        def finish(got: SpeechAudio, info: CallInfo) -> tuple[SpeechResult, CallFacts]:
            is_pcm = opts.audio_format == "pcm" or opts.transport != "rest"
            result = SpeechResult(
                audio=got.audio,
                audio_format="pcm" if is_pcm else opts.audio_format,
                sample_rate_hz=pcm.sample_rate_hz if is_pcm else None,
                encoding=pcm.encoding if is_pcm else None,
                words=got.words,
                model=opts.model,
                voice=opts.voice,
                input_chars=len(text),
                info=info,
            )
            return result, replace(facts, audio_seconds=result.duration_s, n_bytes=len(got.audio))

        facts = CallFacts("speech", opts.model, opts.voice, opts.transport, context, input_chars=len(text))
        return await self._call(f"speech[{opts.transport}]", float(len(text)), "chars", attempt, facts, finish)

    # --- speech to text ----------------------------------------------------------------------------

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
        fields = stt_fields(self.options.provider, opts, task)

        async def attempt() -> http_attempt.HttpAnswer:
            # httpx keeps the order of data fields; repeated names go as lists.
            grouped: dict[str, list[str]] = {}
            for key, value in fields:
                grouped.setdefault(key, []).append(value)
            form = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
            return await http_attempt.send(
                self._http, "POST", f"/audio/{endpoint}", data=form, files={"file": (name, data)}
            )

        def finish(answer: http_attempt.HttpAnswer, info: CallInfo) -> tuple[Transcript, CallFacts]:
            transcript = parse_transcript(json.loads(answer.body), opts.model, info)
            billed_s = seconds if seconds is not None else transcript.duration_s
            return transcript, replace(facts, audio_seconds=billed_s)

        facts = CallFacts(endpoint, opts.model, None, "multipart", context, audio_seconds=seconds, n_bytes=len(data))
        return await self._call(endpoint, seconds or 0.0, "audio_s", attempt, facts, finish)

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
        rec = cached_record(
            self._stamp,
            endpoint=endpoint,
            model=model,
            voice=voice,
            context=context or CallContext(),
            input_chars=input_chars,
            audio_seconds=audio_seconds,
            n_bytes=n_bytes,
        )
        self._write(rec)
        return rec

    # --- voices ------------------------------------------------------------------------------------

    async def voices(self, model: str | None = None) -> dict[str, list[str]]:
        """Voice names per model (``GET /voices``); not rate-limited by units, not billed."""

        async def attempt() -> http_attempt.HttpAnswer:
            path = f"/voices?{urlencode({'model': model})}" if model else "/voices"
            return await http_attempt.send(self._http, "GET", path)

        def finish(answer: http_attempt.HttpAnswer, info: CallInfo) -> tuple[dict[str, list[str]], CallFacts]:
            data = json.loads(answer.body)
            entries = data.get("data", []) if isinstance(data, dict) else []
            voices = {str(e["model"]): [str(v.get("name", v.get("id"))) for v in e.get("voices", [])] for e in entries}
            return voices, facts

        facts = CallFacts("voices", model, None, "rest", CallContext())
        return await self._call("voices", 0.0, "chars", attempt, facts, finish)
