"""One spelling per idea: ``--format`` is what a run writes (tts: the audiobook's, stt: the transcripts'), ``--as``
how a listing prints (report, voices). The old spellings (stt ``--formats``, report and voices ``--format``) still
work, with a one-line note on stderr; given together with the new one they are a usage error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from flows import run_command
from flows.cli import app
from tests.voxbatch.ledger.record_factory import make_record
from voxbatch.audio.pcm import to_wav
from voxbatch.ledger.writer import LedgerWriter


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    root = tmp_path / "ledger"
    with LedgerWriter(root, "run1", flush_interval_s=3600.0) as writer:
        writer.append(make_record(run_id="run1", item_id="book", input_chars=100, cost_usd=0.0004))
    return root


def test_report_prints_as_json_under_either_spelling(ledger: Path) -> None:
    new = CliRunner().invoke(app, ["report", str(ledger), "--as", "json"])
    old = CliRunner().invoke(app, ["report", str(ledger), "--format", "json"])
    assert new.exit_code == old.exit_code == 0, old.output
    assert json.loads(new.stdout) == json.loads(old.stdout) and json.loads(new.stdout)[-1]["calls"] == 1
    assert new.stderr == ""
    assert old.stderr == "note: --format is deprecated; use --as (same values)\n"


@pytest.mark.parametrize("command", ["report", "voices"])
def test_both_spellings_at_once_are_a_usage_error(ledger: Path, command: str) -> None:
    args = [str(ledger)] if command == "report" else []
    result = CliRunner().invoke(app, [command, *args, "--as", "json", "--format", "table"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "error: --format is the old spelling of --as: give only --as\n"


def test_voices_checks_the_old_spelling_like_the_new_before_asking_any_server() -> None:
    for flag in ("--as", "--format"):
        result = CliRunner().invoke(app, ["voices", flag, "xml"])
        assert result.exit_code == 2 and "must be one of table, json" in result.stderr


def test_stt_writes_the_formats_of_either_spelling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(to_wav(np.zeros(16000, dtype=np.int16), 16000))
    seen: list[tuple[str, ...]] = []

    def dry_run(pipeline: Any, *args: object) -> Any:
        seen.append(pipeline.formats)
        raise SystemExit(0)

    monkeypatch.setattr(run_command, "dry_run", dry_run)
    common = ["stt", str(clip), "--out", str(tmp_path / "out"), "--dry-run"]
    new = CliRunner().invoke(app, [*common, "--format", "srt,json"])
    old = CliRunner().invoke(app, [*common, "--formats", "srt,json"])
    assert new.exit_code == old.exit_code == 0, old.output
    assert seen == [("srt", "json"), ("srt", "json")]
    assert "note: --formats is deprecated; use --format (same values)" in old.stderr and "note" not in new.stderr
    both = CliRunner().invoke(app, [*common, "--format", "txt", "--formats", "srt"])
    assert both.exit_code == 2 and "--formats is the old spelling of --format" in both.stderr
    bad = CliRunner().invoke(app, [*common, "--formats", "docx"])
    assert bad.exit_code == 2 and "unknown output format(s) docx" in bad.output


def test_the_old_spellings_are_hidden_from_help() -> None:
    stt = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["stt", "--help"]).output
    report = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["report", "--help"]).output
    assert "--format " in stt and "--formats" not in stt
    assert "--as " in report and "--format" not in report
