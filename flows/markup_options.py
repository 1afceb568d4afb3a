"""The ``voxbatch tts`` options for what is spoken and by whom: a dialogue voice, a cast, a lexicon and pauses.

Each is the default of the manifest column of the same meaning (:mod:`voxbatch.manifest.markup`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli_checks import check_numbers, usage_error

DialogueVoiceOption = Annotated[
    str | None, typer.Option(help="Read quoted speech in this voice (narration keeps --voice); column dialogue_voice.")
]
CastOption = Annotated[
    Path | None,
    typer.Option("--cast", help="Cast file (JSON or CSV, speaker -> voice) for [Name] speaker tags; column cast_path."),
]
LexiconOption = Annotated[
    Path | None,
    typer.Option(help="Pronunciation lexicon (JSON or CSV, term -> spoken form); a row's lexicon_path adds to it."),
]
PauseSentenceOption = Annotated[float | None, typer.Option(help="Seconds of silence after a sentence (default 0.3).")]
PauseParagraphOption = Annotated[float | None, typer.Option(help="Seconds of silence after a paragraph (default 0.8).")]
PauseChapterOption = Annotated[float | None, typer.Option(help="Seconds of silence after a chapter (default 2).")]


def markup_defaults(
    dialogue_voice: str | None,
    cast: Path | None,
    lexicon: Path | None,
    pause_sentence_s: float | None,
    pause_paragraph_s: float | None,
    pause_chapter_s: float | None,
) -> Any:
    """The options as the manifest's defaults (files checked here: one line and exit 2 when one is missing)."""
    from voxbatch.manifest.markup import MarkupDefaults
    from voxbatch.text.pauses import MAX_PAUSE_S

    pauses = {"--pause-sentence-s": pause_sentence_s, "--pause-paragraph-s": pause_paragraph_s}
    pauses["--pause-chapter-s"] = pause_chapter_s
    check_numbers({}, pauses)
    for name, value in pauses.items():
        if value is not None and value > MAX_PAUSE_S:
            usage_error(f"{name} must be at most {MAX_PAUSE_S:g} s; got {value:g}")
    for name, path in (("--cast", cast), ("--lexicon", lexicon)):
        if path is not None and not path.is_file():
            usage_error(f"{name} {path} is not a file")
    return MarkupDefaults(
        dialogue_voice=dialogue_voice or None,
        cast_path=str(cast.resolve()) if cast else None,
        lexicon_path=str(lexicon.resolve()) if lexicon else None,
        pause_sentence_s=pause_sentence_s,
        pause_paragraph_s=pause_paragraph_s,
        pause_chapter_s=pause_chapter_s,
    )
