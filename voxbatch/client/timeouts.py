"""How long one attempt may take: a floor plus an allowance per unit of work, or the user's override.

A fixed timeout cannot fit both a ten-character greeting and a ten-minute recording: at a fixed 60 s the
embedded recognizer (about 0.5 CPU-s per second of speech) timed out on every chunk with more than ~2 min
of speech, and each retry started the whole decode again. So each attempt gets

    ``floor_s + units * s_per_unit``     (characters for speech, audio seconds for transcription)

as its total time (first byte to last), and as its longest silence between two bytes, since a
non-streamed answer is silent until it is done. ``override_s`` (``--timeout-s``) replaces the rule.

The embedded server decodes on this machine's CPU, which the run itself (and whatever else the machine
does) shares, so its transcriptions get a larger allowance per audio second (:meth:`on_embedded_server`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

FLOOR_S = 60.0  # every attempt gets this, however small: connection, queueing, a cold model
# Speech: about 15 characters per second of audio, generated at up to 0.75x real time.
SPEECH_S_PER_CHAR = 0.05
# Transcription at a provider: minutes of audio take seconds on its GPUs; this is ample.
TRANSCRIPTION_S_PER_AUDIO_S = 1.0
# Transcription on the embedded server: twelve times its recognizer's 0.5 CPU-s per second of speech.
# Measured: 10 minutes of continuous speech on a 2-core machine at load 10-11 took up to 4.1 s per audio
# second (a 44-s chunk: 180 s); a hung embedded server is not a risk worth a tighter bound.
EMBEDDED_TRANSCRIPTION_S_PER_AUDIO_S = 6.0
# An upload whose length our ffmpeg could not probe: the provider may still decode it; allow this much.
UNKNOWN_AUDIO_TIMEOUT_S = 600.0


def _check_positive(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value}")


@dataclass(frozen=True)
class CallTimeouts:
    """The per-attempt timeout rule.

    Example::

        CallTimeouts().for_work(600.0, "audio_s")   # 660.0: a 10-minute chunk
        CallTimeouts(override_s=90).for_work(600.0, "audio_s")   # 90.0: the user said so
    """

    floor_s: float = FLOOR_S
    s_per_char: float = SPEECH_S_PER_CHAR
    s_per_audio_s: float = TRANSCRIPTION_S_PER_AUDIO_S
    unknown_audio_s: float = UNKNOWN_AUDIO_TIMEOUT_S
    override_s: float | None = None  # --timeout-s: every attempt gets exactly this

    def __post_init__(self) -> None:
        _check_positive("floor_s", self.floor_s)
        _check_positive("unknown_audio_s", self.unknown_audio_s)
        for name in ("s_per_char", "s_per_audio_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value}")
        if self.override_s is not None:
            _check_positive("the timeout (--timeout-s)", self.override_s)

    def on_embedded_server(self) -> CallTimeouts:
        """The rule for the embedded server: its recognizer is far slower than a provider's."""
        return replace(self, s_per_audio_s=max(self.s_per_audio_s, EMBEDDED_TRANSCRIPTION_S_PER_AUDIO_S))

    def for_work(self, units: float, unit: str) -> float:
        """Seconds one attempt may take for ``units`` of work (``chars`` or ``audio_s``; 0 for none)."""
        if self.override_s is not None:
            return self.override_s
        if unit == "audio_s":
            if units <= 0:  # duration unknown: the upload could not be probed
                return max(self.floor_s, self.unknown_audio_s)
            return self.floor_s + units * self.s_per_audio_s
        return self.floor_s + max(0.0, units) * self.s_per_char

    def describe(self, units: float, unit: str) -> str:
        """Why an attempt got the time it got, for timeout messages."""
        seconds = self.for_work(units, unit)
        if self.override_s is not None:
            return f"{seconds:g} s (set by --timeout-s)"
        if unit == "audio_s":
            work = f"{units:g} s of audio" if units > 0 else "audio of unknown length"
        else:
            work = f"{units:g} characters"
        return f"{seconds:g} s (the allowance for {work}; raise it with --timeout-s)"
