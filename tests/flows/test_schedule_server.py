"""``voxbatch schedule --start-server``: the Prefect server the command starts serves its deployments and stops
with the command (its own file: it starts a real `prefect server start`, so it runs beside test_nightly.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT, environ_without_prefect_settings
from tests.flows.commands import RUN_TIMEOUT_S, free_port, wait_for


@pytest.mark.slow
def test_schedule_starts_a_prefect_server_when_asked(tmp_path: Path, prefect_home: Path) -> None:
    (tmp_path / "m.csv").write_text('id,text\nbook,"A short book."\n')
    port = free_port()
    env = environ_without_prefect_settings()
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    argv = [sys.executable, "-m", "flows.cli", "schedule", "--tts-manifest", str(tmp_path / "m.csv")]
    argv += ["--start-server", "--server-port", str(port)]
    serving = subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    api = f"http://127.0.0.1:{port}/api"
    try:

        def registered() -> bool:
            try:
                return httpx.get(f"{api}/deployments/name/audiobook/nightly-audiobooks").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(registered, RUN_TIMEOUT_S, "the started server and the served deployment")
        assert (prefect_home / "voxbatch-server.log").is_file()
    finally:
        os.killpg(serving.pid, signal.SIGINT)
        try:
            serving.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serving.pid, signal.SIGKILL)
    wait_for(lambda: not registered(), RUN_TIMEOUT_S, "the started server to stop with the process")
