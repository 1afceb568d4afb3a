"""What a run says before it starts (the embedded server is the expected default: said plainly, not as a warning;
a run with a key or a base URL says nothing about it) and the lines it ends with (a budget cap, a stop)."""

from __future__ import annotations

import signal
from typing import Any

import pytest
import typer

from flows import run_command
from voxbatch.run.report import ItemResult, RunReport
from voxbatch.run.shutdown import RunStop, activate
from voxbatch.run.spec import RunSpec


@pytest.fixture
def flow_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare_run without its Prefect side: the stop armed, no Prefect API asked, a stand-in flow imported."""
    monkeypatch.setattr(run_command, "_prefect_api", lambda: lambda: None)


def _prepare(spec: RunSpec) -> Any:
    return run_command.prepare_run("flows.run_command", "finish", spec)


def test_the_embedded_default_is_said_once_plainly(
    flow_module: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _prepare(RunSpec()) is run_command.finish
    err = capsys.readouterr().err
    assert err == (
        "voxbatch: no TOGETHER_API_KEY set; using the embedded local audio server "
        "(set TOGETHER_API_KEY to run on Together AI, or TOGETHER_BASE_URL for another server)\n"
    )
    assert "WARNING" not in err
    monkeypatch.setenv("TOGETHER_API_KEY", "k")
    _prepare(RunSpec())
    _prepare(RunSpec(base_url="http://127.0.0.1:9"))
    assert capsys.readouterr().err == ""


def _report(*statuses: str) -> RunReport:
    items = {
        f"book{n}": ItemResult(f"book{n}", status, path=f"out/book{n}.mp3", chunks=1, requests=1)  # type: ignore[arg-type]
        for n, status in enumerate(statuses, start=1)
    }
    return RunReport("audiobook", items=items, run_id="r1", endpoint="local", wall_s=1.0, ledger="L")


def test_the_budget_cap_line_and_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    activate(RunStop())
    with pytest.raises(typer.Exit) as stopped:
        run_command.finish(_report("ok", "skipped_budget"))
    out, err = capsys.readouterr()
    assert stopped.value.exit_code == run_command.EXIT_BUDGET
    assert out.splitlines()[-2:] == [
        "total: 1 ok, 1 skipped_budget; $0.0000, 2 requests, 1.0 s on local",
        "ledger: L (run r1)",
    ]
    assert err == "stopped by the budget cap: run again (with a larger --max-cost-usd) to continue\n"


def test_a_stopped_runs_lines_count_in_words(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["voxbatch", "tts", "books.csv"])
    stop = activate(RunStop())
    stop.request(signal.SIGINT)
    try:
        with pytest.raises(typer.Exit) as stopped:
            run_command.finish(_report("ok", "stopped"))
    finally:
        activate(RunStop())
    assert stopped.value.exit_code == 130
    assert capsys.readouterr().err.splitlines() == [
        "stopped by SIGINT: 1 item finished, 1 stopped, 0 failed; every answer received is saved; ledger: L",
        "to continue (answered calls are not sent again): voxbatch tts books.csv",
    ]
