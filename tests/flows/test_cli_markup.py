"""The markup options of ``voxbatch tts``: they reach the plan (seen in a dry run, which calls nothing), and a bad
one is one line and exit 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.cli_checks import EXIT_USAGE

BOOK = 'Ann waited. "Is anyone there?" she asked, and then she went home.'


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    (tmp_path / "lexicon.csv").write_text("term,spoken\nAnn,Annabelle\n", encoding="utf-8")
    (tmp_path / "cast.json").write_text('{"Alice": "af_bella"}', encoding="utf-8")
    path = tmp_path / "books.csv"
    path.write_text(f'id,text\nbook,"{BOOK.replace(chr(34), chr(34) * 2)}"\ntagged,"[Bob] Hello."\n', encoding="utf-8")
    return path


def dry_run(manifest: Path, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, ["tts", str(manifest), "--out", str(manifest.parent / "out"), "--dry-run", *options]
    )
    return result.exit_code, result.output


def test_the_options_reach_the_plan(manifest: Path) -> None:
    code, plain = dry_run(manifest)
    assert code == 0 and re.search(rf"book\s+1\s+0\s+{len(BOOK)} chars", plain), plain
    code, voiced = dry_run(manifest, "--dialogue-voice", "am_adam", "--lexicon", str(manifest.parent / "lexicon.csv"))
    assert code == 0, voiced
    # Three chunks (narration, the question, narration), "Ann" said as "Annabelle" (+6 characters).
    assert re.search(rf"book\s+3\s+0\s+{len(BOOK) + 6 - 2} chars", voiced), voiced  # two spaces between chunks


def test_a_cast_option_checks_every_books_tags(manifest: Path) -> None:
    code, output = dry_run(manifest, "--cast", str(manifest.parent / "cast.json"))
    assert code == 1 and re.search(r"book\s+1\s+0", output)
    assert "bad row: row 3 (id 'tagged'), column 'text': speaker tag [Bob]" in output and "not in the cast" in output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--pause-sentence-s", "-1"], "--pause-sentence-s must be 0 or more"),
        (["--pause-chapter-s", "120"], "--pause-chapter-s must be at most 60 s"),
        (["--cast", "missing.json"], "--cast missing.json is not a file"),
        (["--lexicon", "."], "--lexicon . is not a file"),
    ],
)
def test_bad_options_are_usage_errors(manifest: Path, options: list[str], message: str) -> None:
    code, output = dry_run(manifest, *options)
    assert code == EXIT_USAGE and message in output


def test_the_dialogue_voice_is_checked_against_the_catalog_before_anything_is_listed_or_priced(manifest: Path) -> None:
    code, output = dry_run(manifest, "--dialogue-voice", "newsman")
    assert code == 1, output
    refused = "column 'dialogue_voice': the dialogue voice: 'newsman' is not a voice of hexgrad/Kokoro-82M"
    assert f"bad row: row 2 (id 'book'), {refused}" in output and f"row 3 (id 'tagged'), {refused}" in output
    assert not re.search(r"\bbook\s+\d", output) and "chapter" not in output  # neither listed nor priced
