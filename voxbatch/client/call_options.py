"""What one call asks for: speech and transcription options, and where the call belongs in a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from voxbatch.defaults import DEFAULT_STT_MODEL

Transport = Literal["rest", "sse", "websocket"]


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
    purpose: str | None = None  # why a call beyond the chunk's own was made (see CallRecord.purpose)
