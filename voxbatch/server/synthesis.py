"""Turning one validated speech request into audio: espeak-ng, then rate and encoding rules per model.

Shared by the REST, SSE and WebSocket endpoints, so all three speak identically.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from voxbatch.audio import ffmpeg, pcm
from voxbatch.audio.pcm import PcmEncoding
from voxbatch.engines.espeak import EspeakVoice, Synthesis, WordTiming, default_engine
from voxbatch.server.catalog import TtsModel

# Together's language enum (OAS) mapped to espeak-ng voices; locales fall back to their language.
ESPEAK_LANGUAGE = {
    "en": "en-us",
    "de": "de",
    "fr": "fr-fr",
    "es": "es",
    "hi": "hi",
    "it": "it",
    "ja": "ja",
    "ko": "ko",
    "nl": "nl",
    "pl": "pl",
    "pt": "pt-br",
    "ru": "ru",
    "sv": "sv",
    "tr": "tr",
    "zh": "cmn",
}
MIN_SAMPLE_RATE_HZ = 8000
MAX_SAMPLE_RATE_HZ = 48000
MP3_BIT_RATES_BPS = (32000, 64000, 96000, 128000, 192000)
DEFAULT_MP3_BIT_RATE_BPS = 128000

CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "raw": "application/octet-stream",
    "pcm": "application/octet-stream",
    "mulaw": "application/octet-stream",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
}
_FFMPEG_CODECS = {
    "opus": ["-c:a", "libopus", "-f", "ogg"],
    "aac": ["-c:a", "aac", "-f", "adts"],
    "flac": ["-c:a", "flac", "-f", "flac"],
}
_TERMINALS = (".", "!", "?", "。", "！", "？", ";")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？;])[\"')\]]*\s+")


def espeak_language(language: str) -> str | None:
    """The espeak voice for a Together language code or lowercase locale (``zh-hk``), or None."""
    code = language.strip().lower()
    return ESPEAK_LANGUAGE.get(code) or ESPEAK_LANGUAGE.get(code.split("-")[0])


def complete_sentences_end(text: str) -> int:
    """Where the complete sentences of ``text`` end (0: none yet; ``len(text)``: all of it)."""
    if text.rstrip().rstrip("\"')]").endswith(_TERMINALS):
        return len(text)
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return ends[-1] if ends else 0


def split_sentences(text: str) -> list[str]:
    """Sentence-sized pieces of ``text`` (what ``segment=sentence`` streams one at a time)."""
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text)) if s]


@dataclass(frozen=True)
class Rendering:
    """Synthesized speech at the rate and encoding the model answers with."""

    pcm: npt.NDArray[np.int16]
    sample_rate_hz: int
    encoding: PcmEncoding
    words: tuple[WordTiming, ...]

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / self.sample_rate_hz


def output_rules(model: TtsModel, sample_rate_hz: int | None, encoding: str | None) -> tuple[int, PcmEncoding]:
    """The sample rate and raw encoding ``model`` really answers with, given what was asked."""
    rate = model.fixed_sample_rate_hz or sample_rate_hz or model.default_sample_rate_hz
    enc: PcmEncoding = "pcm_s16le" if model.fixed_s16le else (encoding or "pcm_f32le")  # type: ignore[assignment]
    return rate, enc


def speak(
    text: str,
    voice: EspeakVoice,
    *,
    speed: float = 1.0,
    language: str | None = None,
    cancel: threading.Event | None = None,
) -> Synthesis:
    """Run espeak-ng (blocking; call it off the event loop). Setting ``cancel`` stops it: SynthesisCancelled."""
    if language is not None:
        voice = replace(voice, language=language)
    if speed != 1.0:
        voice = replace(voice, rate_wpm=int(min(450, max(80, voice.rate_wpm * speed))))
    return default_engine().synthesize(text, voice, should_stop=cancel.is_set if cancel is not None else None)


def render(synth: Synthesis, sample_rate_hz: int, encoding: PcmEncoding) -> Rendering:
    """Resample a synthesis to the answer's rate."""
    audio = pcm.resample(synth.pcm, synth.sample_rate_hz, sample_rate_hz)
    return Rendering(audio, sample_rate_hz, encoding, synth.words)


def encode_body(rendering: Rendering, response_format: str, bit_rate_bps: int | None = None) -> bytes:
    """The response body for a non-streaming answer in ``response_format``."""
    if response_format == "wav":
        return pcm.to_wav(rendering.pcm, rendering.sample_rate_hz)
    if response_format in ("raw", "pcm"):
        return pcm.encode(rendering.pcm, rendering.encoding)
    if response_format == "mulaw":
        return pcm.encode(rendering.pcm, "pcm_mulaw")
    if response_format == "mp3":
        bit_rate = bit_rate_bps or DEFAULT_MP3_BIT_RATE_BPS
        return ffmpeg.encode_pcm(
            rendering.pcm,
            rendering.sample_rate_hz,
            ["-c:a", "libmp3lame", "-b:a", str(bit_rate), "-f", "mp3"],
        )
    if response_format in _FFMPEG_CODECS:
        return ffmpeg.encode_pcm(rendering.pcm, rendering.sample_rate_hz, _FFMPEG_CODECS[response_format])
    raise ValueError(f"unsupported response_format {response_format!r}")


def chunk_samples(sample_rate_hz: int, chunk_s: float) -> int:
    """Samples per streamed delta."""
    return max(1, int(sample_rate_hz * chunk_s))
