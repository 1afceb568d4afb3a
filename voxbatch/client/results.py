"""What calls return: typed speech, transcript and call-metadata objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WordTime:
    """A word and when it is heard, in seconds from the start of the audio."""

    word: str
    start_s: float
    end_s: float
    speaker_id: str | None = None


@dataclass(frozen=True)
class CallInfo:
    """How one call went: attempts, waits, timings and the provider's request id."""

    attempts: int
    retry_wait_s: float
    request_id: str | None
    http_status: int | None
    ttfb_s: float | None
    latency_s: float
    transport: str


@dataclass(frozen=True)
class SpeechResult:
    """Synthesized speech: raw PCM (``audio_format == "pcm"``) or encoded bytes (wav, mp3, ...)."""

    audio: bytes
    audio_format: str  # "pcm" or the container asked for
    sample_rate_hz: int | None  # known for PCM and WAV
    encoding: str | None  # PCM encoding (pcm_s16le, ...) when audio_format == "pcm"
    words: tuple[WordTime, ...]
    model: str
    voice: str
    input_chars: int
    info: CallInfo

    @property
    def duration_s(self) -> float | None:
        """Seconds of audio for PCM answers (None for compressed formats)."""
        if self.audio_format != "pcm" or not self.sample_rate_hz or not self.encoding:
            return None
        bytes_per_sample = {"pcm_s16le": 2, "pcm_f32le": 4, "pcm_mulaw": 1, "pcm_alaw": 1}[self.encoding]
        return len(self.audio) / bytes_per_sample / self.sample_rate_hz


@dataclass(frozen=True)
class ListedModel:
    """A model a server lists (``GET /models``): its id and kind (Together: ``audio``, ``transcribe``, ``chat``...)."""

    id: str
    type: str | None


def parse_models(data: Any) -> tuple[ListedModel, ...]:
    """A model list in Together's shape (a bare list) or OpenAI's (``{"object": "list", "data": [...]}``)."""
    entries = data.get("data", []) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        return ()
    return tuple(
        ListedModel(str(e["id"]), str(e["type"]) if e.get("type") is not None else None)
        for e in entries
        if isinstance(e, dict) and e.get("id")
    )


@dataclass(frozen=True)
class Segment:
    """A stretch of the transcript with its time span."""

    id: int
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class SpeakerSegment:
    """A diarized stretch: who spoke, when, and the words."""

    id: int
    speaker_id: str
    start_s: float
    end_s: float
    text: str
    words: tuple[WordTime, ...]


@dataclass(frozen=True)
class Transcript:
    """A transcription or translation (``json`` answers fill only ``text``)."""

    text: str
    task: str | None  # "transcribe" or "translate" (verbose answers)
    language: str | None
    duration_s: float | None
    segments: tuple[Segment, ...]
    words: tuple[WordTime, ...]
    speaker_segments: tuple[SpeakerSegment, ...]
    model: str
    info: CallInfo
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


def _word(data: dict[str, Any]) -> WordTime:
    return WordTime(str(data.get("word", "")), float(data["start"]), float(data["end"]), data.get("speaker_id"))


def parse_transcript(data: dict[str, Any], model: str, info: CallInfo) -> Transcript:
    """Parse a ``json`` or ``verbose_json`` answer (Together's or OpenAI's shape)."""
    return Transcript(
        text=str(data.get("text", "")).strip(),
        task=data.get("task"),
        language=data.get("language"),
        duration_s=float(data["duration"]) if data.get("duration") is not None else None,
        segments=tuple(
            Segment(int(s.get("id", i)), float(s["start"]), float(s["end"]), str(s.get("text", "")).strip())
            for i, s in enumerate(data.get("segments") or [])
        ),
        words=tuple(_word(w) for w in data.get("words") or []),
        speaker_segments=tuple(
            SpeakerSegment(
                int(s.get("id", i)),
                str(s.get("speaker_id", "")),
                float(s["start"]),
                float(s["end"]),
                str(s.get("text", "")).strip(),
                tuple(_word(w) for w in s.get("words") or []),
            )
            for i, s in enumerate(data.get("speaker_segments") or [])
        ),
        model=model,
        info=info,
        raw=data,
    )
