"""Ctrl-C, SIGTERM and SIGKILL mid-run never pay twice: real ``voxbatch tts|stt`` processes against local servers.

Each flow gets two chains of runs on one output folder, one server per chain (so its counts are the chain's):

- **graceful**: SIGINT, SIGINT, then SIGTERM, each after more answers; then a run to the end. Every stopped
  run exits 130 (143 for SIGTERM) with the resume command and no traceback, and the server answers every chunk
  exactly once over the whole chain: 0 repeats.
- **killed**: SIGKILL after 1, 3, 6, 9 and 12 answers (counted at the server, never timed), then a run to the
  end. Repeats over the chain are at most the calls in flight at the kills (``--max-in-flight 2`` each).

Both chains end with complete outputs equal to each other's, and a readable ledger. The server is slowed
(``latency_ms``) so calls are in flight when a signal lands. Every process talks to the session's one Prefect
server (``prefect_harness``), so none starts its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from voxbatch.audio.ffmpeg import ffmpeg_exe
from voxbatch.ledger.writer import read_ledger
from voxbatch.server.faults import FaultSpec
from voxbatch.server.options import ServerOptions
from voxbatch.server.runner import LocalServer

SPEECH = "/v1/audio/speech"
TRANSCRIPTIONS = "/v1/audio/transcriptions"
MAX_IN_FLIGHT = 2
LATENCY_MS = 250  # every answer's last byte waits this long, so calls are in flight when a signal lands
KILL_POINTS = (1, 3, 6, 9, 12)  # SIGKILL once the chain's server has answered this many calls
STOP_POINTS = ((2, signal.SIGINT), (4, signal.SIGINT), (6, signal.SIGTERM))  # graceful stops, same counting
BOOKS = 3
CHAPTERS_PER_BOOK = 6  # one short chunk per chapter: 18 chunks, more than any kill point
RECORDINGS = 14  # one call each (short files are not split): more than any kill point
CLIP_S = 0.9
RUN_HANG_GUARD_S = 300.0  # a process that takes longer than this is stuck, not slow
POLL_S = 0.01
WORDS = "amber birch cedar delta ember fjord grove harbor island juniper kestrel lagoon meadow north".split()


def _book_text(book: int) -> str:
    chapters = []
    for chapter in range(CHAPTERS_PER_BOOK):
        word = WORDS[(book * CHAPTERS_PER_BOOK + chapter) % len(WORDS)]
        chapters.append(f"CHAPTER {chapter + 1}.\n\nBook {book + 1} part {chapter + 1} says {word}.\n")
    return "\n".join(chapters)


def _tts_inputs(folder: Path) -> list[str]:
    lines = ["id,text_path"]
    for book in range(BOOKS):
        (folder / f"book{book}.txt").write_text(_book_text(book), encoding="utf-8")
        lines.append(f"book{book},book{book}.txt")
    (folder / "books.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["tts", str(folder / "books.csv")]


def _stt_inputs(folder: Path) -> list[str]:
    audio = folder / "audio"
    audio.mkdir()
    source = REPO_ROOT / "manifests" / "audio" / "jfk.flac"
    for n in range(RECORDINGS):  # distinct clips: each its own cache key and its own call
        start_s = (n * 0.7) % 10.0
        argv = [ffmpeg_exe(), "-v", "error", "-ss", f"{start_s:.2f}", "-t", str(CLIP_S), "-i", str(source)]
        subprocess.run([*argv, "-ac", "1", "-ar", "16000", str(audio / f"clip{n:02d}.flac")], check=True)
    return ["stt", str(audio)]


@dataclass
class Chain:
    """Runs of one command on one output folder against one server, with the server's counts."""

    flow: str
    server: LocalServer
    argv: list[str]
    env: dict[str, str]
    out: Path
    runs: list[tuple[int, str]] = field(default_factory=list)  # (exit code, output) of every run

    @property
    def path(self) -> str:
        return SPEECH if self.flow == "tts" else TRANSCRIPTIONS

    def answered(self) -> int:
        return self.server.stats.count(self.path, 200)

    def repeats(self) -> int:
        """Answers the chain paid for more than once."""
        ok = self.server.stats.requests(self.path, 200)
        if self.flow == "tts":
            return len(ok) - len({r.input_sha256 for r in ok})
        return len(ok) - RECORDINGS  # each recording is one call; only meaningful once all are done

    def start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv, env=self.env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )

    def finish(self, proc: subprocess.Popen[bytes]) -> tuple[int, str]:
        output = proc.communicate(timeout=RUN_HANG_GUARD_S)[0].decode("utf-8", "replace")
        self.runs.append((proc.returncode, output))
        return proc.returncode, output

    def run_until(self, answers: int, signum: int) -> tuple[int, str, int]:
        """Start a run, send ``signum`` once the server has answered ``answers`` calls in all; (code, output,
        calls in flight bound)."""
        target = max(answers, self.answered() + 1)  # every run gets at least one new answer
        proc = self.start()
        deadline = time.monotonic() + RUN_HANG_GUARD_S
        while self.answered() < target:
            if proc.poll() is not None:
                code, output = self.finish(proc)
                pytest.fail(f"the run ended (exit {code}) before {target} answers:\n{output[-3000:]}")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"no {target} answers within {RUN_HANG_GUARD_S} s")
            time.sleep(POLL_S)
        proc.send_signal(signum)
        code, output = self.finish(proc)
        return code, output, MAX_IN_FLIGHT

    def run_to_end(self) -> tuple[int, str]:
        return self.finish(self.start())


@pytest.fixture(scope="module")
def chain_factory(prefect_harness: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Chain]]:
    servers: list[LocalServer] = []

    def make(flow: str) -> Chain:
        folder = tmp_path_factory.mktemp(f"{flow}-chain")
        command = _tts_inputs(folder) if flow == "tts" else _stt_inputs(folder)
        server = LocalServer(ServerOptions(port=0, faults=FaultSpec(latency_ms=LATENCY_MS))).start()
        servers.append(server)
        out = folder / "out"
        argv = [sys.executable, "-m", "flows.cli", *command, "--out", str(out), "--base-url", server.origin]
        argv += ["--max-in-flight", str(MAX_IN_FLIGHT)]
        env = {
            **os.environ,
            "PREFECT_API_URL": prefect_harness,  # one Prefect server for every process of the session
            "PYTHONPATH": str(REPO_ROOT),
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "NO_COLOR": "1",
        }
        return Chain(flow, server, argv, env, out)

    yield make
    for server in servers:
        server.stop()


@dataclass
class ChainResult:
    chain: Chain
    in_flight_bound: int  # repeats allowed: the calls in flight at every signal, summed


def _graceful(chain: Chain) -> ChainResult:
    for answers, signum in STOP_POINTS:
        code, output, _ = chain.run_until(answers, signum)
        assert code == 128 + signum, output[-3000:]
        assert "Traceback" not in output, output
        assert f"stopped by {signal.Signals(signum).name}" in output, output[-2000:]
        assert "to continue (answered calls are not sent again): voxbatch " in output, output[-2000:]
        assert chain.repeats() == 0 or chain.flow == "stt"  # stt repeats are counted once all are done
    code, output = chain.run_to_end()
    assert code == 0, output[-3000:]
    return ChainResult(chain, 0)


def _killed(chain: Chain) -> ChainResult:
    bound = 0
    for answers in KILL_POINTS:
        code, _, in_flight = chain.run_until(answers, signal.SIGKILL)
        assert code == -signal.SIGKILL
        bound += in_flight
    code, output = chain.run_to_end()
    assert code == 0, output[-3000:]
    return ChainResult(chain, bound)


@pytest.fixture(scope="module")
def chains(chain_factory: Callable[[str], Chain]) -> dict[tuple[str, str], ChainResult]:
    """Every chain, run once for the module (the runs are the expensive part; the tests read their results)."""
    started = time.perf_counter()
    results = {}
    for flow in ("tts", "stt"):
        results[(flow, "graceful")] = _graceful(chain_factory(flow))
        results[(flow, "killed")] = _killed(chain_factory(flow))
    print(f"interrupt matrix: {sum(len(r.chain.runs) for r in results.values())} runs in "
          f"{time.perf_counter() - started:.1f} s")
    return results


def _outputs(chain: Chain) -> dict[str, str]:
    """The finished outputs that must not depend on how the run was interrupted."""
    if chain.flow == "tts":
        names = [f"book{b}{suffix}" for b in range(BOOKS) for suffix in (".srt", ".chapters.json")]
    else:
        names = [f"clip{n:02d}{suffix}" for n in range(RECORDINGS) for suffix in (".txt", ".srt")]
    found = {}
    for name in names:
        matches = list(chain.out.glob(name)) or list(chain.out.glob(f"**/{name}"))
        assert matches, f"{name} missing in {chain.out}: {sorted(p.name for p in chain.out.rglob('*'))}"
        found[name] = matches[0].read_text(encoding="utf-8")
    return found


@pytest.mark.parametrize("flow", ["tts", "stt"])
def test_graceful_stops_exit_130_or_143_and_the_rerun_pays_nothing_twice(
    chains: dict[tuple[str, str], ChainResult], flow: str
) -> None:
    chain = chains[(flow, "graceful")].chain
    assert [code for code, _ in chain.runs] == [130, 130, 143, 0]
    assert chain.repeats() == 0
    assert "skipped" not in chain.runs[-1][1] or "ok" in chain.runs[-1][1]


@pytest.mark.parametrize("flow", ["tts", "stt"])
def test_after_sigkills_the_reruns_finish_every_item(chains: dict[tuple[str, str], ChainResult], flow: str) -> None:
    chain = chains[(flow, "killed")].chain
    assert len(chain.runs) == len(KILL_POINTS) + 1 and chain.runs[-1][0] == 0
    assert "Traceback" not in chain.runs[-1][1]


@pytest.mark.parametrize("flow", ["tts", "stt"])
def test_outputs_are_complete_and_the_same_however_the_runs_were_stopped(
    chains: dict[tuple[str, str], ChainResult], flow: str
) -> None:
    graceful = _outputs(chains[(flow, "graceful")].chain)
    killed = _outputs(chains[(flow, "killed")].chain)
    assert graceful == killed
    if flow == "tts":
        chapters = json.loads(graceful["book0.chapters.json"])
        assert len(chapters if isinstance(chapters, list) else chapters["chapters"]) == CHAPTERS_PER_BOOK
        assert "amber" in graceful["book0.srt"].lower()
    else:
        assert sum(bool(text.strip()) for name, text in graceful.items() if name.endswith(".txt")) >= RECORDINGS // 2


@pytest.mark.parametrize("flow", ["tts", "stt"])
@pytest.mark.parametrize("kind", ["graceful", "killed"])
def test_the_ledger_stays_readable(chains: dict[tuple[str, str], ChainResult], flow: str, kind: str) -> None:
    chain = chains[(flow, kind)].chain
    ledger = read_ledger(chain.out / "ledger")
    items = ledger[ledger["kind"] == "item"]
    finished = set(items.loc[items["status"].isin(["ok"]), "item_id"])
    assert len(finished) == (BOOKS if flow == "tts" else RECORDINGS)
    if kind == "graceful":
        assert set(items["status"]) <= {"ok", "stopped", "skipped"}
        assert (items["status"] == "stopped").any()


@pytest.mark.parametrize("flow", ["tts", "stt"])
def test_repeats_after_sigkill_are_at_most_the_calls_in_flight(
    chains: dict[tuple[str, str], ChainResult], flow: str
) -> None:
    result = chains[(flow, "killed")]
    assert result.chain.repeats() <= result.in_flight_bound
