"""Who reads a book's chunks: the narrator (the row's voice), the dialogue voice and the cast's speakers, each as
the :class:`~voxbatch.client.call_options.SpeechOptions` its chunks are synthesized with.

A voice is labelled ``"voice@model"`` in the chunks (``""`` for the narrator's); a speaker or a dialogue voice
that is the narrator's own voice gets ``""``, so no chunk is cut where nobody would hear a change. Every voice keeps
the narrator's options but its voice and model: above all its sample rate, the book's, so that a cast mixing models
still stitches directly (a speaker whose model cannot answer at it is a row error: the catalog check,
:meth:`voxbatch.pipelines.audiobook.pipeline.AudiobookPipeline.check`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from voxbatch.client.call_options import SpeechOptions
from voxbatch.manifest.tts import BookRow
from voxbatch.text.voicing import NARRATOR_VOICE, Voicing


@dataclass(frozen=True)
class Reader:
    """Who reads with a voice besides the narrator, and the manifest column that gave it them."""

    column: str  # dialogue_voice or cast_path
    who: str  # "the dialogue voice", "speaker Alice"


@dataclass(frozen=True)
class BookVoices:
    """A book's voices: what the chunker needs to know (``voicing``), each label's speech options, and who reads
    with each label but the narrator's."""

    voicing: Voicing
    speech: Mapping[str, SpeechOptions]
    readers: Mapping[str, tuple[Reader, ...]]

    @property
    def models(self) -> set[str]:
        return {options.model for options in self.speech.values()}


def book_voices(row: BookRow, narrator: SpeechOptions) -> BookVoices:
    """The voices of ``row``: ``narrator`` for the narration, its dialogue voice and its cast (same options but the
    voice, and the model where the cast names one)."""
    speech: dict[str, SpeechOptions] = {NARRATOR_VOICE: narrator}
    readers: dict[str, tuple[Reader, ...]] = {}

    def label(reader: Reader, voice: str, model: str | None = None) -> str:
        options = replace(narrator, voice=voice, model=model or narrator.model)
        if options == narrator:
            return NARRATOR_VOICE
        name = f"{options.voice}@{options.model}"
        speech[name] = options
        readers[name] = (*readers.get(name, ()), reader)
        return name

    markup = row.markup
    dialogue = None
    if markup.dialogue_voice is not None:
        dialogue = label(Reader("dialogue_voice", "the dialogue voice"), markup.dialogue_voice)
    cast = markup.cast
    speakers = {}
    if cast is not None:
        for key, v in cast.voices.items():
            speakers[key] = label(Reader("cast_path", f"speaker {cast.names.get(key, key)}"), v.voice, v.model)
    voicing = Voicing(dialogue=dialogue or None, cast=cast, speakers=speakers)
    return BookVoices(voicing, speech, readers)
