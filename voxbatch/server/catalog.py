"""The models and voices the local server offers, and which espeak-ng voice stands in for each.

Model ids, voice names and output rules follow Together's documentation (see
``together-audio-api.md`` sections 1, 4 and 6). Every voice maps to a distinct
(language, variant, pitch, rate) so that voices of one model are audibly different.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from voxbatch.defaults import DEFAULT_VOICES
from voxbatch.engines.espeak import EspeakVoice

FIXED_24K_HZ = 24000
DEFAULT_SAMPLE_RATE_HZ = 44100  # OAS default for models that honour sample_rate

ORPHEUS = "canopylabs/orpheus-3b-0.1-ft"
KOKORO = "hexgrad/Kokoro-82M"
WHISPER = "openai/whisper-large-v3"

# Only espeak-ng's Klatt-synthesizer variants: pocketsphinx recovers about twice as many of their words
# (0.5-0.7 of a sentence's words against 0.1-0.4 for the default formant voices), which keeps the
# server's own speech-to-text round trip meaningful. Pitch ranges separate the two groups.
_FEMALE_VARIANTS = ("klatt3", "announcer", "mike2", "klatt4", "klatt", "caleb", "Reed", "edward")
_MALE_VARIANTS = ("edward", "benjamin", "edward2", "klatt4", "klatt5", "klatt6", "announcer", "klatt", "adam")
_NEUTRAL_VARIANTS = ("klatt4", "edward", "announcer", "mike2", "benjamin", "klatt3", "edward2", "klatt")
_PITCH_BASE = {"f": 70, "m": 30, "n": 50}  # espeak pitch 0..100
_PITCH_SPREAD = 20

# Kokoro voice ids start with a language letter and a gender letter (af_ = American female, ...).
_KOKORO_LANGUAGE = {
    "a": "en-us",
    "b": "en-gb-x-rp",
    "j": "ja",
    "z": "cmn",
    "e": "es",
    "f": "fr-fr",
    "h": "hi",
    "i": "it",
    "p": "pt-br",
}

KOKORO_VOICES = (
    "af_heart af_alloy af_aoede af_bella af_jessica af_kore af_nicole af_nova af_river "
    "af_sarah af_sky am_adam am_echo am_eric am_fenrir am_liam am_michael am_onyx am_puck "
    "am_santa bf_alice bf_emma bf_isabella bf_lily bm_daniel bm_fable bm_george bm_lewis "
    "jf_alpha jf_gongitsune jf_nezumi jf_tebukuro jm_kumo zf_xiaobei zf_xiaoni zf_xiaoxiao "
    "zf_xiaoyi zm_yunjian zm_yunxi zm_yunxia zm_yunyang ef_dora em_alex em_santa ff_siwis "
    "hf_alpha hf_beta hm_omega hm_psi if_sara im_nicola pf_dora pm_alex pm_santa"
).split()
ORPHEUS_VOICES = {
    "tara": "f",
    "leah": "f",
    "jess": "f",
    "leo": "m",
    "dan": "m",
    "mia": "f",
    "zac": "m",
    "zoe": "f",
}
CARTESIA_EXAMPLE_VOICES = (
    "friendly sidekick",
    "laidback woman",
    "reading lady",
    "newsman",
    "calm lady",
    "helpful woman",
    "british reading lady",
    "sportsman",
    "storyteller lady",
    "kentucky man",
)
RIME_MIST_VOICES = ("cove lagoon mari moon moraine peak summit talon thunder tundra wildflower").split()
RIME_ARCANA_VOICES = (
    "albion arcade astra atrium bond cupola eliphas estelle eucalyptus fern lintel luna lyra "
    "marlu masonry moss oculus parapet pilaster sirius stucco transom truss vashti vespera "
    "walnut"
).split()
# Deepgram Aura-2 English voices; Together's docs list none, so any voice id is also accepted.
DEEPGRAM_AURA_VOICES = (
    "thalia andromeda helena apollo arcas aries asteria athena atlas aurora callista cora "
    "delia draco electra harmonia hera hermes hyperion iris janus juno luna orion orpheus zeus"
).split()
MINIMAX_26_VOICES = (
    "English_DeterminedMan English_Diligent_Man English_expressive_narrator "
    "English_FriendlyNeighbor English_Graceful_Lady Japanese_GentleButler"
).split()
MINIMAX_28_VOICES = (
    "English_CalmWoman English_CaptivatingStoryteller English_CharmingQueen English_Comedian "
    "English_ConfidentWoman English_Cute_Girl"
).split()


@dataclass(frozen=True)
class TtsModel:
    """A text-to-speech model: its voices and the output rules the real service applies."""

    model_id: str
    voices: tuple[str, ...]
    fixed_sample_rate_hz: int | None = None  # Orpheus and Kokoro always answer at 24 kHz
    fixed_s16le: bool = False  # Orpheus, Kokoro and MiniMax ignore response_encoding
    any_voice: bool = False  # Cartesia takes voice ids we cannot enumerate
    allows_voice_mixes: bool = False  # Kokoro: "af_bella(2)+af_heart(1)"
    usd_per_million_chars: float | None = None
    extra_formats: tuple[str, ...] = ()  # MiniMax also encodes opus, aac, flac
    default_voice: str = ""  # voxbatch.defaults.DEFAULT_VOICES: what a book or a session gets when none is named
    espeak: dict[str, EspeakVoice] = field(default_factory=dict, compare=False, repr=False)

    @property
    def default_sample_rate_hz(self) -> int:
        return self.fixed_sample_rate_hz or DEFAULT_SAMPLE_RATE_HZ


@dataclass(frozen=True)
class SttModel:
    """A speech-to-text model."""

    model_id: str
    translates: bool = True
    diarizes: bool = True
    usd_per_audio_minute: float | None = None


def _gender_of(model_id: str, voice: str) -> str:
    if model_id == KOKORO:
        return voice[1]
    if model_id == ORPHEUS:
        return ORPHEUS_VOICES[voice]
    lowered = voice.lower()
    if re.search(r"woman|lady|girl|queen|female", lowered):
        return "f"
    if re.search(r"(^|_)man|\bman\b|sportsman|newsman|butler|male|comedian|neighbor", lowered):
        return "m"
    return "n"


def _language_of(model_id: str, voice: str) -> str:
    if model_id == KOKORO:
        return _KOKORO_LANGUAGE[voice[0]]
    if voice.startswith("Japanese_"):
        return "ja"
    if voice.startswith("british"):
        return "en-gb-x-rp"
    return "en-us"


def _espeak_voices(model_id: str, voices: tuple[str, ...]) -> dict[str, EspeakVoice]:
    """Assign each voice a distinct espeak-ng voice; stable for a given voice list."""
    out: dict[str, EspeakVoice] = {}
    for index, voice in enumerate(voices):
        gender = _gender_of(model_id, voice)
        pool = {"f": _FEMALE_VARIANTS, "m": _MALE_VARIANTS}.get(gender, _NEUTRAL_VARIANTS)
        # Walk variants first, then pitch and rate, so no two voices of a model share all four.
        out[voice] = EspeakVoice(
            language=_language_of(model_id, voice),
            variant=pool[index % len(pool)],
            pitch=_PITCH_BASE[gender] + (index * 7) % _PITCH_SPREAD,
            rate_wpm=155 + (index * 11) % 40,
        )
    return out


def _hashed_voice(voice: str) -> EspeakVoice:
    """A stable espeak voice for an arbitrary voice id (Cartesia ids are UUIDs)."""
    digest = hashlib.sha256(voice.encode()).digest()
    gender = _gender_of("cartesia", voice)
    pool = {"f": _FEMALE_VARIANTS, "m": _MALE_VARIANTS}.get(gender, _NEUTRAL_VARIANTS)
    return EspeakVoice(
        language=_language_of("cartesia", voice),
        variant=pool[digest[0] % len(pool)],
        pitch=_PITCH_BASE[gender] + digest[1] % _PITCH_SPREAD,
        rate_wpm=155 + digest[2] % 40,
    )


def _tts(model_id: str, voices: tuple[str, ...] | list[str], **kwargs: object) -> TtsModel:
    voices = tuple(voices)
    return TtsModel(
        model_id=model_id,
        voices=voices,
        default_voice=DEFAULT_VOICES[model_id],
        espeak=_espeak_voices(model_id, voices),
        **kwargs,  # type: ignore[arg-type]
    )


TTS_MODELS: dict[str, TtsModel] = {
    m.model_id: m
    for m in (
        _tts(
            ORPHEUS,
            tuple(ORPHEUS_VOICES),
            fixed_sample_rate_hz=FIXED_24K_HZ,
            fixed_s16le=True,
            usd_per_million_chars=15.0,
        ),
        _tts(
            KOKORO,
            KOKORO_VOICES,
            fixed_sample_rate_hz=FIXED_24K_HZ,
            fixed_s16le=True,
            allows_voice_mixes=True,
            usd_per_million_chars=4.0,
        ),
        _tts("cartesia/sonic-2", CARTESIA_EXAMPLE_VOICES, any_voice=True, usd_per_million_chars=65.0),
        _tts("cartesia/sonic-3", CARTESIA_EXAMPLE_VOICES, any_voice=True),
        _tts("cartesia/sonic", CARTESIA_EXAMPLE_VOICES, any_voice=True),
        _tts("cartesia/sonic-english", CARTESIA_EXAMPLE_VOICES, any_voice=True),
        _tts("rime-labs/rime-mist-v2", RIME_MIST_VOICES),
        _tts("rime-labs/rime-mist-v3", RIME_MIST_VOICES),
        _tts("rime-labs/rime-arcana-v2", RIME_ARCANA_VOICES),
        _tts("rime-labs/rime-arcana-v3", RIME_ARCANA_VOICES),
        _tts("rime-labs/rime-arcana-v3-turbo", RIME_ARCANA_VOICES),
        _tts("deepgram/deepgram-aura-2", DEEPGRAM_AURA_VOICES, any_voice=True),
        _tts(
            "minimax/speech-2.6-turbo",
            MINIMAX_26_VOICES,
            fixed_s16le=True,
            extra_formats=("opus", "aac", "flac"),
        ),
        _tts(
            "minimax/speech-2.8-turbo",
            MINIMAX_28_VOICES,
            fixed_s16le=True,
            extra_formats=("opus", "aac", "flac"),
        ),
    )
}

STT_MODELS: dict[str, SttModel] = {
    m.model_id: m
    for m in (
        SttModel(WHISPER, usd_per_audio_minute=0.0015),
        SttModel("nvidia/parakeet-tdt-0.6b-v3", translates=False),
    )
}

_MIX_PART = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(?:\(\s*(\d+(?:\.\d+)?)\s*\))?\s*$")


class UnknownVoiceError(ValueError):
    """The voice is not one of the model's voices (message says which are)."""


def resolve_voice(model: TtsModel, voice: str) -> EspeakVoice:
    """The espeak voice that speaks ``voice`` for ``model``; raises UnknownVoiceError."""
    if not voice or not voice.strip():
        raise UnknownVoiceError("voice must not be empty")
    if voice in model.espeak:
        return model.espeak[voice]
    if model.allows_voice_mixes and "+" in voice:
        # A mix speaks with its heaviest part (first on ties): the emulator cannot blend voices.
        parts: list[tuple[float, str]] = []
        for part in voice.split("+"):
            match = _MIX_PART.match(part)
            if not match or match.group(1) not in model.espeak:
                raise UnknownVoiceError(f"invalid voice mix part {part.strip()!r} in {voice!r}")
            parts.append((float(match.group(2) or 1), match.group(1)))
        best = max(parts, key=lambda p: p[0])
        return model.espeak[best[1]]
    if model.any_voice:
        return _hashed_voice(voice)
    sample = ", ".join(model.voices[:8])
    raise UnknownVoiceError(f"voice {voice!r} is not available for model {model.model_id} (e.g. {sample})")
