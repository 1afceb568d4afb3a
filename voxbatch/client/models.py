"""What each provider model really answers with, whatever was asked (from Together's documentation).

Orpheus and Kokoro always speak 24 kHz 16-bit PCM; MiniMax always 16-bit PCM but at the asked rate;
the others honour ``sample_rate`` (default 44.1 kHz) and ``response_encoding`` (default f32).
OpenAI-style servers answer ``pcm`` as 24 kHz 16-bit PCM.

Which rate a model speaks best at (:func:`native_sample_rate_hz`, what a book is asked for unless told) and
which rates it may be asked for (:func:`sample_rates_hz`) follow from the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from voxbatch.client.options import Provider

FIXED_24K_HZ = 24000
TOGETHER_DEFAULT_RATE_HZ = 44100
OPENAI_PCM_RATE_HZ = 24000
WEBSOCKET_RATE_HZ = 24000
_FIXED_RATE_PREFIXES = ("canopylabs/orpheus", "hexgrad/kokoro")
_FIXED_S16_PREFIXES = (*_FIXED_RATE_PREFIXES, "minimax/")
# Models documented to honour sample_rate (Together's default for them: 44.1 kHz; Cartesia's own is 44.1 kHz).
_RATE_HONOURING_PREFIXES = ("cartesia/", "rime-labs/", "deepgram/", "minimax/")
# The rates a rate-honouring model may be asked for (Together lists none; these are the usual PCM rates).
STANDARD_SAMPLE_RATES_HZ = (8000, 16000, 22050, 24000, 44100, 48000)
UNKNOWN_MODEL_RATE_HZ = 24000  # what every book was asked for before rates followed the model (safe everywhere)


@dataclass(frozen=True)
class PcmFormat:
    """Sample rate and encoding of raw PCM audio."""

    sample_rate_hz: int
    encoding: str  # pcm_s16le, pcm_f32le, pcm_mulaw, pcm_alaw


def answered_pcm_format(provider: Provider, model: str, sample_rate_hz: int | None, encoding: str) -> PcmFormat:
    """The PCM format a raw answer will be in for ``model`` when ``sample_rate_hz``/``encoding`` are asked."""
    if provider == "openai":
        return PcmFormat(OPENAI_PCM_RATE_HZ, "pcm_s16le")
    lowered = model.lower()
    rate = FIXED_24K_HZ if lowered.startswith(_FIXED_RATE_PREFIXES) else (sample_rate_hz or TOGETHER_DEFAULT_RATE_HZ)
    return PcmFormat(rate, "pcm_s16le" if lowered.startswith(_FIXED_S16_PREFIXES) else encoding)


def native_sample_rate_hz(model: str) -> int:
    """The rate ``model`` speaks at when none is asked, so a book in it is neither up- nor down-sampled.

    24 kHz for Orpheus and Kokoro (fixed), 44.1 kHz for the models that honour ``sample_rate`` (Cartesia,
    Rime, Deepgram, MiniMax), and 24 kHz for any other model (a compatible server's own, which may ignore the
    asked rate: 24 kHz is what OpenAI-style servers answer).
    """
    lowered = model.lower()
    if lowered.startswith(_FIXED_RATE_PREFIXES):
        return FIXED_24K_HZ
    if lowered.startswith(_RATE_HONOURING_PREFIXES):
        return TOGETHER_DEFAULT_RATE_HZ
    return UNKNOWN_MODEL_RATE_HZ


def sample_rates_hz(model: str) -> tuple[int, ...]:
    """The rates ``model`` answers at when asked: its one fixed rate, or the usual PCM rates."""
    return (FIXED_24K_HZ,) if model.lower().startswith(_FIXED_RATE_PREFIXES) else STANDARD_SAMPLE_RATES_HZ
