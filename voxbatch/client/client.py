"""The speech API client: every call rate-limited, retried, timed, priced and written to the ledger.

One :class:`SpeechClient` per run holds one transport (by default the real one: a pooled ``httpx.AsyncClient``
and WebSocket sessions, :mod:`voxbatch.client.wire`), one limiter shared by all its calls, and the ledger sink.
Each call runs attempts under ``limiter.slot`` inside :func:`voxbatch.client.retry.call_with_retries` and yields
exactly one :class:`CallRecord`, whether it succeeded or failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TypeVar, cast
from urllib.parse import urlparse

from voxbatch.audio.ffmpeg import AudioDecodeError, probe_duration_s
from voxbatch.client.call_books import (
    AbandonedCall,
    Flight,
    IntentSink,
    LedgerSink,
    keep_answer,
    write_intent,
    write_record,
)
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
from voxbatch.client.records import CallFacts, RunStamp, cached_record, call_record, outcome_unknown, sent_record
from voxbatch.client.results import CallInfo, ListedModel, SpeechResult, Transcript, parse_models, parse_transcript
from voxbatch.client.retry import RetryStats, call_with_retries
from voxbatch.client.transport import Answer, SpeechRequest, SpeechTransport, SttTask, TranscriptionRequest
from voxbatch.client.wire import WireTransport
from voxbatch.ledger.record import CallRecord
from voxbatch.pricing import PriceTable, load_price_table

logger = logging.getLogger(__name__)

R = TypeVar("R")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def provider_label(options: ClientOptions) -> str:
    """What the ledger calls the provider: ``local`` for a server on this machine, else the provider's name."""
    host = urlparse(options.base_url).hostname or ""
    return "local" if host in LOCAL_HOSTS else options.provider


class SpeechClient:
    """Async client for Together's audio API and OpenAI-compatible servers.

    Use one per run, as an async context manager::

        async with SpeechClient(ClientOptions.from_env(), limiter=AsyncRateLimiter(limits)) as client:
            result = await client.speak("Hello.", SpeechOptions(model=KOKORO, voice="af_heart"))

    ``transport`` carries the attempts (default: :class:`voxbatch.client.wire.WireTransport` built from
    ``options``; tests pass a :class:`voxbatch.client.fake_transport.FakeTransport`). The client closes it.
    """

    def __init__(
        self,
        options: ClientOptions,
        *,
        limiter: Limiter | None = None,
        ledger: LedgerSink | None = None,
        intents: IntentSink | None = None,
        prices: PriceTable | None = None,
        run_id: str | None = None,
        flow: str = "script",
        transport: SpeechTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.options = options
        self.limiter: Limiter = limiter or NoLimit()
        self.ledger = ledger
        self.intents = intents  # e.g. LedgerWriter.intend: every call is on disk before its request goes out
        self.prices = prices if prices is not None else load_price_table()
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.flow = flow
        self._sleep = sleep
        self.transport: SpeechTransport = transport if transport is not None else WireTransport(options)

    def __repr__(self) -> str:
        return f"SpeechClient(base_url={self.options.base_url!r}, provider={self.options.provider!r})"

    @property
    def _stamp(self) -> RunStamp:
        return RunStamp(self.run_id, self.flow, self.provider_label)

    @property
    def provider_label(self) -> str:
        """``local`` for a server on this machine, else the provider profile's name."""
        return provider_label(self.options)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> SpeechClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # --- the shared call machinery ---------------------------------------------------------------

    def _timeout_s(self, units: float, unit: Unit) -> float:
        """How long one attempt at ``units`` of work may take, start to last byte."""
        return self.options.timeouts.for_work(units, unit)

    async def _limited(self, units: float, unit: Unit, attempt: Callable[[], Awaitable[Answer]]) -> Answer:
        """One attempt under the limiter, within its work's timeout; the limiter hears every outcome."""
        timeout_s = self._timeout_s(units, unit)
        async with self.limiter.slot(units, unit):
            try:
                async with asyncio.timeout(timeout_s):
                    result = await attempt()
            except TimeoutError as exc:
                self.limiter.observe(None, {})
                raise APITimeoutError(
                    f"no complete answer within {self.options.timeouts.describe(units, unit)}"
                ) from exc
            except APIStatusError as exc:
                self.limiter.observe(exc.status, exc.headers)
                raise
            except (APIConnectionError, StreamTruncatedError):
                self.limiter.observe(None, {})
                raise
        self.limiter.observe(200, result.headers)
        return result

    async def _call(
        self,
        what: str,
        units: float,
        unit: Unit,
        attempt: Callable[[], Awaitable[Answer]],
        facts: CallFacts,
        finish: Callable[[Answer, CallInfo], tuple[R, CallFacts]],
        keep: Callable[[R], None] | None = None,
    ) -> R:
        """Run ``attempt`` with retries under the limiter; ``finish`` turns the answer into the result.

        The order is what makes a crash cheap: the call's write-ahead "sent" record goes to ``intents`` right
        before its first attempt (under the limiter, so a call waiting for its turn is not counted as sent); the
        moment an answer is complete, ``finish`` builds the result and ``keep`` makes it durable (e.g. caches
        it), before the limiter, the retry loop or any other task runs; only then is the outcome written. Exactly
        one outcome record is written (it settles the "sent" one), on success, failure or cancellation; attempts
        that timed out or broke off after the request went out count as possibly billed.
        """
        stats = RetryStats()
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        flight = Flight(uuid.uuid4().hex)

        async def sent_attempt() -> Answer:
            if not flight.sent:
                write_intent(
                    self.intents,
                    sent_record(self._stamp, self.prices, facts, record_id=flight.record_id, started_at=started_at),
                )
                flight.sent = True
            flight.active = True
            answer = await attempt()
            # The answer is complete: make it durable before anything else gets a turn.
            info = CallInfo(
                stats.attempts,
                stats.retry_wait_s,
                request_id_of(answer.headers),
                answer.status,
                answer.ttfb_s,
                time.perf_counter() - started,
                facts.transport,
            )
            flight.answered = True
            result, done_facts = finish(answer, info)
            flight.done = (result, done_facts, info)
            if keep is not None:
                keep_answer(keep, result, what)
            return answer

        async def one_attempt() -> Answer:
            try:
                answer = await self._limited(units, unit, sent_attempt)
            except SpeechAPIError as exc:
                if flight.active and outcome_unknown(exc):
                    flight.unknown_attempts += 1
                flight.active = False
                raise
            flight.active = False
            return answer

        def settle(error: BaseException | None, **extra: object) -> None:
            done_facts, info = (flight.done[1], flight.done[2]) if flight.done is not None else (facts, None)
            record = call_record(
                self._stamp,
                self.prices,
                done_facts,
                stats=stats,
                error=error,
                latency_s=time.perf_counter() - started,
                started_at=started_at,
                info=info,
                possibly_billed_attempts=flight.unknown_attempts,
                record_id=flight.record_id,
                **extra,  # type: ignore[arg-type]
            )
            write_record(self.ledger, record)

        try:
            await call_with_retries(
                one_attempt,
                self.options.retry,
                stats,
                sleep=self._sleep,
                what=what,
                limiter_waits=holds_rate_limited_retries(self.limiter),
            )
        except SpeechAPIError as exc:
            settle(exc)
            raise
        except BaseException as exc:
            # Cancelled (a stop, a task group failing) or a bug in reading the answer. An answer that arrived was
            # paid for; an attempt cut off in flight may have been.
            if flight.done is not None:
                settle(None)
            elif flight.sent:
                flight.unknown_attempts += flight.active and not flight.answered
                settle(AbandonedCall(f"{type(exc).__name__}: {exc}".rstrip(": ")), billed=flight.answered)
            raise
        assert flight.done is not None
        settle(None)
        return cast(R, flight.done[0])

    # --- text to speech ----------------------------------------------------------------------------

    async def speak(
        self,
        text: str,
        opts: SpeechOptions,
        *,
        context: CallContext | None = None,
        keep: Callable[[SpeechResult], None] | None = None,
    ) -> SpeechResult:
        """Synthesize ``text`` over ``opts.transport``; retried and rate-limited (units: characters).

        ``keep`` saves the result (e.g. to a cache) the moment it arrives, before the call's other bookkeeping;
        it runs on the event loop, so it should be a quick local write. Its errors are logged, not raised."""
        context = context or CallContext()
        if opts.transport != "rest" and opts.audio_format != "pcm":
            raise BadRequestError(f"the {opts.transport} transport returns PCM only", status=400, param="audio_format")
        pcm = answered_pcm_format(self.options.provider, opts.model, opts.sample_rate_hz, opts.encoding)
        if opts.transport == "websocket":
            pcm = type(pcm)(
                WEBSOCKET_RATE_HZ if pcm.sample_rate_hz == WEBSOCKET_RATE_HZ else pcm.sample_rate_hz, "pcm_s16le"
            )
        request = SpeechRequest(text, opts, self._timeout_s(float(len(text)), "chars"))

        def finish(got: Answer, info: CallInfo) -> tuple[SpeechResult, CallFacts]:
            is_pcm = opts.audio_format == "pcm" or opts.transport != "rest"
            result = SpeechResult(
                audio=got.body,
                audio_format="pcm" if is_pcm else opts.audio_format,
                sample_rate_hz=pcm.sample_rate_hz if is_pcm else None,
                encoding=pcm.encoding if is_pcm else None,
                words=got.words,
                model=opts.model,
                voice=opts.voice,
                input_chars=len(text),
                info=info,
            )
            return result, replace(facts, audio_seconds=result.duration_s, n_bytes=len(got.body))

        facts = CallFacts("speech", opts.model, opts.voice, opts.transport, context, input_chars=len(text))
        attempt = partial(self.transport.speak, request)
        return await self._call(f"speech[{opts.transport}]", float(len(text)), "chars", attempt, facts, finish, keep)

    # --- speech to text ----------------------------------------------------------------------------

    async def transcribe(
        self,
        audio: bytes | Path,
        opts: TranscriptionOptions | None = None,
        *,
        context: CallContext | None = None,
        keep: Callable[[Transcript], None] | None = None,
    ) -> Transcript:
        """Speech to text in the spoken language (units: audio seconds); ``keep`` as for :meth:`speak`."""
        return await self._stt("transcribe", audio, opts or TranscriptionOptions(), context or CallContext(), keep)

    async def translate(
        self,
        audio: bytes | Path,
        opts: TranscriptionOptions | None = None,
        *,
        context: CallContext | None = None,
        keep: Callable[[Transcript], None] | None = None,
    ) -> Transcript:
        """Speech to English text (units: audio seconds); ``keep`` as for :meth:`speak`."""
        return await self._stt("translate", audio, opts or TranscriptionOptions(), context or CallContext(), keep)

    async def _stt(
        self,
        task: SttTask,
        audio: bytes | Path,
        opts: TranscriptionOptions,
        context: CallContext,
        keep: Callable[[Transcript], None] | None = None,
    ) -> Transcript:
        name = audio.name if isinstance(audio, Path) else "audio"
        data = await asyncio.to_thread(audio.read_bytes) if isinstance(audio, Path) else audio
        seconds = opts.audio_seconds
        if seconds is None:
            try:
                seconds = await asyncio.to_thread(probe_duration_s, data)
            except AudioDecodeError:
                seconds = None  # the provider may still decode what our ffmpeg cannot; let it judge
        request = TranscriptionRequest(task, data, name, opts, seconds, self._timeout_s(seconds or 0.0, "audio_s"))

        def finish(answer: Answer, info: CallInfo) -> tuple[Transcript, CallFacts]:
            transcript = parse_transcript(json.loads(answer.body), opts.model, info)
            billed_s = seconds if seconds is not None else transcript.duration_s
            return transcript, replace(facts, audio_seconds=billed_s)

        endpoint = request.endpoint
        facts = CallFacts(endpoint, opts.model, None, "multipart", context, audio_seconds=seconds, n_bytes=len(data))
        attempt = partial(self.transport.transcribe, request)
        return await self._call(endpoint, seconds or 0.0, "audio_s", attempt, facts, finish, keep)

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
        write_record(self.ledger, rec)
        return rec

    # --- voices ------------------------------------------------------------------------------------

    async def voices(self, model: str | None = None) -> dict[str, list[str]]:
        """Voice names per model (``GET /voices``); not rate-limited by units, not billed."""

        def finish(answer: Answer, info: CallInfo) -> tuple[dict[str, list[str]], CallFacts]:
            data = json.loads(answer.body)
            entries = data.get("data", []) if isinstance(data, dict) else []
            voices = {str(e["model"]): [str(v.get("name", v.get("id"))) for v in e.get("voices", [])] for e in entries}
            return voices, facts

        facts = CallFacts("voices", model, None, "rest", CallContext())
        return await self._call("voices", 0.0, "chars", partial(self.transport.voices, model), facts, finish)

    async def models(self) -> tuple[ListedModel, ...]:
        """The models the server lists, with their kinds (``GET /models``); not rate-limited by units, not billed."""

        def finish(answer: Answer, info: CallInfo) -> tuple[tuple[ListedModel, ...], CallFacts]:
            return parse_models(json.loads(answer.body)), facts

        facts = CallFacts("models", None, None, "rest", CallContext())
        return await self._call("models", 0.0, "chars", self.transport.models, facts, finish)
