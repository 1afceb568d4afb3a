"""A cast for full-cast books: speaker tags in the text (``[Alice]``) and the voice each speaker reads with.

The cast file maps speakers to voices, as JSON or CSV (chosen by the file's extension):

* JSON: ``{"Alice": "af_bella", "Bob": {"voice": "am_adam", "model": "hexgrad/Kokoro-82M"}}``;
* CSV: a header with ``speaker`` and ``voice`` and optionally ``model``, one speaker per row.

Names match without regard to case or repeated spaces (``[ALICE]`` is Alice). ``Narrator`` needs no entry: it is
the book's own voice unless the cast gives it another one.

A speaker tag is ``[Name]``: a name of at most :data:`MAX_NAME_CHARS` letters, digits, spaces and ``.'-``, starting
with a letter. A name in the cast is a tag wherever it stands. A name not in the cast is a tag, and so a
:class:`~voxbatch.text.markup.MarkupError` naming it, where a speaker tag is expected: at the start of a paragraph,
after the end of a sentence, or right before a quote; elsewhere (``the word [sic]``) brackets are text. What a
tag gives its speaker is :mod:`voxbatch.text.voicing`'s decision.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from voxbatch.text.dialogue import BRACKET_MARKS, DOUBLE_MARKS, SINGLE_MARKS
from voxbatch.text.markup import TAG_RE, MarkupError, where
from voxbatch.text.side_files import Entry, SideFileKind

MAX_NAME_CHARS = 40
NARRATOR = "narrator"  # the key of the built-in speaker who reads with the book's own voice
MAX_CAST_FILE_BYTES = 1024 * 1024

_NAME_RE = re.compile(rf"[^\W\d_][\w .'\u2019-]{{0,{MAX_NAME_CHARS - 1}}}")
_SENTENCE_END = frozenset(".!?\u2026:;]") | DOUBLE_MARKS | SINGLE_MARKS | frozenset(BRACKET_MARKS.values())
_QUOTE_OPENERS = DOUBLE_MARKS | SINGLE_MARKS | frozenset(BRACKET_MARKS)


class CastError(ValueError):
    """A cast file that cannot be used; the message says why."""


@dataclass(frozen=True)
class CastVoice:
    """How one speaker is read: a voice, and a model when it is not the book's."""

    voice: str
    model: str | None = None


@dataclass(frozen=True)
class Cast:
    """Speakers by key (:func:`speaker_key`), with the names as the cast file spells them."""

    voices: Mapping[str, CastVoice]
    names: Mapping[str, str]

    def voice_for(self, name: str) -> CastVoice | None:
        return self.voices.get(speaker_key(name))

    def listing(self) -> str:
        return ", ".join(sorted(self.names.values())) or "nobody"


@dataclass(frozen=True)
class SpeakerTag:
    """A speaker tag: ``[start, end)`` in the text and the speaker's key."""

    start: int
    end: int
    key: str


def speaker_key(name: str) -> str:
    """How names are compared: case and repeated spaces do not matter."""
    return " ".join(name.split()).casefold()


def _entry(name: Any, value: Any, where_: str) -> tuple[str, CastVoice]:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name.strip()):
        raise CastError(f"{where_}: {name!r} is not a speaker name (letters, digits, spaces and .'- only)")
    if isinstance(value, str):
        value = {"voice": value}
    if not isinstance(value, dict):
        raise CastError(f"{where_}: speaker {name!r} needs a voice (a string, or an object with 'voice')")
    unknown = set(value) - {"voice", "model"}
    if unknown:
        raise CastError(f"{where_}: speaker {name!r} has unknown fields {sorted(unknown)}; only voice and model")
    voice, model = value.get("voice"), value.get("model")
    if not isinstance(voice, str) or not voice.strip():
        raise CastError(f"{where_}: speaker {name!r} has no voice")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise CastError(f"{where_}: speaker {name!r} has an empty model")
    return name.strip(), CastVoice(voice.strip(), model.strip() if model else None)


def _build(entries: list[Entry]) -> Cast:
    voices: dict[str, CastVoice] = {}
    names: dict[str, str] = {}
    for name, voice in (_entry(*entry) for entry in entries):
        key = speaker_key(name)
        if key in voices:
            raise CastError(f"speaker {name!r} is listed twice")
        voices[key], names[key] = voice, name
    if not voices:
        raise CastError("the cast lists no speakers")
    return Cast(voices, names)


CAST_FILE: SideFileKind[Cast] = SideFileKind(
    CastError,
    MAX_CAST_FILE_BYTES,
    key="speaker",
    fields=("voice", "model"),
    label="the cast",
    not_an_object='must be a JSON object of speaker names, e.g. {"Alice": "af_bella"}',
    build=_build,
)
parse_cast_json = CAST_FILE.from_json  # {"speaker": "voice"} or {"speaker": {"voice": ..., "model": ...}}
parse_cast_csv = CAST_FILE.from_csv  # the columns speaker, voice and optionally model
read_cast = CAST_FILE.read  # the cast in a .json or .csv file; every problem is a CastError


def _expects_tag(text: str, start: int, end: int) -> bool:
    """Whether a speaker tag is expected at ``[start, end)``: after a paragraph or sentence, or before a quote."""
    before = start
    while before > 0 and text[before - 1] == " ":
        before -= 1
    if before == 0 or text[before - 1] == "\n" or text[before - 1] in _SENTENCE_END:
        return True
    after = end
    while after < len(text) and text[after] == " ":
        after += 1
    return after < len(text) and text[after] in _QUOTE_OPENERS


def find_speaker_tags(text: str, cast: Cast, skip: Container[int] = ()) -> list[SpeakerTag]:
    """Every speaker tag in ``text``, in order, except those starting at ``skip`` (pause tags); a tag naming
    someone not in the cast raises MarkupError."""
    tags: list[SpeakerTag] = []
    for match in TAG_RE.finditer(text):
        name = match["body"].strip()
        if match.start() in skip or not _NAME_RE.fullmatch(name):
            continue
        key = speaker_key(name)
        if key in cast.voices or key == NARRATOR:
            tags.append(SpeakerTag(match.start(), match.end(), key))
        elif _expects_tag(text, match.start(), match.end()):
            raise MarkupError(
                f"speaker tag [{name}] in {where(text, match.start())} names a speaker who is not in the cast "
                f"(the cast has: {cast.listing()})"
            )
    return tags
