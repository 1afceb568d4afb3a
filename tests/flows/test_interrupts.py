"""Ctrl-C, SIGTERM and SIGKILL mid-run never pay twice: real ``voxbatch tts|stt`` processes against local servers.

One chain of runs per flow, on one output folder and one server (so the server's counts are the chain's):
SIGINT, SIGINT and SIGTERM (graceful stops), then SIGKILL three times, then a run to the end. Every signal is
sent once the server has answered a given number of calls (counted at the server, never timed), and the
server is slowed (``latency_ms``) so calls are in flight when it lands.

- After each graceful stop: exit 130 (143 for SIGTERM), the resume command, no traceback, and no call the
  server already answered is ever requested again (0 repeats).
- After each SIGKILL (tts): the killed run's journal holds its calls in flight (1 to ``--max-in-flight``), and
  ``voxbatch report`` counts them once each as "outcome unknown, possibly billed", priced, beside every answered
  call. After the SIGKILLs: repeats are at most those calls in flight, and the journals end folded into Parquet.
- At the end: every output is complete and equal to an uninterrupted run's, and the ledger is readable.

Every process talks to the session's one Prefect server (``prefect_harness``), so none starts its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.audiobook import audiobook_flow
from flows.cli import app
from flows.transcripts import transcript_flow
from tests.conftest import REPO_ROOT
from voxbatch.audio.ffmpeg import ffmpeg_exe
from voxbatch.ledger.journal import journal_paths, read_journals
from voxbatch.ledger.writer import read_ledger
from voxbatch.run.spec import RunSpec
from voxbatch.server.faults import FaultSpec
from voxbatch.server.options import ServerOptions
from voxbatch.server.runner import LocalServer

CHAINS_HANG_GUARD_S = 1800  # all 13 runs, set up by the first test: minutes on a loaded machine, never hours
pytestmark = [pytest.mark.slow, pytest.mark.timeout(CHAINS_HANG_GUARD_S)]

SPEECH = "/v1/audio/speech"
TRANSCRIPTIONS = "/v1/audio/transcriptions"
MAX_IN_FLIGHT = 2
LATENCY_MS = 150  # every answer's last byte waits this long, so calls are in flight when a signal lands
STOPS = ((2, signal.SIGINT), (3, signal.SIGINT))  # (answers in all, signal): graceful stops
LAST_STOP = {"tts": (4, signal.SIGTERM)}  # one SIGTERM is enough: it takes the same path as SIGINT
KILLS = (5, 6, 9)  # SIGKILL once the server has answered this many calls in all (and one more this run)
BOOKS = 3
CHAPTERS_PER_BOOK = 4  # two short chunks per chapter (its title, its text): 24 calls, more than any point needs
RECORDINGS = 14  # one call each (short files are not split): more than any point needs
CLIP_S = 0.5  # clip n lasts CLIP_S + n * CLIP_STEP_S: the server's billed seconds tell the clips apart
CLIP_STEP_S = 0.04
RUN_HANG_GUARD_S = 300.0  # a process that takes longer than this is stuck, not slow
POLL_S = 0.01
WORDS = "amber birch cedar delta ember fjord grove harbor island juniper kestrel lagoon meadow north".split()


def _book_text(book: int) -> str:
    chapters = []
    for chapter in range(CHAPTERS_PER_BOOK):
        word = WORDS[(book * CHAPTERS_PER_BOOK + chapter) % len(WORDS)]
        chapters.append(
            f"# {word.title()} {book + 1}.{chapter + 1}\n\nBook {book + 1}, part {chapter + 1}, says {word}.\n"
        )
    return "\n".join(chapters)


def _tts_inputs(folder: Path) -> list[str]:
    lines = ["id,text_path"]
    for book in range(BOOKS):
        (folder / f"book{book}.md").write_text(_book_text(book), encoding="utf-8")  # a chunk per heading
        lines.append(f"book{book},book{book}.md")
    (folder / "books.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["tts", str(folder / "books.csv")]


def _stt_inputs(folder: Path) -> list[str]:
    audio = folder / "audio"
    audio.mkdir()
    source = REPO_ROOT / "manifests" / "audio" / "jfk.flac"
    for n in range(RECORDINGS):  # distinct clips: each its own cache key, its own call, its own length
        start_s = (n * 0.7) % 10.0
        length_s = CLIP_S + n * CLIP_STEP_S
        argv = [ffmpeg_exe(), "-v", "error", "-ss", f"{start_s:.2f}", "-t", f"{length_s:.2f}", "-i", str(source)]
        subprocess.run([*argv, "-ac", "1", "-ar", "16000", str(audio / f"clip{n:02d}.flac")], check=True)
    return ["stt", str(audio)]


@dataclass(frozen=True)
class KillSnapshot:
    """What a SIGKILL left: the calls its run had in flight (its journal's unsettled ones), the answers the server
    had given by then, and a copy of the ledger as it was (the next run folds the journal)."""

    in_flight: int
    answered: int
    ledger: Path


@dataclass
class Chain:
    """Runs of one command on one output folder against one server, with the server's counts."""

    flow: str
    server: LocalServer
    argv: list[str]
    env: dict[str, str]
    inputs: list[str]
    out: Path
    runs: list[tuple[int, str]] = field(default_factory=list)  # (exit code, output) of every run
    kill_bound: int = 0  # repeats allowed: the calls in flight at every SIGKILL, summed
    repeats_after_stops: list[int] = field(default_factory=list)  # repeats when each graceful run had ended
    log: list[str] = field(default_factory=list)  # per run: the answers when it was signalled or ended
    kills: list[KillSnapshot] = field(default_factory=list)  # the ledger as each SIGKILL left it (tts)

    @property
    def path(self) -> str:
        return SPEECH if self.flow == "tts" else TRANSCRIPTIONS

    def answered(self) -> int:
        return self.server.stats.count(self.path, 200)

    def settled(self) -> bool:
        """Whether the server has finished every request (a killed run's last ones are answered to nobody)."""
        return self.server.state.limiter._in_flight == 0  # enabled by max_concurrency

    def repeats(self) -> int:
        """Answers paid for more than once (a text's hash tells TTS calls apart, the billed length STT calls)."""
        ok = self.server.stats.requests(self.path, 200)
        if self.flow == "tts":
            return len(ok) - len({r.input_sha256 for r in ok})
        return len(ok) - len({round(r.audio_seconds, 2) for r in ok})

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv, env=self.env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )

    def finish(self, proc: subprocess.Popen[bytes]) -> tuple[int, str]:
        output = proc.communicate(timeout=RUN_HANG_GUARD_S)[0].decode("utf-8", "replace")
        self.runs.append((proc.returncode, output))
        return proc.returncode, output

    def run_until(self, answers: int, signum: int) -> tuple[int, str]:
        """Start a run; send ``signum`` once the server has answered ``answers`` calls in all (and one this run)."""
        deadline = time.monotonic() + RUN_HANG_GUARD_S
        while not self.settled() and time.monotonic() < deadline:
            time.sleep(POLL_S)
        target = max(answers, self.answered() + 1)
        proc = self.start()
        while self.answered() < target:
            if proc.poll() is not None:
                code, output = self.finish(proc)
                pytest.fail(f"the run ended (exit {code}) before {target} answers:\n{output[-3000:]}")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"no {target} answers within {RUN_HANG_GUARD_S} s")
            time.sleep(POLL_S)
        proc.send_signal(signum)
        signalled = self.answered()
        result = self.finish(proc)
        self.log.append(f"{signal.Signals(signum).name}@{signalled}")
        return result

    def run_to_end(self) -> tuple[int, str]:
        result = self.finish(self.start())
        self.log.append(f"end@{self.answered()}")
        return result


def _make_chain(flow: str, folder: Path, prefect_api_url: str) -> Chain:
    inputs = _tts_inputs(folder) if flow == "tts" else _stt_inputs(folder)
    faults = FaultSpec(latency_ms=LATENCY_MS)
    # counts in flight; hears with the stand-in recognizer (the chain is about stops, not recognition)
    options = ServerOptions(port=0, faults=faults, max_concurrency=1000, recognizer="fake")
    server = LocalServer(options).start()
    out = folder / "out"
    argv = [sys.executable, "-m", "flows.cli", *inputs, "--out", str(out), "--base-url", server.origin]
    argv += ["--max-in-flight", str(MAX_IN_FLIGHT)]
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api_url,  # one Prefect server for every process of the session
        "PYTHONPATH": str(REPO_ROOT),
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",  # fewer calls to the shared Prefect server; signals unaffected
    }
    return Chain(flow, server, argv, env, inputs, out)


def _snapshot(chain: Chain, n: int) -> KillSnapshot:
    ledger = chain.out / "ledger"
    in_flight = sum(journal.unsettled for journal in read_journals(ledger))
    copy = shutil.copytree(ledger, chain.out.parent / f"ledger-after-kill-{n}")
    return KillSnapshot(in_flight, chain.answered(), copy)


def _stops(flow: str) -> tuple[tuple[int, signal.Signals], ...]:
    return STOPS + ((LAST_STOP[flow],) if flow in LAST_STOP else ())


def _run_chain(chain: Chain) -> None:
    for answers, signum in _stops(chain.flow):
        chain.run_until(answers, signum)
        chain.repeats_after_stops.append(chain.repeats())
    for n, answers in enumerate(KILLS):
        chain.run_until(answers, signal.SIGKILL)
        chain.kill_bound += MAX_IN_FLIGHT
        if chain.flow == "tts":
            chain.kills.append(_snapshot(chain, n))
        if n == 0:  # whatever this run asked again before its kill was lost by the graceful stops
            chain.repeats_after_stops.append(chain.repeats())
    chain.run_to_end()


@pytest.fixture(scope="module")
def chains(prefect_harness: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Chain]]:
    """Both chains, run once for the module (the runs are the expensive part; the tests read their results)."""
    made = {
        flow: _make_chain(flow, tmp_path_factory.mktemp(f"{flow}-chain"), prefect_harness) for flow in ("tts", "stt")
    }
    try:
        with ThreadPoolExecutor(max_workers=len(made)) as pool:  # the runs mostly wait: run the chains side by side
            for done in [pool.submit(_run_chain, chain) for chain in made.values()]:
                done.result()
        runs = sum(len(c.runs) for c in made.values())
        print(f"\ninterrupt matrix: {runs} runs")
        for chain in made.values():
            print(f"  {chain.flow}: {' '.join(chain.log)}; repeats {chain.repeats()}")
        yield made
    finally:
        for chain in made.values():
            chain.server.stop()


@pytest.fixture(scope="module")
def reference(chains: dict[str, Chain], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Uninterrupted runs of the same inputs (in this process, on a server of their own): the outputs to match."""
    outs = {}
    with LocalServer(ServerOptions(port=0, recognizer="fake")) as server:
        settings = RunSpec(base_url=server.origin)
        for flow, chain in chains.items():
            out = tmp_path_factory.mktemp(f"{flow}-reference")
            source, *_ = chain.inputs[1:]
            if flow == "tts":
                report = asyncio.run(audiobook_flow(source, str(out), spec=settings))
            else:
                report = asyncio.run(transcript_flow(source, str(out), spec=settings))
            assert {e.status for e in report.items.values()} == {"ok"}
            outs[flow] = out
    return outs


def _outputs(flow: str, out: Path) -> dict[str, str]:
    """The finished outputs that must not depend on how the runs were interrupted."""
    if flow == "tts":
        names = [f"book{b}{suffix}" for b in range(BOOKS) for suffix in (".srt", ".chapters.json")]
    else:
        names = [f"clip{n:02d}{suffix}" for n in range(RECORDINGS) for suffix in (".txt", ".srt", ".vtt")]
    found = {}
    for name in names:
        path = out / name
        assert path.is_file(), f"{name} missing in {out}: {sorted(p.name for p in out.iterdir())}"
        found[name] = path.read_text(encoding="utf-8")
    return found


FLOWS = pytest.mark.parametrize("flow", ["tts", "stt"])


@FLOWS
def test_graceful_stops_exit_130_or_143_and_say_how_to_resume(chains: dict[str, Chain], flow: str) -> None:
    chain = chains[flow]
    for (code, output), (_, signum) in zip(chain.runs, _stops(flow), strict=False):
        assert code == 128 + signum, output[-3000:]
        assert "Traceback" not in output, output
        assert f"stopped by {signal.Signals(signum).name}:" in output, output[-2000:]
        assert "to continue (answered calls are not sent again): voxbatch " + flow in output, output[-2000:]


@FLOWS
def test_a_rerun_after_a_graceful_stop_repeats_no_answered_call(chains: dict[str, Chain], flow: str) -> None:
    # Counted as each stopped run exited, and as the run after the last stop (killed later) exited.
    assert chains[flow].repeats_after_stops == [0] * (len(_stops(flow)) + 1)


@FLOWS
def test_the_last_run_finishes_every_item_without_a_traceback(chains: dict[str, Chain], flow: str) -> None:
    chain = chains[flow]
    stops = len(_stops(flow))
    assert len(chain.runs) == stops + len(KILLS) + 1
    assert [code for code, _ in chain.runs[stops:-1]] == [-signal.SIGKILL] * len(KILLS)
    code, output = chain.runs[-1]
    assert code == 0 and "Traceback" not in output, output[-3000:]


@FLOWS
def test_outputs_are_complete_and_equal_to_an_uninterrupted_run(
    chains: dict[str, Chain], reference: dict[str, Path], flow: str
) -> None:
    assert _outputs(flow, chains[flow].out) == _outputs(flow, reference[flow])


@FLOWS
def test_the_ledger_stays_readable_and_records_the_stops(chains: dict[str, Chain], flow: str) -> None:
    ledger = read_ledger(chains[flow].out / "ledger")
    items = ledger[ledger["kind"] == "item"]
    # An item finished by a run killed before its ledger flush is "skipped" (already built) by the next one.
    assert set(items.loc[items["status"].isin(["ok", "skipped"]), "item_id"]) == (
        {f"book{b}" for b in range(BOOKS)} if flow == "tts" else {f"clip{n:02d}" for n in range(RECORDINGS)}
    )
    assert (items["status"] == "stopped").any()


@FLOWS
def test_repeats_after_sigkill_are_at_most_the_calls_in_flight(chains: dict[str, Chain], flow: str) -> None:
    chain = chains[flow]
    assert chain.repeats() <= chain.kill_bound


def _report_total(ledger: Path) -> dict[str, object]:
    result = CliRunner().invoke(app, ["report", str(ledger), "--as", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)[-1]  # type: ignore[no-any-return]  # the TOTAL row


def test_a_sigkilled_runs_calls_in_flight_are_billed_as_possibly_billed_once(chains: dict[str, Chain]) -> None:
    kills = chains["tts"].kills
    assert len(kills) == len(KILLS)
    for n, kill in enumerate(kills):
        assert 1 <= kill.in_flight <= MAX_IN_FLIGHT, kill  # the run always has calls in flight
        total = _report_total(kill.ledger)
        unknown_so_far = sum(k.in_flight for k in kills[: n + 1])  # earlier kills' were folded by the next run
        assert total["outcome_unknown"] == total["possibly_billed_calls"] == unknown_so_far
        assert isinstance(total["possibly_billed_usd"], float) and total["possibly_billed_usd"] > 0
        assert int(total["calls"]) >= kill.answered  # type: ignore[call-overload]  # every answered call is in it
        table = CliRunner().invoke(app, ["report", str(kill.ledger), "--by", "run"]).output
        assert "possibly billed" in table and "outcome unknown, possibly billed" in table
        read_ledger(kill.ledger)  # whatever the kill interrupted, the Parquet files read


def test_after_the_last_run_the_journals_are_folded_and_each_call_is_counted_once(chains: dict[str, Chain]) -> None:
    chain = chains["tts"]
    ledger = chain.out / "ledger"
    in_flight = sum(k.in_flight for k in chain.kills)
    assert chain.repeats() <= in_flight  # only calls in flight at a kill were paid for again
    assert not journal_paths(ledger)
    rows = read_ledger(ledger)
    assert rows["record_id"].notna().all() and rows["record_id"].is_unique
    assert _report_total(ledger)["outcome_unknown"] == in_flight  # folded into Parquet once, never counted twice
