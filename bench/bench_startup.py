"""How fast ``voxbatch`` starts, and how fast it transcribes on the embedded default (issue 17).

Every figure is a ``voxbatch`` child process as a user runs it (``python -m flows.cli`` from the repository, no
API key: the embedded default, Prefect's own local API started by the command, a warm Prefect database in a
temporary ``PREFECT_HOME``; Python writes its bytecode cache as an installed package has it). Wall times are
medians of repeated runs; CPU-seconds are the child's and its waited-for children's (user + system), which a
machine shared with other work disturbs less than wall time. The load average is printed with each table.

- ``--help``; a dry run of Alice (144 k characters, 12 chapters); a run of Alice with every book already built
  (the command ends before anything starts); the time from the command's start to its first API request (a
  one-sentence book on a fresh output folder; the request's ``started_at`` in the ledger).
- Transcription: a folder of recordings (jfk.flac and Alice read by espeak-ng), once through the kernel in this
  process (the embedded server's own counts: how long its recognizer workers decoded, and how many at once) and
  once through ``voxbatch stt``; the real-time factor is wall time over audio time.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from voxbatch.ledger.writer import read_ledger
from voxbatch.manifest.stt import SttDefaults, load_stt_inputs
from voxbatch.pipelines.transcript.pipeline import TranscriptPipeline
from voxbatch.run.kernel import Kernel
from voxbatch.run.spec import RunSpec
from voxbatch.server import recognizer
from voxbatch.server.options import ServerOptions
from voxbatch.server.recognizer import DEFAULT_WORKERS
from voxbatch.server.runner import LocalServer
from voxbatch.server.stats import ServerStats

REPO = Path(__file__).resolve().parent.parent
ALICE = REPO / "tests" / "data" / "carroll-alice.txt"
JFK = REPO / "manifests" / "audio" / "jfk.flac"
HELP_REPEATS = 5
REPEATS = 3
SENTENCE = "One sentence, to see how soon the first request goes out."
SPOKEN_FILES = 3  # recordings of Alice read by espeak-ng, besides jfk.flac
SPOKEN_CHARS = 1200  # per recording: about 80 s of speech each (split in two for the embedded recognizer)
TRANSCRIPTIONS = "/v1/audio/transcriptions"
SPEECH_BODY = {"model": "hexgrad/Kokoro-82M", "voice": "af_heart", "response_format": "wav"}


@dataclass(frozen=True)
class Measured:
    """One child process: wall seconds, CPU-seconds, what it printed."""

    wall_s: float
    cpu_s: float
    output: str


def _env(prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TOGETHER_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached after the first start
    env.update(PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PYTHONPATH=str(REPO))
    return env


def _voxbatch(env: dict[str, str], *args: str) -> Measured:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"voxbatch {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Measured(wall, cpu, done.stdout + done.stderr)


def _median(runs: list[Measured]) -> tuple[float, float]:
    return statistics.median(r.wall_s for r in runs), statistics.median(r.cpu_s for r in runs)


def _load() -> str:
    return "load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _first_request_s(env: dict[str, str], folder: Path, attempt: int) -> tuple[float, Measured]:
    """Seconds from the command's start to its first request, on a fresh output folder."""
    out = folder / f"first-{attempt}"
    started = time.time()
    run = _voxbatch(env, "tts", str(folder / "sentence.csv"), "--out", str(out))
    calls = read_ledger(out / "ledger", columns=["kind", "started_at"])
    first = calls[calls.kind == "call"].started_at.min()
    return first.timestamp() - started, run


def startup_section() -> str:
    with tempfile.TemporaryDirectory(prefix="voxbatch-startup-") as tmp:
        folder = Path(tmp)
        env = _env(folder / "prefect-home")
        (folder / "alice.csv").write_text(f"id,text_path,format\nalice,{ALICE},wav\n", encoding="utf-8")
        (folder / "sentence.csv").write_text(f'id,text,format\nsentence,"{SENTENCE}",wav\n', encoding="utf-8")
        alice = ["tts", str(folder / "alice.csv"), "--out", str(folder / "alice"), "--allow-path", str(ALICE.parent)]
        _voxbatch(env, "--help")  # bytecode written
        helps = [_voxbatch(env, "--help") for _ in range(HELP_REPEATS)]
        dry = [_voxbatch(env, *alice, "--dry-run") for _ in range(REPEATS)]
        _first_request_s(env, folder, 0)  # creates and migrates the Prefect database: warm from here on
        firsts = [_first_request_s(env, folder, n) for n in range(1, REPEATS + 1)]
        built = _voxbatch(env, *alice)
        done = [_voxbatch(env, *alice) for _ in range(REPEATS)]
        assert all("total: 1 skipped" in r.output for r in done), done[0].output
        load = _load()
    rows = [
        ("`voxbatch --help`", "1 s", *_median(helps), ""),
        ("dry run of Alice", "3 s", *_median(dry), "no server of any kind"),
        ("Alice again, already built (all done)", "3 s", *_median(done), "no server, no flow run; 1 skipped"),
        (
            "one-sentence book: whole run",
            "",
            *_median([r for _, r in firsts]),
            "embedded audio server + Prefect API + flow run",
        ),
    ]
    first_s = statistics.median(s for s, _ in firsts)
    return "\n".join(
        [
            "## Start-up (issue 17)",
            "",
            f"Medians of {HELP_REPEATS} (`--help`) or {REPEATS} runs; {load} at the end (2 cores).",
            "",
            "| command | target | wall | CPU-s | what starts |",
            "|---|---|---|---|---|",
            *(f"| {name} | {target} | {wall:.2f} s | {cpu:.2f} | {what} |" for name, target, wall, cpu, what in rows),
            f"| first API request after the command starts (warm Prefect database) | 8 s | {first_s:.2f} s | | |",
            "",
            f"Building Alice to wav first took {built.wall_s:.0f} s ({built.cpu_s:.0f} CPU-s).",
            "",
        ]
    )


def _spoken(server: LocalServer, folder: Path) -> None:
    """``SPOKEN_FILES`` recordings of consecutive stretches of Alice, read by espeak-ng (24 kHz wav)."""
    paragraphs = [p.strip() for p in ALICE.read_text(encoding="utf-8").split("\n\n") if len(p.strip()) > 200]
    texts, current = [], ""
    for paragraph in paragraphs[20:]:  # past the contents
        current = f"{current} {paragraph}".strip()
        if len(current) >= SPOKEN_CHARS:
            texts.append(" ".join(current.split()))
            current = ""
        if len(texts) == SPOKEN_FILES:
            break
    with httpx.Client(base_url=server.base_url, timeout=300) as http:
        for n, text in enumerate(texts):
            answer = http.post("/audio/speech", json={**SPEECH_BODY, "input": text})
            answer.raise_for_status()
            (folder / f"alice-{n + 1}.wav").write_bytes(answer.content)


def _in_process(recordings: Path, out: Path) -> tuple[float, float, ServerStats]:
    """The transcript run on the embedded default in this process (the kernel, no Prefect): wall seconds,
    CPU-seconds (this process and the recognizer workers, stopped at the end) and the embedded server's stats."""
    servers: list[LocalServer] = []
    start = LocalServer.start

    def started(server: LocalServer) -> LocalServer:
        servers.append(server)
        return start(server)

    rows, errors = load_stt_inputs(recordings, SttDefaults())
    assert not errors, errors
    before = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    t0 = time.perf_counter()
    LocalServer.start = started  # type: ignore[method-assign, assignment]
    try:
        report = asyncio.run(Kernel(TranscriptPipeline(out, ("txt",)), RunSpec(), out).run(rows, []))
    finally:
        LocalServer.start = start  # type: ignore[method-assign]
    wall = time.perf_counter() - t0
    recognizer.shared_pool().stop()  # its workers' CPU counts once they have exited
    after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    assert set(report.statuses().values()) == {"ok"}, report.items
    cpu = sum(a.ru_utime - b.ru_utime + a.ru_stime - b.ru_stime for a, b in zip(after, before, strict=True))
    return wall, cpu, servers[0].stats


def transcription_section() -> str:
    with tempfile.TemporaryDirectory(prefix="voxbatch-stt-") as tmp:
        folder = Path(tmp)
        recordings = folder / "recordings"
        recordings.mkdir()
        (recordings / "jfk.flac").write_bytes(JFK.read_bytes())
        with LocalServer(ServerOptions(port=0)) as server:
            _spoken(server, recordings)
        wall_s, cpu_s, stats = _in_process(recordings, folder / "in-process")
        env = _env(folder / "prefect-home")
        _voxbatch(env, "--help")
        out = folder / "out"
        run = _voxbatch(env, "stt", str(recordings), "--out", str(out), "--formats", "txt")
        ledger = read_ledger(out / "ledger")
        load = _load()
    items = ledger[ledger.kind == "item"]
    audio_s = float(items.audio_seconds.sum())
    requests = stats.count(TRANSCRIPTIONS, 200)
    busy = stats.work_s(TRANSCRIPTIONS) / (DEFAULT_WORKERS * wall_s)
    rows = [
        ("recordings", f"{len(items)} (jfk.flac, {SPOKEN_FILES} of Alice by espeak-ng), {audio_s:.0f} s of audio"),
        ("requests", f"{requests} (recordings over 60 s are split for the embedded recognizer)"),
        ("the run in-process (kernel, no Prefect): wall, CPU-s", f"{wall_s:.1f} s, {cpu_s:.0f} CPU-s"),
        ("real-time factor of that run (wall / audio)", f"{wall_s / audio_s:.3f}"),
        (f"recognizer workers busy (decoding time / ({DEFAULT_WORKERS} x that wall))", f"{busy:.0%}"),
        ("most decodes at once (server's count)", str(stats.peak_in_progress(TRANSCRIPTIONS))),
        ("`voxbatch stt` as a command (Prefect included): wall, CPU-s", f"{run.wall_s:.1f} s, {run.cpu_s:.0f} CPU-s"),
        ("real-time factor of the command", f"{run.wall_s / audio_s:.3f}"),
    ]
    return "\n".join(
        [
            "## Transcription on the embedded default (issue 17)",
            "",
            f"The same recordings transcribed twice from an empty cache, `--formats txt`; {load} at the end (2 cores).",
            "",
            "| measure | value |",
            "|---|---|",
            *(f"| {name} | {value} |" for name, value in rows),
            "",
        ]
    )


def run() -> list[str]:
    if not ALICE.is_file():
        return ["## Start-up (issue 17)\n\n(skipped: tests/data/carroll-alice.txt not found)\n"]
    return [startup_section(), transcription_section()]


if __name__ == "__main__":
    for section in run():
        print(section, flush=True)
