"""What a run says before it starts: the embedded server is the expected default (said plainly, not as a
warning), and a run with a key or a base URL says nothing about it."""

from __future__ import annotations

from typing import Any

import pytest

from flows import run_command
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
