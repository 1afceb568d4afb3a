"""Who reads a book's chunks: the narrator (the row's voice), the dialogue voice and the cast's speakers, each as
the :class:`~voxbatch.client.call_options.SpeechOptions` its chunks are synthesized with.

A voice is labelled ``"voice@model"`` in the chunks (``""`` for the narrator's); a speaker or a dialogue voice
that is the narrator's own voice gets ``""``, so no chunk is cut where nobody would hear a change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from voxbatch.client.call_options import SpeechOptions
from voxbatch.manifest.tts import BookRow
from voxbatch.text.voicing import NARRATOR_VOICE, Voicing


@dataclass(frozen=True)
class BookVoices:
    """A book's voices: what the chunker needs to know (``voicing``) and each label's speech options."""

    voicing: Voicing
    speech: Mapping[str, SpeechOptions]

    @property
    def models(self) -> set[str]:
        return {options.model for options in self.speech.values()}


def book_voices(row: BookRow, narrator: SpeechOptions) -> BookVoices:
    """The voices of ``row``: ``narrator`` for the narration, its dialogue voice and its cast (same options but the
    voice, and the model where the cast names one)."""
    speech: dict[str, SpeechOptions] = {NARRATOR_VOICE: narrator}

    def label(voice: str, model: str | None = None) -> str:
        options = replace(narrator, voice=voice, model=model or narrator.model)
        if options == narrator:
            return NARRATOR_VOICE
        name = f"{options.voice}@{options.model}"
        speech[name] = options
        return name

    markup = row.markup
    dialogue = None if markup.dialogue_voice is None else label(markup.dialogue_voice)
    cast = markup.cast
    speakers = {} if cast is None else {key: label(v.voice, v.model) for key, v in cast.voices.items()}
    voicing = Voicing(dialogue=dialogue or None, cast=cast, speakers=speakers)
    return BookVoices(voicing, speech)
