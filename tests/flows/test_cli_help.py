"""``voxbatch --version``, shell completion, and the environment variables every --help lists."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.run_command import PREFECT_STARTUP_TIMEOUT_S
from tests.conftest import REPO_ROOT
from voxbatch import __version__
from voxbatch.environment import ENVIRONMENT
from voxbatch.run.shutdown import STOP_GRACE_S

COMMAND_HANG_GUARD_S = 120

WIDE = {"COLUMNS": "250"}


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"voxbatch {__version__}\n"


def test_help_lists_completion_and_every_environment_variable() -> None:
    result = CliRunner(env=WIDE).invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--version" in result.output and "--install-completion" in result.output
    assert "--show-completion" in result.output
    for name, meaning in ENVIRONMENT:
        assert f"{name}: {meaning}" in result.output


@pytest.mark.parametrize("command", ["tts", "stt", "schedule", "voices"])
def test_the_run_commands_list_the_key_and_the_base_url(command: str) -> None:
    text = CliRunner(env=WIDE).invoke(app, [command, "--help"]).output
    assert "TOGETHER_API_KEY: Your Together AI key." in text and "TOGETHER_BASE_URL: " in text
    assert "[env var: TOGETHER_BASE_URL]" in text  # --base-url reads it
    if command in ("tts", "stt"):
        assert "VOXBATCH_STOP_GRACE_S: " in text and "PREFECT_API_URL: " in text


def test_the_defaults_in_the_help_are_the_codes() -> None:
    meanings = dict(ENVIRONMENT)
    assert f"(default {STOP_GRACE_S:g})" in meanings["VOXBATCH_STOP_GRACE_S"]
    assert f"(default {PREFECT_STARTUP_TIMEOUT_S})" in meanings["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]


def test_the_base_url_option_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.main import get_command

    monkeypatch.setenv("TOGETHER_BASE_URL", "http://127.0.0.1:9")
    group = get_command(app)
    command = group.commands["tts"]  # type: ignore[attr-defined]
    context = command.make_context("tts", ["books.csv"])
    assert context.params["base_url"] == "http://127.0.0.1:9"


def _complete(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, as a shell runs it (completion reads the process's environment)."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_HANG_GUARD_S,
    )


def test_shell_completion_is_on() -> None:
    # The script is for the shell the command is run from (Typer asks the process tree): here bash, whatever runs
    # the suite (`make` runs it from sh, which Typer does not support). bash stays the parent: it has more to do.
    script = subprocess.run(
        ["bash", "-c", '"$@"; exit $?', "bash", sys.executable, "-m", "flows.cli", "--show-completion"],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_HANG_GUARD_S,
    )
    assert script.returncode == 0 and "_VOXBATCH_COMPLETE=complete_bash" in script.stdout, script.stderr
    completed = _complete(_VOXBATCH_COMPLETE="complete_bash", COMP_WORDS="voxbatch st", COMP_CWORD="1")
    assert completed.returncode == 0 and completed.stdout.split() == ["stt"], completed.stderr
    env = {"_VOXBATCH_COMPLETE": "complete_bash", "COMP_WORDS": "voxbatch report L --a", "COMP_CWORD": "3"}
    assert _complete(**env).stdout.split() == ["--as"]
