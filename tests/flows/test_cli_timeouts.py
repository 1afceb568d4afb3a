"""``--timeout-s`` from the command line into the run's specification (and from there to every client)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from flows.run_command import run_spec


def test_the_option_reaches_the_run_spec() -> None:
    spec = run_spec(None, None, None, 16, None, None, None, None, 42.5)
    assert spec.timeout_s == 42.5
    assert run_spec(None, None, None, 16, None, None, None, None).timeout_s is None  # it follows the work


def test_a_bad_timeout_is_a_usage_error(tmp_path: Path) -> None:
    for command in ("stt", "tts"):
        result = CliRunner().invoke(app, [command, str(tmp_path), "--timeout-s", "0"])
        assert result.exit_code == 2, result.output
        assert "--timeout-s must be a number greater than 0" in result.output
