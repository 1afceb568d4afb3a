"""SIGKILL in the middle of ``voxbatch tts``, through real sockets and a real process: the ledger keeps every call
(the unsettled ones as "outcome unknown, possibly billed"), and the re-run pays again only for calls that were in
flight at the kill.

The kill is count-based: the test polls the local server's ``/_voxbatch/stats`` until enough answers went out,
then kills the whole process group. Calls "in flight at the kill" are the journal's unsettled calls: each went out
after its write-ahead record and never got its outcome recorded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import REPO_ROOT
from voxbatch.ledger.journal import journal_paths, read_journals
from voxbatch.ledger.writer import read_ledger
from voxbatch.server.faults import FaultSpec
from voxbatch.server.runner import LocalServer

CHAPTERS = 24  # two chunks each: "Chapter N" and its sentence, all different texts
MAX_IN_FLIGHT = 4
KILL_AFTER_ANSWERS = 12
SPEECH_PATH = "/v1/audio/speech"
HANG_GUARD_S = 300.0  # only a guard against a hang: nothing here depends on speed
POLL_S = 0.02


def _book(tmp_path: Path) -> Path:
    text = "\n\n".join(f"# Chapter {n}\n\nThis is the short chapter number {n}." for n in range(1, CHAPTERS + 1))
    (tmp_path / "book.md").write_text(text)
    manifest = tmp_path / "books.csv"
    manifest.write_text("id,text_path\nbook,book.md\n")
    return manifest


def _answered(server: LocalServer) -> int:
    stats = httpx.get(f"{server.origin}/_voxbatch/stats", timeout=30).json()
    return int(stats["endpoints"].get(SPEECH_PATH, {}).get("200", 0))


def _report(ledger: Path) -> dict[str, object]:
    result = CliRunner().invoke(app, ["report", str(ledger), "--as", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    return rows[-1]  # type: ignore[no-any-return]  # the TOTAL row


def _answered_texts(server: LocalServer, since: int = 0) -> list[str]:
    return [r.input_sha256 or "" for r in server.stats.requests(SPEECH_PATH, 200)[since:]]


@pytest.mark.timeout(600)
def test_sigkill_mid_run_loses_no_bill_and_the_rerun_repeats_only_calls_in_flight(
    prefect_harness: str, tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None, faults=FaultSpec(latency_ms=150))
    out, ledger = tmp_path / "out", tmp_path / "out" / "ledger"
    argv = [sys.executable, "-m", "flows.cli", "tts", str(_book(tmp_path)), "--out", str(out)]
    argv += ["--base-url", server.origin, "--max-in-flight", str(MAX_IN_FLIGHT)]
    env = {**os.environ, "PREFECT_API_URL": prefect_harness, "PYTHONPATH": str(REPO_ROOT)}

    proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while _answered(server) < KILL_AFTER_ANSWERS:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "hang guard: the run never got going"
            time.sleep(POLL_S)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    answered_before_rerun = _answered_texts(server)

    # The killed run's journal says which calls were in flight; the report counts them, priced, once.
    journals = read_journals(ledger)
    in_flight = sum(j.unsettled for j in journals)
    assert in_flight >= 1, "the run always has calls in flight"
    assert in_flight <= MAX_IN_FLIGHT
    total = _report(ledger)
    assert total["outcome_unknown"] == in_flight
    assert total["possibly_billed_calls"] == in_flight
    assert isinstance(total["possibly_billed_usd"], float) and total["possibly_billed_usd"] > 0
    ok_calls = int(total["calls"]) - in_flight  # type: ignore[call-overload]
    assert ok_calls + in_flight >= len(answered_before_rerun)  # every answered call is in the ledger
    table = CliRunner().invoke(app, ["report", str(ledger), "--by", "run"]).output
    assert "possibly billed" in table and "outcome unknown, possibly billed" in table
    read_ledger(ledger)  # whatever the kill interrupted, the Parquet files read

    # The re-run pays again only for calls that were in flight at the kill, and folds the killed run's journal.
    rerun = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, timeout=HANG_GUARD_S)
    assert rerun.returncode == 0, rerun.stdout.decode() + rerun.stderr.decode()
    repeated = set(_answered_texts(server, since=len(answered_before_rerun))) & set(answered_before_rerun)
    assert len(repeated) <= in_flight
    assert not journal_paths(ledger)
    rows = read_ledger(ledger)
    assert rows["record_id"].notna().all() and rows["record_id"].is_unique
    after = _report(ledger)
    assert after["outcome_unknown"] == in_flight  # folded into Parquet once, never counted twice
    assert (out / "book.mp3").is_file()
