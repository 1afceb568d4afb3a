"""What carries one attempt to a speech server and back: the transport interface the client calls.

The client decides *what* to ask and *whether to ask again* (retries, pacing, timeouts, records); a transport
decides *how it travels*: REST, server-sent events or a WebSocket, spelled in the provider's dialect. Two
implement it: :class:`voxbatch.client.wire.WireTransport` (httpx and websockets, the real thing) and
:class:`voxbatch.client.fake_transport.FakeTransport` (scripted answers in memory, for tests).

A transport returns an :class:`Answer` only for a complete, successful answer; everything else is raised as
the client's error taxonomy (:mod:`voxbatch.client.errors`): an error status as an ``APIStatusError``, no answer
as ``APIConnectionError`` (``APITimeoutError`` for timeouts, with ``request_sent`` saying whether the request
went out), an answer that broke off as ``StreamTruncatedError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from voxbatch.client.call_options import SpeechOptions, TranscriptionOptions
from voxbatch.client.results import WordTime

SttTask = Literal["transcribe", "translate"]


@dataclass(frozen=True)
class SpeechRequest:
    """One speech attempt: the text, how to speak it (``options.transport`` picks the way), its allowance."""

    text: str
    options: SpeechOptions
    timeout_s: float  # how long this attempt may take, start to last byte (the client enforces it too)


@dataclass(frozen=True)
class TranscriptionRequest:
    """One transcription or translation attempt: the audio file, how to transcribe it, its allowance."""

    task: SttTask
    audio: bytes
    filename: str
    options: TranscriptionOptions
    audio_seconds: float | None  # known or probed duration; None when ffmpeg could not tell
    timeout_s: float

    @property
    def endpoint(self) -> str:
        """``transcriptions`` or ``translations``: the ledger's name for the endpoint."""
        return "transcriptions" if self.task == "transcribe" else "translations"


@dataclass(frozen=True)
class Answer:
    """One complete, successful answer, whatever carried it (``headers`` feed the limiter).

    ``body`` is the audio of a speech answer (raw PCM, or the encoded bytes asked for) and the JSON text of a
    transcription, voice or model list; ``words`` are the word timings a streamed speech answer carried.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    ttfb_s: float  # seconds from sending to the first byte (or event) of the answer
    words: tuple[WordTime, ...] = ()


class SpeechTransport(Protocol):
    """Carries single attempts; never retries, paces or records (the client does)."""

    async def speak(self, request: SpeechRequest) -> Answer:
        """Synthesize ``request.text`` over ``request.options.transport`` (``rest``, ``sse`` or ``websocket``)."""
        ...

    async def transcribe(self, request: TranscriptionRequest) -> Answer:
        """Send the audio for transcription or translation; the body is the provider's JSON answer."""
        ...

    async def voices(self, model: str | None) -> Answer:
        """List voices (all models, or one); the body is the provider's JSON answer."""
        ...

    async def models(self) -> Answer:
        """List the server's models (``GET /models``); the body is the provider's JSON answer."""
        ...

    async def aclose(self) -> None:
        """Release connections; the client calls it once, when it closes."""
        ...
