"""A run with nothing left to do ends in the command: no embedded audio server, no Prefect API, no flow run."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import flows.run_command
import voxbatch.server.runner as runner
from flows import in_process
from flows.cli import app
from tests.conftest import REPO_ROOT
from voxbatch.ledger.writer import read_ledger
from voxbatch.server.runner import LocalServer


def _forbid_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on a flow run, a Prefect API or the embedded audio server fails the command."""

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run with nothing to do started the embedded audio server")

    def no_flow(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run with nothing to do started a flow run")

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens: a flow run would fail
    monkeypatch.setattr(runner.LocalServer, "__enter__", no_server)
    monkeypatch.setattr(flows.run_command, "prepare_run", no_flow)


def test_an_item_without_its_done_marker_is_work_and_nothing_else_is_read(tmp_path: Path) -> None:
    (tmp_path / "first.build.json").write_text("{}")

    def never() -> Any:
        raise AssertionError("read although an item plainly has work")

    markers = [tmp_path / "first.build.json", tmp_path / "second.build.json"]
    assert in_process.finish_if_done(markers, never, never, spec=None) is None  # the run goes on
    assert in_process.finish_if_done(None, never, never, spec=None) is None  # ids unknown: the flow decides


def test_a_tts_rerun_with_every_book_built_starts_nothing_and_says_skipped(
    prefect_harness: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.delenv("TOGETHER_BASE_URL", raising=False)
    manifest = tmp_path / "books.csv"
    manifest.write_text('id,text,format\nshort,"One short sentence, spoken once.",wav\n')
    argv = ["tts", str(manifest), "--out", str(tmp_path / "out")]
    first = CliRunner().invoke(app, argv)  # on the embedded default
    assert first.exit_code == 0 and re.search(r"ok short: .*short\.wav", first.output), first.output

    with monkeypatch.context() as guarded:
        _forbid_servers(guarded)
        again = CliRunner().invoke(app, argv)
    assert again.exit_code == 0, again.output
    assert re.search(r"skipped short: .*short\.wav \(.* 0 requests, \$0\.0000\)", again.output)
    assert "total: 1 skipped; $0.0000, 0 requests" in again.output and "not started: nothing to do" in again.output
    run_id = re.search(r"\(run (audiobook-[0-9a-f]+)\)", again.output)
    assert run_id is not None
    recorded = read_ledger(tmp_path / "out" / "ledger", run_id=run_id.group(1))
    assert list(zip(recorded.kind, recorded.item_id, recorded.status, strict=True)) == [("item", "short", "skipped")]

    manifest.write_text('id,text,format\nshort,"One short sentence, spoken twice.",wav\n')  # edited: work again
    with monkeypatch.context() as guarded:
        _forbid_servers(guarded)
        edited = CliRunner().invoke(app, argv)
    assert isinstance(edited.exception, AssertionError) and "started a flow run" in str(edited.exception)


def test_an_stt_rerun_with_every_file_done_asks_the_server_nothing(
    prefect_harness: str, tmp_path: Path, make_server: Callable[..., LocalServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(api_key=None, recognizer="fake")
    argv = ["stt", str(REPO_ROOT / "manifests" / "transcripts-demo.csv"), "--out", str(tmp_path / "out")]
    argv += ["--base-url", server.origin]
    first = CliRunner().invoke(app, argv)
    assert first.exit_code == 0, first.output
    asked = server.stats.count()

    with monkeypatch.context() as guarded:
        _forbid_servers(guarded)
        again = CliRunner().invoke(app, argv)
    assert again.exit_code == 0 and "skipped jfk-inaugural" in again.output, again.output
    assert server.stats.count() == asked  # not a request, not even the catalog (its copy is on disk)
