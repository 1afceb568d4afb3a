"""``voxbatch tts --audit``: a value that cannot be read exits 2 naming the option; the dry run prices the audit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.book_options import book_options
from flows.cli import app
from voxbatch.manifest.markup import MarkupDefaults


def _manifest(tmp_path: Path) -> Path:
    manifest = tmp_path / "books.csv"
    manifest.write_text('id,text\nfirst,"One short sentence, read and then heard."\n')
    return manifest


def test_a_bad_audit_exits_2_naming_the_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["tts", str(_manifest(tmp_path)), "--audit", "two words"])
    assert result.exit_code == 2 and "--audit" in result.output and "off, on, free" in result.output


def test_the_dry_run_prices_an_audit_on_the_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens: a dry run needs no Prefect
    argv = ["tts", str(_manifest(tmp_path)), "--out", str(tmp_path / "out"), "--dry-run"]
    plain = CliRunner().invoke(app, argv)
    assert plain.exit_code == 0, plain.output and "of which the audit" not in plain.output
    heard = CliRunner().invoke(app, [*argv, "--audit", "on"])
    assert heard.exit_code == 0, heard.output
    assert re.search(r"of which the audit: 1 transcription, \$0\.000\d", heard.output)
    assert re.search(r"total: 2 requests", heard.output)  # the chunk and its hearing
    free = CliRunner().invoke(app, [*argv, "--audit", "free"])
    assert free.exit_code == 0 and "of which the audit" not in free.output  # heard on this machine: free


def test_the_audit_reaches_the_flow_but_not_the_manifest_defaults() -> None:
    options = book_options(False, "rest", None, MarkupDefaults(), "", audit="openai/whisper-large-v3")
    assert options.parameters()["audit"] == "on"  # the default model, said the short way
    assert "audit" not in options.defaults()
