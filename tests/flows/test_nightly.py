"""Nightly runs against a real Prefect server: prefect.yaml deployments and the ``voxbatch schedule`` process
(scale-out on Dask: ``test_scale_out.py``).

Everything that talks to the Prefect server runs as a real process with ``PREFECT_API_URL`` pointing at it,
exactly as a user's would; the test process reads the server's REST API over HTTP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import REPO_ROOT
from tests.flows.commands import RUN_TIMEOUT_S, book, command_env, wait_for
from voxbatch.server.runner import LocalServer

BUSY = 503  # what a SQLite-backed Prefect server answers when its database is locked: ask again, as Prefect's own
# client does (the session's server also answers other test files' flows meanwhile)


def _answered(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """``method url``'s first answer that is not "busy" (a hang guard bounds the asking)."""

    def answer() -> httpx.Response | None:
        response = httpx.request(method, url, timeout=60, **kwargs)
        return None if response.status_code == BUSY else response

    found: httpx.Response = wait_for(answer, RUN_TIMEOUT_S, f"{method} {url} answered")
    return found


@pytest.fixture(scope="module")
def prefect_api(prefect_harness: str) -> str:
    """The session's Prefect server (its own process and SQLite database, as `prefect server start` runs it, less
    the UI and the background services these tests do not use); `voxbatch schedule --start-server` starts one of
    its own in test_schedule_server.py."""
    return prefect_harness


@pytest.mark.slow
def test_prefect_yaml_deploys_both_flows_with_the_nightly_schedule(prefect_api: str) -> None:
    env = command_env(prefect_api, PWD=str(REPO_ROOT))
    prefect = [sys.executable, "-m", "prefect"]
    pool = subprocess.run([*prefect, "work-pool", "create", "--type", "process", "voxbatch"], env=env, cwd=REPO_ROOT)
    assert pool.returncode == 0
    deploy = subprocess.run(
        [*prefect, "--no-prompt", "deploy", "--all"], env=env, cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    expected = {
        "audiobook/nightly-audiobooks": {"manifest": "manifests/audiobook-demo.csv", "out_dir": "out/audiobooks"},
        "transcripts/nightly-transcripts": {"source": "manifests/transcripts-demo.csv", "out_dir": "out/transcripts"},
    }
    for name, parameters in expected.items():
        deployment = _answered("GET", f"{prefect_api}/deployments/name/{name}").json()
        assert deployment["work_pool_name"] == "voxbatch"
        assert {k: deployment["parameters"][k] for k in parameters} == parameters
        assert deployment["parameters"]["spec"]["requests_per_minute"] == 600
        (schedule,) = deployment["schedules"]
        assert schedule["schedule"]["cron"] == "0 2 * * *" and schedule["schedule"]["timezone"] == "UTC"
        assert schedule["active"]
        (pull,) = deployment["pull_steps"]
        assert pull["prefect.deployments.steps.set_working_directory"]["directory"] == str(REPO_ROOT)
        # The served deployments of the next test have the same names: leave the server as we found it.
        assert _answered("DELETE", f"{prefect_api}/deployments/{deployment['id']}").status_code == 204


def test_schedule_says_plainly_when_there_is_no_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    result = CliRunner().invoke(app, ["schedule", "--tts-manifest", str(tmp_path / "m.csv")])
    assert result.exit_code == 1
    assert "needs a real Prefect server" in result.output and "--start-server" in result.output


def _run_night(api: str, *deployment_ids: str) -> list[str]:
    """What the scheduler does at 02:00: a flow run of each deployment, all due now; waits until all ended."""

    def created(deployment_id: str) -> dict[str, Any] | None:
        # A busy SQLite-backed server may answer an error (database locked) instead: ask again, as a scheduler would.
        answer = httpx.post(f"{api}/deployments/{deployment_id}/create_flow_run", json={}, timeout=60)
        return answer.json() if answer.status_code in (200, 201) else None

    run_ids = [
        str(wait_for(lambda d=d: created(d), RUN_TIMEOUT_S, "a flow run of the deployment")["id"])
        for d in deployment_ids
    ]

    def finished(run_id: str) -> str | None:
        state = _answered("GET", f"{api}/flow_runs/{run_id}").json()["state"]["type"]
        return state if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None

    for run_id in run_ids:
        assert wait_for(lambda r=run_id: finished(r), RUN_TIMEOUT_S, f"flow run {run_id}") == "COMPLETED"
    return run_ids


@pytest.mark.slow
def test_voxbatch_schedule_serves_both_flows_and_a_second_night_costs_nothing(
    prefect_api: str, make_server: Callable[..., LocalServer], tmp_path: Path, jfk_flac: bytes
) -> None:
    provider = make_server(api_key=None, recognizer="fake")
    manifest = book(tmp_path)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "speech.flac").write_bytes(jfk_flac)
    argv = [sys.executable, "-m", "flows.cli", "schedule", "--tts-manifest", str(manifest)]
    argv += ["--stt-source", str(inbox), "--audiobook-out", str(tmp_path / "books"), "--timezone", "Europe/Berlin"]
    argv += ["--transcript-out", str(tmp_path / "transcripts"), "--base-url", provider.origin]
    serving = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=command_env(prefect_api, PREFECT_RUNNER_POLL_FREQUENCY="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:

        def deployments() -> dict[str, Any] | None:
            found = {}
            for name in ("audiobook/nightly-audiobooks", "transcripts/nightly-transcripts"):
                answer = httpx.get(f"{prefect_api}/deployments/name/{name}")
                if answer.status_code != 200 or answer.json()["parameters"]["spec"].get("base_url") is None:
                    return None  # not yet registered by the serving process (prefect.yaml's have no base_url)
                found[name] = answer.json()
            return found

        deployed = wait_for(deployments, RUN_TIMEOUT_S, "the served deployments")
        for deployment in deployed.values():
            (schedule,) = deployment["schedules"]
            assert schedule["schedule"] == {"cron": "0 2 * * *", "timezone": "Europe/Berlin", "day_or": True}
        books, transcripts = deployed["audiobook/nightly-audiobooks"], deployed["transcripts/nightly-transcripts"]
        assert books["parameters"]["spec"]["base_url"] == provider.origin

        _run_night(prefect_api, books["id"], transcripts["id"])  # both at 02:00, side by side
        assert (tmp_path / "books" / "book.mp3").is_file() and (tmp_path / "transcripts" / "speech.srt").is_file()
        first_night = provider.stats.count()
        assert first_night > 0

        provider.stats.reset()  # the next night: nothing changed
        _run_night(prefect_api, books["id"], transcripts["id"])
        assert provider.stats.count() == 0
    finally:
        os.killpg(serving.pid, signal.SIGINT)
        try:
            output, _ = serving.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serving.pid, signal.SIGKILL)
            output, _ = serving.communicate()
        print(output)  # shown when the test fails
