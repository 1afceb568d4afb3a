"""Offline speech synthesis with espeak-ng 1.52 (the libespeak-ng shipped by the espeakng-loader wheel).

Owns: loading the library through ctypes, its single lazy initialisation, the process-wide lock that
serialises every call into it (the library is one big bundle of global state), resolving a voice
(language + variant) to an espeak voice file, and turning the library's callback stream (PCM blocks
plus word events) into a :class:`Synthesis` with per-word timings.

Determinism: espeak-ng carries synthesis state from one call to the next in its static variables (the
command queue, the Klatt synthesizer's filters and fades, a "wave file playing" flag, echo, envelopes,
two random generators), so the same input could give different audio - even a different length -
depending on what was spoken, or cancelled, before. Before every call ALL of that state is put back
to its post-initialisation values (see :mod:`voxbatch.engines.espeak_state`), and only then is the
voice selected, so a result is a pure function of (text, voice): identical whatever ran before it,
sequentially, from many threads, or stopped part way.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voxbatch.engines.espeak_state import SynthStateReset
from voxbatch.engines.espeak_words import WordTiming, word_timings

logger = logging.getLogger(__name__)

# espeak-ng 1.52 always synthesises at this rate; checked against espeak_Initialize's return at first use
# (a module constant cannot be read from the library without initialising it at import time).
ESPEAK_SAMPLE_RATE_HZ: int = 22050

BUFFER_MS = 200  # PCM delivered to the callback in blocks of about this length
RATE_MIN_WPM = 80  # espeakRATE_MINIMUM
RATE_MAX_WPM = 450  # espeakRATE_MAXIMUM; above this espeak switches to sonic time-stretching

# speak_lib.h constants (espeak-ng 1.52).
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # like RETRIEVAL, but espeak_Synth returns only when synthesis is done
_INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of calling exit() when the data is missing
_CHARS_UTF8 = 1  # espeakSSML (0x10) and espeakPHONEMES (0x100) are deliberately left off
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_PARAM_RANGE = 4
_EE_OK = 0


class EspeakError(RuntimeError):
    """The espeak-ng library is missing, failed to initialise, rejected a voice or failed to synthesise."""


class SynthesisCancelled(Exception):
    """``synthesize`` was told to stop (its caller left); raised after espeak-ng aborted."""


@dataclass(frozen=True)
class EspeakVoice:
    language: str = "en-us"  # espeak voice/language name, e.g. "en-us", "en-gb-x-rp", "fr-fr", "ja", "cmn"
    variant: str | None = None  # espeak variant from espeak-ng-data/voices/!v, e.g. "f3", "m2", "klatt"
    pitch: int = 50  # 0..100
    pitch_range: int = 50  # 0..100
    rate_wpm: int = 175  # words per minute, 80..450

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 100:
            raise ValueError(f"pitch must be in 0..100, got {self.pitch}")
        if not 0 <= self.pitch_range <= 100:
            raise ValueError(f"pitch_range must be in 0..100, got {self.pitch_range}")
        if not RATE_MIN_WPM <= self.rate_wpm <= RATE_MAX_WPM:
            raise ValueError(f"rate_wpm must be in {RATE_MIN_WPM}..{RATE_MAX_WPM}, got {self.rate_wpm}")


@dataclass(frozen=True)
class Synthesis:
    pcm: npt.NDArray[np.int16]  # mono, dtype "<i2", read-only
    sample_rate_hz: int
    words: tuple[WordTiming, ...]

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / self.sample_rate_hz


# --- ctypes mirrors of speak_lib.h -----------------------------------------------------------------


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _Event(ctypes.Structure):
    # espeak_EVENT. On x86_64: six 4-byte ints (24 bytes), then the 8-byte aligned user_data pointer
    # at offset 24 and the 8-byte union at offset 32: 40 bytes in all.
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, counted in characters (code points), not bytes
        ("length", ctypes.c_int),  # in characters
        ("audio_position", ctypes.c_int),  # ms from the start of the message
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


class _VoiceInfo(ctypes.Structure):
    # espeak_VOICE. `languages` is a run of (priority byte, NUL-terminated name) pairs ended by a 0 byte,
    # so it is read as a raw pointer rather than a c_char_p.
    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


# --- the library -----------------------------------------------------------------------------------


@dataclass
class _Collected:
    chunks: list[bytes] = field(default_factory=list)
    words: list[tuple[int, int, int]] = field(default_factory=list)  # (text_position, length, audio_ms)


class _Library:
    """The initialised libespeak-ng. Every method must be called with ``_LOCK`` held."""

    def __init__(self) -> None:
        try:
            import espeakng_loader

            library_path = Path(espeakng_loader.get_library_path())
            self.data_path = Path(espeakng_loader.get_data_path())
            lib = ctypes.CDLL(str(library_path))
        except (ImportError, OSError, RuntimeError) as exc:
            raise EspeakError(f"cannot load libespeak-ng: {exc}") from exc
        lib.espeak_Initialize.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = (_SynthCallback,)
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = (ctypes.c_void_p,)
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceInfo))
        lib.espeak_ng_SetRandSeed.argtypes = (ctypes.c_long,)
        lib.espeak_ng_SetRandSeed.restype = None
        # text, size, position, position_type, end_position, flags, unique_identifier, user_data
        lib.espeak_Synth.argtypes = (
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        )
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Info.argtypes = (ctypes.c_void_p,)
        lib.espeak_Info.restype = ctypes.c_char_p

        sample_rate_hz = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, BUFFER_MS, str(self.data_path).encode(), _INITIALIZE_DONT_EXIT
        )
        if sample_rate_hz <= 0:
            raise EspeakError(f"espeak_Initialize failed with {sample_rate_hz} (data path {self.data_path})")
        if sample_rate_hz != ESPEAK_SAMPLE_RATE_HZ:
            raise EspeakError(f"libespeak-ng runs at {sample_rate_hz} Hz, expected {ESPEAK_SAMPLE_RATE_HZ} Hz")
        self.sample_rate_hz = sample_rate_hz
        self._lib = lib
        self._collected = _Collected()
        self._should_stop: Callable[[], bool] | None = None
        self.stopped = False
        # Kept on self: the C side holds only a raw pointer, so the thunk must outlive every synthesis.
        self._callback = _SynthCallback(self._on_synth)
        lib.espeak_SetSynthCallback(self._callback)
        self._voice_files = self._index_voices()
        self.variants = frozenset(p.name for p in (self.data_path / "voices" / "!v").iterdir() if p.is_file())
        version = (lib.espeak_Info(None) or b"?").decode("ascii", "replace")
        # Last, once the library is fully set up: every later call starts from the state snapshotted here.
        self._reset_state = SynthStateReset(lib, library_path, version)

    def _index_voices(self) -> dict[str, str]:
        """Lower-cased voice file, language code or voice name -> voice file (e.g. "fr-fr" -> "roa/fr").

        espeak_SetVoiceByName only knows voice file names, so "fr-fr" (a language of roa/fr) would fail.
        Lookup order: full identifier, file name, language code (best priority wins), display name.
        """
        by_identifier: dict[str, str] = {}
        by_file: dict[str, str] = {}
        by_language: dict[str, tuple[int, str]] = {}
        by_name: dict[str, str] = {}
        voices = self._lib.espeak_ListVoices(None)
        index = 0
        while voices[index]:
            info = voices[index].contents
            index += 1
            if info.identifier is None:
                continue
            identifier = info.identifier.decode()
            by_identifier.setdefault(identifier.lower(), identifier)
            by_file.setdefault(identifier.rsplit("/", 1)[-1].lower(), identifier)
            if info.name:
                by_name.setdefault(info.name.decode().lower(), identifier)
            cursor = info.languages
            while cursor and (priority := ctypes.string_at(cursor, 1)[0]) != 0:
                language = ctypes.string_at(cursor + 1)
                best = by_language.get(language.decode().lower())
                if best is None or priority < best[0]:
                    by_language[language.decode().lower()] = (priority, identifier)
                cursor += len(language) + 2
        return {
            **by_name,
            **{code: identifier for code, (_, identifier) in by_language.items()},
            **by_file,
            **by_identifier,
        }

    def _on_synth(self, wav: Any, n_samples: int, events: Any) -> int:
        # Called from inside espeak_Synth on the calling thread; must not raise (ctypes would swallow it).
        if wav and n_samples > 0:
            self._collected.chunks.append(ctypes.string_at(wav, n_samples * 2))
        index = 0
        while events and events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_WORD:
                self._collected.words.append((event.text_position, event.length, event.audio_position))
            index += 1
        if self._should_stop is not None and self._should_stop():
            self.stopped = True
            return 1  # 1 = abort synthesis (its caller left): espeak_Synth returns soon after
        return 0  # 0 = continue synthesis

    def voice_spec(self, voice: EspeakVoice) -> str:
        """The espeak voice name for ``voice`` ("roa/fr+m2"); EspeakError if its language or variant is unknown."""
        identifier = self._voice_files.get(voice.language.lower())
        if identifier is None:
            raise EspeakError(f"unknown espeak language/voice {voice.language!r}")
        if voice.variant is None:
            return identifier
        # espeak silently ignores a variant it cannot find, so check it ourselves.
        if voice.variant not in self.variants:
            raise EspeakError(f"unknown espeak variant {voice.variant!r}")
        return f"{identifier}+{voice.variant}"

    def _select_voice(self, spec: str, voice: EspeakVoice) -> None:
        status = self._lib.espeak_SetVoiceByName(spec.encode())
        if status != _EE_OK:
            raise EspeakError(f"espeak_SetVoiceByName({spec!r}) failed with {status}")
        for parameter, value in (
            (_PARAM_RATE, voice.rate_wpm),
            (_PARAM_PITCH, voice.pitch),
            (_PARAM_RANGE, voice.pitch_range),
        ):
            status = self._lib.espeak_SetParameter(parameter, value, 0)
            if status != _EE_OK:
                raise EspeakError(f"espeak_SetParameter({parameter}, {value}) failed with {status}")

    def synthesize(
        self, text: str, voice: EspeakVoice, should_stop: Callable[[], bool] | None = None
    ) -> tuple[bytes, list[tuple[int, int, int]]]:
        """PCM bytes and (text_position, length, audio_ms) word events for ``text`` spoken by ``voice``.

        ``should_stop`` is asked after every block of audio (``BUFFER_MS``); when it says yes, espeak-ng
        aborts and :class:`SynthesisCancelled` is raised.
        """
        spec = self.voice_spec(voice)  # an unknown voice fails before the library is touched
        self._reset_state()  # first: the voice is then selected on the post-initialisation state
        self._select_voice(spec, voice)
        self._collected = _Collected()
        self._should_stop, self.stopped = should_stop, False
        encoded = text.encode("utf-8") + b"\0"
        try:
            status = self._lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        finally:
            self._should_stop = None
        collected, self._collected = self._collected, _Collected()
        if self.stopped:
            raise SynthesisCancelled("the synthesis was stopped: its caller left")
        if status != _EE_OK:
            raise EspeakError(f"espeak_Synth failed with {status}")
        return b"".join(collected.chunks), collected.words


_LOCK = threading.Lock()  # serialises every call into libespeak-ng, whichever engine instance makes it
_library: _Library | None = None


def _get_library() -> _Library:
    """The initialised library; call with ``_LOCK`` held. Initialises on first use, never at import."""
    global _library
    if _library is None:
        _library = _Library()
    return _library


# --- public engine ---------------------------------------------------------------------------------


class EspeakEngine:
    """Synthesises text with espeak-ng. Thread-safe: all instances share one library behind one lock."""

    def synthesize(
        self, text: str, voice: EspeakVoice = EspeakVoice(), should_stop: Callable[[], bool] | None = None
    ) -> Synthesis:
        """Speak ``text``; ``should_stop`` (asked before and during synthesis) can stop it: SynthesisCancelled."""
        # NUL would end the C string early; a space keeps every character position intact.
        text = text.replace("\0", " ")
        with _LOCK:
            if should_stop is not None and should_stop():  # the caller left while waiting for the library
                raise SynthesisCancelled("the caller left before its synthesis began")
            library = _get_library()
            if text.strip():
                raw, events = library.synthesize(text, voice, should_stop)
            else:
                library.voice_spec(voice)  # validates the voice even when there is nothing to say
                raw, events = b"", []
            sample_rate_hz = library.sample_rate_hz
        pcm = np.frombuffer(raw, dtype="<i2")  # read-only view, as befits a frozen result
        words = word_timings(text, events, pcm, sample_rate_hz)
        return Synthesis(pcm=pcm, sample_rate_hz=sample_rate_hz, words=words)

    def list_variants(self) -> list[str]:
        """Variant names usable as ``EspeakVoice.variant`` (the files in espeak-ng-data/voices/!v)."""
        with _LOCK:
            return sorted(_get_library().variants)


@functools.cache
def default_engine() -> EspeakEngine:
    """The process-wide engine (cheap to create: the library itself is initialised at first synthesis)."""
    return EspeakEngine()
