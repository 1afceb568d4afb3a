"""--readalong/--no-readalong reach the run as the books' default, and every book option is a flow parameter."""

from __future__ import annotations

import inspect
from dataclasses import fields
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flows import book_options
from flows.audiobook import audiobook_flow
from flows.cli import app


@pytest.mark.parametrize(("flag", "expected"), [([], None), (["--readalong"], True), (["--no-readalong"], False)])
def test_the_readalong_flag_reaches_the_book_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: list[str], expected: bool | None
) -> None:
    seen: list[book_options.BookOptions] = []

    def record(*args: object) -> None:
        seen.append(next(arg.book for arg in args if isinstance(arg, book_options.BookRows)))
        raise typer.Exit(0)

    monkeypatch.setattr(book_options, "dry_run", record)
    (tmp_path / "books.csv").write_text("id,text\nb,Hello.\n")
    result = CliRunner().invoke(app, ["tts", str(tmp_path / "books.csv"), "--dry-run", *flag])
    assert result.exit_code == 0, result.output
    assert seen[0].readalong is expected and seen[0].parameters()["readalong"] is expected


def test_every_book_option_is_a_parameter_of_the_audiobook_flow() -> None:
    parameters = inspect.signature(audiobook_flow.fn).parameters
    assert {field.name for field in fields(book_options.BookOptions)} <= set(parameters)
    assert parameters["readalong"].default is None
