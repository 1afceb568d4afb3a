"""What the ``voxbatch`` command checks before it starts a run: numeric options, languages, ``--allow-path``
folders and whether the manifest can be read at all. Each mistake is one line and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

EXIT_USAGE = 2  # a bad option or a manifest that cannot be read at all (as for click's own usage errors)


def usage_error(message: str) -> NoReturn:
    """One line on stderr, exit 2: what was wrong with the command line or its manifest, never a traceback."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=EXIT_USAGE)


def check_numbers(
    positive: dict[str, float | None],
    not_negative: dict[str, float | None] | None = None,
    whole: dict[str, int | None] | None = None,
) -> None:
    """Numeric options: ``positive`` ones above 0, ``not_negative`` ones 0 or more, ``whole`` ones at least 1."""
    import math

    for name, value in positive.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            usage_error(f"{name} must be a number greater than 0; got {value:g}")
    for name, value in (not_negative or {}).items():
        if value is not None and not (math.isfinite(value) and value >= 0):
            usage_error(f"{name} must be 0 or more; got {value:g}")
    for name, count in (whole or {}).items():
        if count is not None and count < 1:
            usage_error(f"{name} must be at least 1; got {count}")


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    """An option that takes one of a few words."""
    if value not in allowed:
        usage_error(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def check_language(model: str, language: str | None) -> str | None:
    """``--language`` normalized, after checking that ``--model`` knows it."""
    from voxbatch.manifest.languages import language_problem, normalize_language

    if language is None:
        return None
    code = normalize_language(language)
    problem = language_problem(model, code)
    if problem is not None:
        usage_error(f"--language: {problem}")
    return code


def allowed_folders(folders: list[Path] | None) -> list[str]:
    """The ``--allow-path`` folders, resolved; each must be an existing folder."""
    allowed = []
    for folder in folders or []:
        if not folder.is_dir():
            usage_error(f"--allow-path {folder} is not a folder")
        allowed.append(str(folder.resolve()))
    return allowed


def check_inputs(command: str, source: Path, allowed: list[str]) -> None:
    """A manifest (or STT folder) that cannot be read is a usage error; one with no rows is nothing to do (exit 0).

    Only the table is read here (no text or audio file), so this costs little; the flow validates each row.
    """
    from voxbatch.manifest.errors import ManifestError
    from voxbatch.manifest.stt import AUDIO_SUFFIXES, load_stt_folder
    from voxbatch.manifest.table import read_table

    if command == "stt" and source.is_dir():
        rows, errors = load_stt_folder(source, allowed=allowed)
        if not rows and not errors:
            typer.echo(f"warning: {source} holds no audio files: nothing to do", err=True)
            raise typer.Exit(code=0)
        return
    if command == "stt" and source.is_file() and source.suffix.lower() in AUDIO_SUFFIXES:
        return
    try:
        table = read_table(source, required=("id",) if command == "tts" else ("audio_path",))
    except ManifestError as exc:
        usage_error(str(exc))
    if not table.rows and not table.errors:
        typer.echo(f"warning: manifest {source} has no rows: nothing to do", err=True)
        raise typer.Exit(code=0)
