"""An in-memory speech transport for tests: scripted answers, every request recorded; no sockets, no clock.

Each request takes the next scripted step; a step is a :class:`Reply` or a function of the request that returns
one. When the script runs out, ``respond`` answers (default :func:`plausible_reply`: audio of a length that
follows the text, a transcript that fills the audio's duration, a small voice list), so a suite that only needs
*an* answer scripts nothing::

    fake = FakeTransport(error_reply(503), error_reply(429, retry_after_s=2), pcm_reply(1.5))
    async with SpeechClient(options, transport=fake, sleep=no_sleep) as client:
        result = await client.speak("Hi.", KOKORO)
    assert fake.outcomes() == [503, 429, 200] and fake.received[0].text == "Hi."

A reply's ``fault`` stands for what a real transport raises when no complete answer arrives (see
:data:`FAULT_ERRORS`); ``hang`` never answers, so the client's own timeout or a cancellation ends it. The fake
never sleeps and never reads a clock: ``at`` in :class:`Received` comes from the ``clock`` it is given (0.0
without one), ``ttfb_s`` from the reply. Same script, same requests: same answers.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import numpy.typing as npt

from voxbatch.audio.pcm import PCM_ENCODINGS, PcmEncoding, encode, to_wav
from voxbatch.client.call_options import SpeechOptions, TranscriptionOptions
from voxbatch.client.errors import (
    APIConnectionError,
    APITimeoutError,
    SpeechAPIError,
    StreamTruncatedError,
    make_status_error,
    request_id_of,
)
from voxbatch.client.models import answered_pcm_format
from voxbatch.client.options import Provider
from voxbatch.client.results import WordTime
from voxbatch.client.transport import Answer, SpeechRequest, SpeechTransport, TranscriptionRequest
from voxbatch.defaults import DEFAULT_STT_MODEL

Fault = Literal["refused", "dropped", "connect_timeout", "read_timeout", "cut", "hang"]
RequestKind = Literal["speech", "transcriptions", "translations", "voices", "models"]

TONE_HZ = 220.0  # the fake's speech is a quiet tone: audible, never silent, the same every time
TONE_AMPLITUDE = 0.25  # of full scale
FAKE_CHARS_PER_S = 15.0  # default speech lasts len(text) / 15 seconds (about a reading pace)
MIN_FAKE_SPEECH_S = 0.1
DEFAULT_FAKE_AUDIO_S = 1.0  # a transcript's duration when the request does not know its audio's
FAKE_TRANSCRIPT_TEXT = "This is what the fake transport heard."
FAKE_VOICES: Mapping[str, tuple[str, ...]] = {
    "canopylabs/orpheus-3b-0.1-ft": ("tara", "leah", "leo"),
    "hexgrad/Kokoro-82M": ("af_heart", "af_bella", "am_adam"),
    "cartesia/sonic-2": ("newsman", "sweet lady"),
}


@dataclass(frozen=True)
class Reply:
    """What the fake answers to one request: a status with headers and a body, or a fault."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""  # audio for speech, JSON for transcriptions and voices, an error body for >= 400
    words: tuple[WordTime, ...] = ()  # word timings of a streamed (SSE/WebSocket) speech answer
    ttfb_s: float = 0.0
    fault: Fault | None = None

    @property
    def outcome(self) -> int | Fault:
        """The status, or the fault's name."""
        return self.fault or self.status


@dataclass(frozen=True)
class Received:
    """One request the fake received, in arrival order."""

    seq: int  # 0, 1, 2, ... over every request this fake received
    at: float  # the fake's clock when it arrived (0.0 without a clock)
    kind: RequestKind
    transport: str  # rest, sse, websocket (speech); multipart (transcriptions); rest (voices, models)
    model: str | None
    request: SpeechRequest | TranscriptionRequest | None  # None for a voice or model list

    @property
    def text(self) -> str | None:
        """The text of a speech request."""
        return self.request.text if isinstance(self.request, SpeechRequest) else None


Responder = Callable[[Received], Reply]
Step = Reply | Responder

FAULT_ERRORS: Mapping[Fault, Callable[[], SpeechAPIError]] = {
    "refused": lambda: APIConnectionError("ConnectError: [Errno 111] Connection refused"),
    "dropped": lambda: APIConnectionError("RemoteProtocolError: Server disconnected without sending a response."),
    "connect_timeout": lambda: APITimeoutError("ConnectTimeout: the request timed out", request_sent=False),
    "read_timeout": lambda: APITimeoutError("ReadTimeout: the request timed out"),
    "cut": lambda: StreamTruncatedError("RemoteProtocolError: the answer broke off before it was complete"),
}


# --- building replies ------------------------------------------------------------------------------------------


def tone(seconds: float, sample_rate_hz: int) -> npt.NDArray[np.int16]:
    """``seconds`` of the fake's tone as int16 samples."""
    n = round(seconds * sample_rate_hz)
    t = np.arange(n, dtype=np.float64) / sample_rate_hz
    return np.round(np.sin(2 * math.pi * TONE_HZ * t) * TONE_AMPLITUDE * 32767).astype(np.int16)


def pcm_reply(
    seconds: float,
    *,
    sample_rate_hz: int = 24000,
    encoding: str = "pcm_s16le",
    words: Iterable[WordTime] = (),
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """A speech answer of raw PCM lasting ``seconds`` (as the client will read it at this rate and encoding)."""
    if encoding not in PCM_ENCODINGS:
        raise ValueError(f"unknown PCM encoding {encoding!r}")
    audio = encode(tone(seconds, sample_rate_hz), cast(PcmEncoding, encoding))
    return Reply(headers=dict(headers or {}), body=audio, words=tuple(words))


def wav_reply(seconds: float, *, sample_rate_hz: int = 24000, headers: Mapping[str, str] | None = None) -> Reply:
    """A speech answer of a mono 16-bit WAV file lasting ``seconds``."""
    return Reply(headers=dict(headers or {}), body=to_wav(tone(seconds, sample_rate_hz), sample_rate_hz))


def spread_words(text: str, duration_s: float, speaker_id: str | None = None) -> tuple[WordTime, ...]:
    """The words of ``text``, each given an equal share of ``duration_s``."""
    words = [w.strip(".,;:!?\"'") for w in text.split()]
    words = [w for w in words if w]
    share = duration_s / max(1, len(words))
    return tuple(WordTime(w, round(i * share, 3), round((i + 1) * share, 3), speaker_id) for i, w in enumerate(words))


def transcript_reply(
    text: str,
    duration_s: float,
    *,
    task: str = "transcribe",
    language: str = "english",
    words: Sequence[WordTime] | None = None,
    segments: Sequence[tuple[float, float, str]] | None = None,
    speaker_id: str | None = None,
    verbose: bool = True,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """A transcription answer: ``verbose_json`` (segments, words, speakers when ``speaker_id``) or plain ``json``.

    ``words`` default to the text's words spread over ``duration_s``; ``segments`` to one covering it all.
    """
    if not verbose:
        return Reply(headers=dict(headers or {}), body=json.dumps({"text": text}).encode())
    timed = tuple(words) if words is not None else spread_words(text, duration_s, speaker_id)
    spans = list(segments) if segments is not None else [(0.0, duration_s, text)]
    data: dict[str, Any] = {
        "task": task,
        "language": language,
        "duration": duration_s,
        "text": text,
        "segments": [{"id": i, "start": s, "end": e, "text": t} for i, (s, e, t) in enumerate(spans)],
        "words": [_word_json(w) for w in timed],
    }
    if speaker_id is not None:
        data["speaker_segments"] = [
            {
                "id": i,
                "speaker_id": speaker_id,
                "start": s,
                "end": e,
                "text": t,
                "words": [_word_json(w) for w in timed if s <= w.start_s < e],
            }
            for i, (s, e, t) in enumerate(spans)
        ]
    return Reply(headers=dict(headers or {}), body=json.dumps(data).encode())


def _word_json(word: WordTime) -> dict[str, Any]:
    out: dict[str, Any] = {"word": word.word, "start": word.start_s, "end": word.end_s}
    if word.speaker_id is not None:
        out["speaker_id"] = word.speaker_id
    return out


def error_reply(
    status: int,
    message: str | None = None,
    *,
    retry_after_s: float | None = None,
    error_type: str | None = None,
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """An error answer in Together's shape (``{"error": {...}}``), with ``retry-after`` when given."""
    error: dict[str, Any] = {"message": message or f"fake HTTP {status}"}
    error |= {k: v for k, v in (("type", error_type), ("code", code), ("param", param)) if v is not None}
    out = dict(headers or {})
    if retry_after_s is not None:
        out.setdefault("retry-after", f"{retry_after_s:g}")
    return Reply(status=status, headers=out, body=json.dumps({"error": error}).encode())


def voices_reply(voices: Mapping[str, Sequence[str]]) -> Reply:
    """A voice list (``GET /voices``) in Together's shape."""
    entries = [{"model": m, "voices": [{"name": v} for v in names]} for m, names in voices.items()]
    return Reply(body=json.dumps({"object": "list", "data": entries}).encode())


def models_reply(models: Mapping[str, str]) -> Reply:
    """A model list (``GET /models``) in Together's shape (a bare list): model id -> type (audio, transcribe)."""
    entries = [{"id": m, "object": "model", "type": kind} for m, kind in models.items()]
    return Reply(body=json.dumps(entries).encode())


def plausible_reply(received: Received, provider: Provider = "together") -> Reply:
    """A successful answer derived from the request alone: what a well server would roughly send."""
    request = received.request
    if isinstance(request, SpeechRequest):
        return _speech_reply(request, provider)
    if isinstance(request, TranscriptionRequest):
        opts: TranscriptionOptions = request.options
        seconds = request.audio_seconds or DEFAULT_FAKE_AUDIO_S
        return transcript_reply(
            FAKE_TRANSCRIPT_TEXT,
            seconds,
            task=request.task,
            speaker_id="SPEAKER_00" if opts.diarize and request.task == "transcribe" else None,
            verbose=opts.response_format == "verbose_json",
            words=None if "word" in opts.timestamp_granularities else (),
        )
    if received.kind == "models":
        return models_reply({**dict.fromkeys(FAKE_VOICES, "audio"), DEFAULT_STT_MODEL: "transcribe"})
    wanted = {m: v for m, v in FAKE_VOICES.items() if received.model in (None, m)}
    return voices_reply(wanted)


def _speech_reply(request: SpeechRequest, provider: Provider) -> Reply:
    opts: SpeechOptions = request.options
    seconds = max(MIN_FAKE_SPEECH_S, len(request.text) / FAKE_CHARS_PER_S)
    pcm = answered_pcm_format(provider, opts.model, opts.sample_rate_hz, opts.encoding)
    encoding = "pcm_s16le" if opts.transport == "websocket" else pcm.encoding
    if opts.transport == "rest" and opts.audio_format == "wav":
        return wav_reply(seconds, sample_rate_hz=pcm.sample_rate_hz)
    if opts.transport == "rest" and opts.audio_format != "pcm":
        return error_reply(400, f"the fake transport makes pcm and wav, not {opts.audio_format}", param="audio_format")
    streamed = opts.transport != "rest" and opts.word_timestamps
    words = spread_words(request.text, seconds) if streamed else ()
    return pcm_reply(seconds, sample_rate_hz=pcm.sample_rate_hz, encoding=encoding, words=words)


# --- the transport -------------------------------------------------------------------------------------------


class FakeTransport:
    """A :class:`voxbatch.client.transport.SpeechTransport` that answers from a script and records every request.

    ``on_request`` is called with each request as it arrives, before its reply is chosen (e.g. to check what the
    ledger knew by then, or to set an event a test waits on). Answers without a request id get ``fake-<seq>``.
    """

    def __init__(
        self,
        *script: Step,
        respond: Responder | None = None,
        provider: Provider = "together",
        clock: Callable[[], float] | None = None,
        on_request: Callable[[Received], None] | None = None,
    ) -> None:
        self._script: deque[Step] = deque(script)
        self.respond: Responder = respond or (lambda received: plausible_reply(received, provider))
        self.clock = clock
        self.on_request = on_request
        self.received: list[Received] = []
        self.replies: list[Reply] = []  # replies[i] answered received[i]
        self.closed = False

    def __repr__(self) -> str:
        return f"FakeTransport(received={len(self.received)}, scripted={len(self._script)})"

    def script(self, *steps: Step) -> None:
        """Queue more steps after those already scripted."""
        self._script.extend(steps)

    @property
    def scripted(self) -> int:
        """Steps not yet used."""
        return len(self._script)

    def outcomes(self, kind: RequestKind | None = None) -> list[int | Fault]:
        """The status (or fault) of every answered request, in order; only ``kind``'s when given."""
        return [
            reply.outcome for got, reply in zip(self.received, self.replies, strict=False) if kind in (None, got.kind)
        ]

    async def speak(self, request: SpeechRequest) -> Answer:
        opts = request.options
        return await self._answer("speech", opts.transport, opts.model, request)

    async def transcribe(self, request: TranscriptionRequest) -> Answer:
        kind: RequestKind = "transcriptions" if request.task == "transcribe" else "translations"
        return await self._answer(kind, "multipart", request.options.model, request)

    async def voices(self, model: str | None) -> Answer:
        return await self._answer("voices", "rest", model, None)

    async def models(self) -> Answer:
        return await self._answer("models", "rest", None, None)

    async def aclose(self) -> None:
        self.closed = True

    async def _answer(
        self, kind: RequestKind, transport: str, model: str | None, request: SpeechRequest | TranscriptionRequest | None
    ) -> Answer:
        seq = len(self.received)
        got = Received(seq, self.clock() if self.clock else 0.0, kind, transport, model, request)
        self.received.append(got)
        if self.on_request is not None:
            self.on_request(got)
        step = self._script.popleft() if self._script else self.respond
        reply = step if isinstance(step, Reply) else step(got)
        self.replies.append(reply)
        if reply.fault == "hang":
            await asyncio.get_running_loop().create_future()  # never set: a timeout or cancellation ends it
        if reply.fault is not None:
            raise FAULT_ERRORS[reply.fault]()
        headers = dict(reply.headers)
        if request_id_of(headers) is None:
            headers["x-request-id"] = f"fake-{seq}"
        if reply.status >= 400:
            raise make_status_error(reply.status, reply.body, headers)
        return Answer(reply.status, headers, reply.body, reply.ttfb_s, reply.words)


if TYPE_CHECKING:  # mypy holds the fake to the interface it stands in for
    _conforms: SpeechTransport = FakeTransport()
