"""The provider's catalog: the models it serves, each speech model's voices, languages and sample rates, and what
is wrong with a row's choice of them (one line: the reason and the valid choices).

A catalog comes from the server the run would use (:mod:`voxbatch.run.catalog_source`): the embedded server's own
static catalog (:mod:`voxbatch.server.catalog`, read in-process), or a real server's ``GET /v1/voices`` (speech
models and their voices) and ``GET /v1/models`` (which models transcribe). What those lists do not say (the rates a
model answers at, whether it takes voice ids it does not list, Kokoro's voice mixes) comes from the client's
model rules (:mod:`voxbatch.client.models`), the same rules the book's plan and the client read. A part the
server did not list is ``None``: nothing is checked against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from voxbatch.client.models import native_sample_rate_hz, sample_rates_hz
from voxbatch.client.results import ListedModel
from voxbatch.defaults import DEFAULT_VOICES

CHOICES_SHOWN = 10  # a longer list of valid choices is shortened to its first ten and "… (N more)"
EMBEDDED_SOURCE = "the embedded local server"
ANY_VOICE_PREFIXES = ("cartesia/", "deepgram/")  # take voice ids beyond the names they list (Cartesia: UUIDs)
VOICE_MIX_PREFIXES = ("hexgrad/kokoro",)  # "af_bella(2)+af_heart(1)"
# GET /v1/models "type" of a transcription model: Together's is "transcribe" (together-python ModelType)
STT_MODEL_TYPES = frozenset({"transcribe", "transcription", "stt", "speech-to-text"})
_MIX_PART = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(?:\(\s*\d+(?:\.\d+)?\s*\))?\s*$")
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{2,8})?$")  # "en", "zh-hk": what Together documents

Problem = tuple[str, str]  # (column, reason)


def choices(values: Sequence[object], shown: int = CHOICES_SHOWN) -> str:
    """``a, b, c``; a long list shows its first ``shown`` and how many more there are."""
    listed = ", ".join(str(v) for v in values[:shown])
    return listed if len(values) <= shown else f"{listed} … ({len(values) - shown} more)"


@dataclass(frozen=True)
class TtsEntry:
    """One text-to-speech model of a catalog."""

    model: str
    voices: tuple[str, ...]
    default_voice: str | None  # what a row without a voice gets (voxbatch.defaults), if the model lists it
    native_rate_hz: int  # what a book in this model is asked for unless told
    sample_rates_hz: tuple[int, ...]  # the rates it answers at when asked
    any_voice: bool = False  # takes voice ids it does not list
    voice_mixes: bool = False  # takes weighted mixes of its voices

    def voice_problem(self, voice: str) -> str | None:
        """Why ``voice`` is not one of this model's, or None."""
        if not voice.strip():
            return f"is empty; choose one of: {choices(self.voices)}"
        if voice in self.voices:
            return None
        if self.voice_mixes and "+" in voice:
            for part in voice.split("+"):
                match = _MIX_PART.match(part)
                if match is None or match.group(1) not in self.voices:
                    part_of = f"mix part {part.strip()!r} of {voice!r}"
                    return f"{part_of} is not a voice of {self.model}; choose from: {choices(self.voices)}"
            return None
        if self.any_voice:
            return None
        return f"{voice!r} is not a voice of {self.model}; choose one of: {choices(self.voices)}"

    def rate_problem(self, rate_hz: int) -> str | None:
        """Why ``rate_hz`` is not a rate this model answers at, or None."""
        if rate_hz in self.sample_rates_hz:
            return None
        return f"{rate_hz} Hz is not a rate {self.model} answers at; choose one of: {choices(self.sample_rates_hz)}"


def tts_entry(model: str, voices: Sequence[str]) -> TtsEntry:
    """A speech model as a server lists it, completed by the client's model rules."""
    listed = tuple(voices)
    default = DEFAULT_VOICES.get(model)
    lowered = model.lower()
    return TtsEntry(
        model=model,
        voices=listed,
        default_voice=default if default in listed else (listed[0] if listed else None),
        native_rate_hz=native_sample_rate_hz(model),
        sample_rates_hz=sample_rates_hz(model),
        any_voice=lowered.startswith(ANY_VOICE_PREFIXES),
        voice_mixes=lowered.startswith(VOICE_MIX_PREFIXES),
    )


@dataclass(frozen=True)
class Catalog:
    """What one server offers; ``None`` parts were not listed by it (nothing is checked against them)."""

    source: str  # "the embedded local server" or the server's URL, for messages
    tts: Mapping[str, TtsEntry] | None = None
    stt: tuple[str, ...] | None = None
    languages: tuple[str, ...] | None = field(default=None)  # speech languages; None: any well-formed code

    def tts_problems(self, model: str, voice: str, rate_hz: int | None, language: str | None) -> list[Problem]:
        """What is wrong with speaking in ``model`` with ``voice`` at ``rate_hz`` in ``language``: (column, reason)."""
        problems: list[Problem] = []
        if self.tts is not None:
            entry = self.tts.get(model)
            if entry is None:
                served = f"is not a text-to-speech model {self.source} serves; choose one of: {choices(list(self.tts))}"
                return [("model", f"{model!r} {served}")]
            if (reason := entry.voice_problem(voice)) is not None:
                problems.append(("voice", reason))
            if rate_hz is not None and (reason := entry.rate_problem(rate_hz)) is not None:
                problems.append(("sample_rate", reason))
        if language is not None and (reason := self.language_problem(language)) is not None:
            problems.append(("language", reason))
        return problems

    def language_problem(self, language: str) -> str | None:
        """Why ``language`` is not one speech may be asked in here, or None."""
        match = _LANGUAGE.match(language.strip().lower())
        if match is None:
            return f"{language!r} is not a language code (e.g. en, de, fr, or a locale such as zh-hk)"
        if self.languages is None or match.group(1) in self.languages:
            return None
        return f"{language!r} is not a language {self.source} speaks; choose one of: {choices(self.languages)}"

    def stt_problem(self, model: str) -> str | None:
        """Why ``model`` is not a speech-to-text model served here, or None."""
        if self.stt is None or model in self.stt:
            return None
        return f"{model!r} is not a speech-to-text model {self.source} serves; choose one of: {choices(self.stt)}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (the disk copy, ``voxbatch voices --format json``)."""
        return {
            "source": self.source,
            "tts": None
            if self.tts is None
            else {
                m: {
                    "voices": list(e.voices),
                    "default_voice": e.default_voice,
                    "native_sample_rate_hz": e.native_rate_hz,
                    "sample_rates_hz": list(e.sample_rates_hz),
                    "any_voice": e.any_voice,
                    "voice_mixes": e.voice_mixes,
                }
                for m, e in self.tts.items()
            },
            "stt": None if self.stt is None else list(self.stt),
            "languages": None if self.languages is None else list(self.languages),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Catalog:
        """The catalog :meth:`to_json` wrote; raises KeyError, TypeError or ValueError on anything else."""
        tts = data["tts"]
        entries = None
        if tts is not None:
            entries = {
                str(m): TtsEntry(
                    model=str(m),
                    voices=tuple(str(v) for v in e["voices"]),
                    default_voice=None if e["default_voice"] is None else str(e["default_voice"]),
                    native_rate_hz=int(e["native_sample_rate_hz"]),
                    sample_rates_hz=tuple(int(r) for r in e["sample_rates_hz"]),
                    any_voice=bool(e["any_voice"]),
                    voice_mixes=bool(e["voice_mixes"]),
                )
                for m, e in tts.items()
            }
        stt, languages = data["stt"], data["languages"]
        return cls(
            source=str(data["source"]),
            tts=None if entries is None else MappingProxyType(entries),
            stt=None if stt is None else tuple(str(m) for m in stt),
            languages=None if languages is None else tuple(str(c) for c in languages),
        )


def listed_catalog(
    source: str, voices: Mapping[str, Sequence[str]] | None, models: Sequence[ListedModel] | None
) -> Catalog:
    """The catalog of a server that answered ``GET /v1/voices`` (``voices``) and ``GET /v1/models`` (``models``).

    Speech-to-text models are those the model list types as transcription; a list that types none (an
    OpenAI-style server's) says nothing about them."""
    tts = None if voices is None else MappingProxyType({m: tts_entry(m, v) for m, v in voices.items()})
    stt = tuple(m.id for m in models or () if (m.type or "").lower() in STT_MODEL_TYPES)
    return Catalog(source=source, tts=tts, stt=stt or None)


def embedded_catalog() -> Catalog:
    """The embedded local server's own catalog, read in-process (no server is started)."""
    from voxbatch.server.catalog import STT_MODELS, TTS_MODELS
    from voxbatch.server.synthesis import ESPEAK_LANGUAGE

    tts = {
        m.model_id: TtsEntry(
            model=m.model_id,
            voices=m.voices,
            default_voice=m.default_voice,
            native_rate_hz=m.default_sample_rate_hz,
            sample_rates_hz=sample_rates_hz(m.model_id),
            any_voice=m.any_voice,
            voice_mixes=m.allows_voice_mixes,
        )
        for m in TTS_MODELS.values()
    }
    return Catalog(EMBEDDED_SOURCE, MappingProxyType(tts), tuple(STT_MODELS), tuple(ESPEAK_LANGUAGE))
