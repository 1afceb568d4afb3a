"""--readalong/--no-readalong reach the run as the books' default, every book option is a flow parameter, and the flow
and the command read rows with the same defaults."""

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


def test_the_flow_and_the_commands_own_reading_give_rows_the_same_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dry run and the all-done check read the manifest in the command's process (BookRows), the flow in the
    run: one mapping of options to BookDefaults serves both, so no option can reach one and not the other."""
    import asyncio

    import flows.audiobook as audiobook_module
    import voxbatch.manifest.tts as tts_module
    from voxbatch.manifest.markup import MarkupDefaults
    from voxbatch.manifest.tts import BookDefaults

    seen: list[BookDefaults] = []

    def remember(_manifest: object, defaults: BookDefaults, _allowed: object) -> tuple[list[object], list[object]]:
        seen.append(defaults)
        return [], []

    async def no_run(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(audiobook_module, "load_tts_rows", remember)
    monkeypatch.setattr(audiobook_module, "run_pipeline", no_run)
    monkeypatch.setattr(tts_module, "load_tts_manifest", remember)
    markup = MarkupDefaults(dialogue_voice="tara")
    book = book_options.BookOptions(True, "sse", 24000, markup, "1-3", True, "off")
    named = {"model": "a/model", "voice": "leo", "language": "fr", "audio_format": "m4b", "author": "A. Writer"}
    manifest = tmp_path / "books.csv"

    book_options.BookRows(manifest, [], book, **named).read()
    asyncio.run(audiobook_module.audiobook_flow.fn(str(manifest), str(tmp_path / "out"), **named, **book.parameters()))

    command, flow = seen
    assert command == flow
    assert all(getattr(flow, field.name) != getattr(BookDefaults(), field.name) for field in fields(BookDefaults))
