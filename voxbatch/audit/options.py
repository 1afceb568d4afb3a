"""Whether a run hears its chunks back, and with what: ``--audit`` (``voxbatch tts``) and the flow's ``audit``.

One value says it all::

    off        no hearing; every chunk's duration is still checked against its text (free)
    on         every chunk is transcribed by the run's own endpoint with its speech-to-text model
               (openai/whisper-large-v3; paid like any transcription, and priced by the dry run)
    free       every chunk is heard on this machine by the embedded recognizer (pocketsphinx): no calls, no cost,
               about half a CPU second per second of speech
    MODEL      like ``on``, with this speech-to-text model of the endpoint (e.g. nvidia/parakeet-tdt-0.6b-v3)

A chunk found bad (far too short, or too little of it heard) is synthesized again: once when only its duration is
checked, up to ``max_repeats`` times when it is heard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from voxbatch.defaults import DEFAULT_STT_MODEL

AuditMode = Literal["off", "on", "free"]
AUDIT_MODES: tuple[str, ...] = get_args(AuditMode)
SHORT_REPEATS = 1  # without hearing: a chunk far too short is asked for once more
HEARD_REPEATS = 2  # with hearing: a bad chunk is asked for at most this many more times
FREE_RECOGNIZER = "embedded-pocketsphinx"  # what hears chunks in a free audit (cached with what it heard)

__all__ = ["AUDIT_MODES", "NO_AUDIT", "AuditError", "AuditMode", "AuditOptions", "parse_audit"]


class AuditError(ValueError):
    """The audit setting cannot be read."""


@dataclass(frozen=True)
class AuditOptions:
    """How a book's chunks are checked.

    Example::

        AuditOptions("free")  # heard on this machine, free
        parse_audit("on")  # heard by the endpoint's openai/whisper-large-v3, paid
    """

    mode: AuditMode = "off"
    model: str = DEFAULT_STT_MODEL  # the speech-to-text model that hears the chunks when mode is "on"
    max_repeats: int = HEARD_REPEATS  # syntheses of a bad chunk after its first, when it is heard

    def __post_init__(self) -> None:
        if self.mode not in AUDIT_MODES:
            raise AuditError(
                f"audit must be one of {', '.join(AUDIT_MODES)} or a speech-to-text model, not {self.mode!r}"
            )
        if self.max_repeats < 0:
            raise AuditError(f"max_repeats must not be negative, not {self.max_repeats}")
        if not self.model.strip():
            raise AuditError("the audit's speech-to-text model must not be empty")

    @property
    def hearing(self) -> bool:
        """Whether chunks are heard back (else only their durations are checked)."""
        return self.mode != "off"

    @property
    def repeats(self) -> int:
        """How many more times a bad chunk is synthesized."""
        return self.max_repeats if self.hearing else SHORT_REPEATS

    @property
    def recognizer(self) -> str | None:
        """What hears the chunks (cached with what it heard, so a rerun hears nothing twice); None when nothing."""
        if self.mode == "off":
            return None
        return FREE_RECOGNIZER if self.mode == "free" else self.model

    def describe(self) -> str:
        """As ``--audit`` takes it (``off``, ``free``, ``on``, or the model)."""
        if self.mode == "on" and self.model != DEFAULT_STT_MODEL:
            return self.model
        return self.mode


NO_AUDIT = AuditOptions()  # durations checked, nothing heard: the default


def parse_audit(text: str | None) -> AuditOptions:
    """``off`` (or empty), ``on``, ``free`` or a speech-to-text model name (an ``on`` audit with that model)."""
    value = (text or "off").strip()
    if value.lower() in AUDIT_MODES:
        return AuditOptions(value.lower())  # type: ignore[arg-type]
    if not value or any(ch.isspace() for ch in value):
        raise AuditError(f"audit must be off, on, free or a speech-to-text model name, not {text!r}")
    return AuditOptions("on", model=value)
