"""The ``voxbatch`` command: ``serve`` as a real process, ``demo`` end to end, and option errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path

import httpx
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import REPO_ROOT

STARTUP_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "demo" in result.output


def test_serve_rejects_a_bad_fault_spec() -> None:
    result = CliRunner().invoke(app, ["serve", "--faults", "p429=2"])
    assert result.exit_code != 0
    assert "faults" in result.output


def test_serve_runs_as_a_process_with_key_faults_and_limits() -> None:
    port = _free_port()
    argv = [
        sys.executable,
        "-m",
        "flows.cli",
        "serve",
        "--port",
        str(port),
        "--api-key",
        "sekrit-cli-key",
        "--faults",
        "seed=1,p503=1",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{base}/_voxbatch/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        assert httpx.get(f"{base}/v1/voices").status_code == 401
        answer = httpx.get(f"{base}/v1/voices", headers={"Authorization": "Bearer sekrit-cli-key"})
        assert answer.status_code == 503  # every request faulted
        assert answer.json()["error"]["type"] == "server_error"
        stats = httpx.get(f"{base}/_voxbatch/stats").json()
        assert stats["endpoints"]["/v1/voices"] == {"401": 1, "503": 1}
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0].decode()
    assert "sekrit-cli-key" not in output


def test_demo_writes_speech_and_transcript(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--manifests", str(REPO_ROOT / "manifests"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    with wave.open(str(tmp_path / "alice-opening.wav")) as w:
        assert w.getframerate() == 24000  # Kokoro answers 24 kHz
        assert w.getnframes() / w.getframerate() > 5.0
    transcript = json.loads((tmp_path / "jfk-inaugural.json").read_text())
    assert 10.0 < transcript["duration"] < 12.0
    assert "country" in transcript["text"]
    assert transcript["words"], "word timestamps were asked for"
    assert "ledger: 2 calls" in result.output
