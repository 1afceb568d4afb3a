"""Validating a text-to-speech request (REST body or WebSocket query) into one typed object."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voxbatch.audio.pcm import PCM_ENCODINGS, PcmEncoding
from voxbatch.engines.espeak import EspeakVoice
from voxbatch.server.catalog import TTS_MODELS, TtsModel, UnknownVoiceError, resolve_voice
from voxbatch.server.errors import ApiError, bad_request
from voxbatch.server.synthesis import (
    MAX_SAMPLE_RATE_HZ,
    MIN_SAMPLE_RATE_HZ,
    MP3_BIT_RATES_BPS,
    espeak_language,
    output_rules,
)

REST_FORMATS = ("mp3", "wav", "raw", "mulaw")
ALIGNMENTS = ("none", "word")
SEGMENTS = ("sentence", "immediate", "never")
MIN_SPEED = 0.25
MAX_SPEED = 4.0


@dataclass(frozen=True)
class SpeechRequest:
    """A validated speech request."""

    model: TtsModel
    voice_name: str
    voice: EspeakVoice
    text: str
    response_format: str
    sample_rate_hz: int
    encoding: PcmEncoding
    espeak_language: str | None  # None: the voice's own language
    stream: bool
    alignment: str
    segment: str
    speed: float
    bit_rate_bps: int | None

    @property
    def input_sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def _model(value: Any) -> TtsModel:
    if not isinstance(value, str) or not value:
        raise bad_request("model is required", param="model", code="missing_model")
    model = TTS_MODELS.get(value)
    if model is None:
        raise bad_request(
            f"model {value!r} is not available; see GET /v1/voices", param="model", code="model_not_available"
        )
    return model


def resolve_model_voice(model_id: Any, voice_name: Any) -> tuple[TtsModel, str, EspeakVoice]:
    """Check model and voice; raise a 400 ApiError naming the bad one."""
    model = _model(model_id)
    if not isinstance(voice_name, str):
        raise bad_request("voice is required", param="voice", code="missing_voice")
    try:
        return model, voice_name, resolve_voice(model, voice_name)
    except UnknownVoiceError as exc:
        raise bad_request(str(exc), param="voice", code="voice_not_available") from exc


def _choice(body: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(name, default)
    if value is None:
        return default
    if value not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}; got {value!r}", param=name)
    return str(value)


def _number(body: Mapping[str, Any], name: str, kind: type, lo: float, hi: float) -> Any:
    value = body.get(name)
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError) as exc:  # int(float("inf")) overflows
        raise bad_request(f"{name} must be a number; got {value!r}", param=name) from exc
    if isinstance(value, bool) or not math.isfinite(number) or not lo <= number <= hi:
        raise bad_request(f"{name} must be between {lo:g} and {hi:g}; got {value!r}", param=name)
    return number


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise bad_request(f"{name} must be a boolean; got {value!r}", param=name)


def parse_speech_request(
    body: Mapping[str, Any],
    *,
    max_input_chars: int,
    formats: tuple[str, ...] = REST_FORMATS,
    require_input: bool = True,
) -> SpeechRequest:
    """Validate a ``POST /v1/audio/speech`` body (or WebSocket query parameters)."""
    model, voice_name, voice = resolve_model_voice(body.get("model"), body.get("voice"))
    text = body.get("input", "")
    if not isinstance(text, str):
        raise bad_request("input must be a string", param="input")
    if require_input and not text.strip():
        raise bad_request("input must not be empty", param="input", code="empty_input")
    if len(text) > max_input_chars:
        raise bad_request(
            f"input is {len(text)} characters; the limit is {max_input_chars}",
            param="input",
            code="input_too_long",
        )
    stream = _flag(body, "stream")
    response_format = _choice(body, "response_format", formats + model.extra_formats, "wav")
    if stream and response_format != "raw":
        raise bad_request("streaming requires response_format 'raw'", param="response_format")
    requested_encoding = _choice(body, "response_encoding", PCM_ENCODINGS, "pcm_f32le")
    requested_rate = _number(body, "sample_rate", int, MIN_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ)
    rate, encoding = output_rules(model, requested_rate, requested_encoding)
    language = body.get("language")
    mapped: str | None = None
    if language is not None:
        if not isinstance(language, str) or (mapped := espeak_language(language)) is None:
            raise bad_request(f"language {language!r} is not supported", param="language", code="unsupported_language")
        # Voices that carry their own language (Kokoro's jf_, zf_, ...) keep it; English is the default.
        if language.lower().startswith("en"):
            mapped = None
    bit_rate = _number(body, "bit_rate", int, 0, 10**6)
    if bit_rate is not None and bit_rate not in MP3_BIT_RATES_BPS:
        raise bad_request(f"bit_rate must be one of {MP3_BIT_RATES_BPS}", param="bit_rate")
    speed = _number(body, "speed", float, MIN_SPEED, MAX_SPEED)
    return SpeechRequest(
        model=model,
        voice_name=voice_name,
        voice=voice,
        text=text,
        response_format=response_format,
        sample_rate_hz=rate,
        encoding=encoding,
        espeak_language=mapped,
        stream=stream,
        alignment=_choice(body, "alignment", ALIGNMENTS, "none"),
        segment=_choice(body, "segment", SEGMENTS, "sentence"),
        speed=1.0 if speed is None else speed,
        bit_rate_bps=bit_rate,
    )


def bad_json(exc: Exception) -> ApiError:
    """The 400 for a body that is not a JSON object."""
    return bad_request(f"request body must be a JSON object: {exc}", code="invalid_json")
