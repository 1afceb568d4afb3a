"""The ``voxbatch`` command: ``serve`` as a real process, ``stt`` end to end, and option errors."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import REPO_ROOT, heard_by_fake
from voxbatch.audio.pcm import to_wav
from voxbatch.server.runner import LocalServer

STARTUP_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert all(name in result.output for name in ("serve", "tts", "stt"))


def test_importing_the_command_loads_no_numpy_pandas_pyarrow_prefect_or_matplotlib() -> None:
    heavy = "('numpy', 'pandas', 'pyarrow', 'prefect', 'distributed', 'matplotlib')"
    code = f"import sys, flows.cli; print(' '.join(m for m in {heavy} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert loaded.stdout.split() == []  # its defaults come from light modules (voxbatch.defaults, split_options)


def test_a_run_that_does_not_scale_out_loads_no_dask() -> None:
    heavy = "('dask', 'distributed', 'prefect_dask')"
    code = f"import sys, flows.audiobook, flows.transcripts; print(' '.join(m for m in {heavy} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert loaded.stdout.split() == []  # prefect-dask and distributed are imported when a cluster is asked for


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


def test_stt_prints_each_file_and_exits_non_zero_when_one_failed(
    prefect_harness: str, tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None, recognizer="fake")
    out = tmp_path / "out"
    argv = ["stt", str(REPO_ROOT / "manifests" / "transcripts-demo.csv"), "--out", str(out)]
    result = CliRunner().invoke(app, [*argv, "--base-url", server.origin])
    assert result.exit_code == 0, result.output
    assert re.search(
        r"ok jfk-inaugural: .*jfk-inaugural\.txt.*\(11\.0 s, 1 chunk, 1 request, \$0\.0003\)", result.output
    )
    heard = re.findall(r"[a-z']+", (out / "jfk-inaugural.txt").read_text())
    assert heard == heard_by_fake((REPO_ROOT / "manifests" / "audio" / "jfk.flac").read_bytes())
    again = CliRunner().invoke(app, [*argv, "--base-url", server.origin])
    assert again.exit_code == 0 and "skipped jfk-inaugural" in again.output

    (tmp_path / "bad.csv").write_text("id,audio_path\nmissing,nowhere.flac\n")
    failed = CliRunner().invoke(app, ["stt", str(tmp_path / "bad.csv"), "--out", str(out), "--base-url", server.origin])
    assert failed.exit_code == 1
    assert "row 2 (id 'missing'), column 'audio_path'" in failed.output


def test_stt_rejects_bad_options(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["stt", str(tmp_path), "--format", "docx"])
    assert result.exit_code != 0 and "unknown output format" in result.output
    result = CliRunner().invoke(app, ["stt", str(tmp_path), "--task", "summarize"])
    assert result.exit_code != 0 and "transcribe" in result.output


def test_tts_dry_run_and_budget_exit_codes(
    prefect_harness: str, tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None)
    manifest = tmp_path / "books.csv"
    long_text = " ".join(f"Sentence {n} of the second book." for n in range(30))
    manifest.write_text(f'id,text\nfirst,"One short sentence."\nsecond,"{long_text}"\n')
    common = [str(manifest), "--out", str(tmp_path / "out"), "--base-url", server.origin]
    dry = CliRunner().invoke(app, ["tts", *common, "--dry-run", "--rpm", "60"])
    assert dry.exit_code == 0, dry.output
    assert "nothing was called" in dry.output and re.search(r"first\s+1\s+0\s+19 chars\s+\$0\.0001", dry.output)
    assert "60 requests per minute" in dry.output and server.stats.count() == 0

    capped = CliRunner().invoke(app, ["tts", *common, "--max-cost-usd", "0.0002"])
    assert capped.exit_code == 3, capped.output  # nothing failed; the cap left a book for later
    assert "SKIPPED_BUDGET second: not started under the budget cap" in capped.output
    assert re.search(r"ok first: .*first\.mp3", capped.output)
    finished = CliRunner().invoke(app, ["tts", *common])
    assert finished.exit_code == 0 and "skipped first" in finished.output and "ok second" in finished.output


def test_dry_runs_start_no_server_of_any_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dry run is the kernel's lifecycle with execution off: no audio server, no Prefect API is needed."""
    import voxbatch.server.runner as runner

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens: a flow run would fail
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.delenv("TOGETHER_BASE_URL", raising=False)

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("a dry run started the embedded audio server")

    monkeypatch.setattr(runner.LocalServer, "__enter__", no_server)
    manifest = tmp_path / "books.csv"
    manifest.write_text('id,text\nfirst,"One short sentence."\nbad,""\n')
    tts = CliRunner().invoke(app, ["tts", str(manifest), "--out", str(tmp_path / "tts"), "--dry-run"])
    assert tts.exit_code == 1, tts.output  # the bad row is reported, the good one priced
    assert "nothing was called" in tts.output and re.search(r"first\s+1\s+0\s+19 chars", tts.output)
    assert "bad row: row 3 (id 'bad'), column 'text': is empty" in tts.output
    clip = tmp_path / "clip.wav"
    clip.write_bytes(_wav_of_silence(2.0))
    stt = CliRunner().invoke(app, ["stt", str(clip), "--out", str(tmp_path / "stt"), "--dry-run"])
    assert stt.exit_code == 0, stt.output
    assert "nothing was called" in stt.output and "clip" in stt.output and "audio min" in stt.output
    assert not (tmp_path / "tts" / "ledger").exists() and not (tmp_path / "stt" / "ledger").exists()


def _wav_of_silence(seconds: float, rate_hz: int = 16000) -> bytes:
    return to_wav(np.zeros(int(seconds * rate_hz), dtype=np.int16), rate_hz)
