"""What each provider model really answers with, whatever was asked (from Together's documentation).

Orpheus and Kokoro always speak 24 kHz 16-bit PCM; MiniMax always 16-bit PCM but at the asked rate;
the others honour ``sample_rate`` (default 44.1 kHz) and ``response_encoding`` (default f32).
OpenAI-style servers answer ``pcm`` as 24 kHz 16-bit PCM.
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
