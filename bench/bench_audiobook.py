"""Alice's Adventures in Wonderland end to end on the embedded engine, and its re-stitch against a bare ffmpeg encode.

Side by side in one run (issue 17):

1. ``voxbatch tts`` to m4b and to mp3, each on an empty cache, in a child process (embedded local server, Prefect's
   ephemeral API): wall time, CPU-seconds of every process (the child and all it waited for: ffmpeg, Prefect's
   server) and the largest process's peak RSS; then the m4b again on the full cache (outputs removed: a re-stitch).
   These runs share one ``PREFECT_HOME`` whose database a tiny book has made first (:func:`_warm_up`), as any
   user's second run finds it; the mp3 is run once more with a fresh ``PREFECT_HOME`` (a first run ever: the
   database is created and migrated), reported apart.
2. In a fresh child process: the book's assembly from the full cache (:func:`assemble_book`: stitch, two-pass
   loudness, encode, sidecars) against a bare ``ffmpeg`` encode of the same samples (the stitched book written
   once as WAV, then encoded with the same codec settings by one ffmpeg), interleaved, median of
   :data:`REPEATS`.

The machine may be shared: CPU-seconds move much less with its load than wall times do, and the load average is
printed with the figures.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ALICE = REPO / "tests" / "data" / "carroll-alice.txt"
KIB_PER_MIB = 1024
REPEATS = int(os.environ.get("VOXBATCH_BENCH_AUDIOBOOK_REPEATS", "3"))
M4B_TARGET_S = 90.0
MP3_TARGET_S = 60.0
RESTITCH_TARGET_RATIO = 1.1
TITLE = "Alice's Adventures in Wonderland"


def _manifest(folder: Path, audio_format: str) -> Path:
    manifest = folder / f"alice-{audio_format}.csv"
    manifest.write_text(
        f"id,title,author,text_path,format\nalice,{TITLE},Lewis Carroll,{ALICE},{audio_format}\n", encoding="utf-8"
    )
    return manifest


# Runs a command and reports, as its last line of stderr, the CPU time and the largest peak RSS of that command and
# everything it waited for (RUSAGE_CHILDREN of a fresh process: nothing else of the benchmark's is counted).
_MEASURED = (
    "import json, resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:])\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'code': done.returncode, 'cpu_s': usage.ru_utime + usage.ru_stime, "
    "'peak_kib': usage.ru_maxrss}), file=sys.stderr)\n"
)


def _run_tts(manifest: Path, out: Path, prefect_home: Path | None = None) -> dict[str, float | str]:
    """One ``voxbatch tts`` run; ``prefect_home``: a shared one (default: a fresh one, a cold database)."""
    home = prefect_home or out / ".prefect"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("TOGETHER_API_KEY", None)
    command = [sys.executable, "-m", "flows.cli", "tts", str(manifest), "--out", str(out)]
    command += ["--allow-path", str(ALICE.parent), "--allow-path", str(manifest.parent)]
    load = _load()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *command], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    usage = json.loads(done.stderr.strip().splitlines()[-1])
    if usage["code"] != 0:
        raise RuntimeError(f"voxbatch tts failed:\n{done.stdout}\n{done.stderr}")
    return {
        "wall_s": wall,
        "cpu_s": usage["cpu_s"],
        "peak_mib": usage["peak_kib"] / KIB_PER_MIB,
        "line": done.stdout.strip().splitlines()[0],
        "load": load,
    }


def _warm_up(folder: Path, prefect_home: Path) -> None:
    """A one-sentence book through ``prefect_home``: its database created and migrated, as after any first run."""
    text = folder / "warm-up.txt"
    text.write_text("A sentence to warm the database up.\n", encoding="utf-8")
    manifest = folder / "warm-up.csv"
    manifest.write_text(f"id,title,text_path,format\nwarm,Warm up,{text},mp3\n", encoding="utf-8")
    _run_tts(manifest, folder / "warm-up", prefect_home)


def _cpu_self_and_children_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    cpu0, start = _cpu_self_and_children_s(), time.perf_counter()
    work()
    return time.perf_counter() - start, _cpu_self_and_children_s() - cpu0


def restitch_child(manifest: Path, cache_root: Path, scratch: Path, repeats: int) -> dict[str, Any]:
    """In a fresh process: assemble the book from the full cache, and encode the same samples with bare ffmpeg."""
    from voxbatch.audio.containers import codec_argv, container_argv
    from voxbatch.audio.ffmpeg import ffmpeg_exe
    from voxbatch.audio.stitch import LOSSY_HEADROOM_DB, BookMeta, Piece, stitch_book
    from voxbatch.cache import ChunkCache
    from voxbatch.manifest.tts import BookDefaults, load_tts_manifest
    from voxbatch.pipelines.audiobook.assemble import assemble_book, stitch_options
    from voxbatch.pipelines.audiobook.plan import plan_book
    from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome
    from voxbatch.run.spec import EMBEDDED_ENDPOINT_ID

    (row,), _ = load_tts_manifest(manifest, BookDefaults(), [ALICE.parent])
    plan = plan_book(row, EMBEDDED_ENDPOINT_ID)
    cache = ChunkCache(cache_root)
    chunks = [cache.get(job.key) for job in plan.jobs]
    outcomes = [ChunkOutcome(row.id, j.chunk.index, c, from_cache=True) for j, c in zip(plan.jobs, chunks, strict=True)]
    present = [c for c in chunks if c is not None]
    if len(present) != len(chunks):
        raise RuntimeError("the cache is not full")
    opts = stitch_options(plan)
    # The same samples as the book (the lossy formats' limiter ceiling), written once as WAV for the bare encode.
    wav_opts = replace(opts, audio_format="wav", peak_ceiling_dbfs=opts.peak_ceiling_dbfs - LOSSY_HEADROOM_DB)
    pieces = [
        Piece(
            c.pcm_path, j.chunk.pause_after, j.chunk.chapter_index, "", "", j.chunk.pause_s, levels_path=c.levels_path
        )
        for j, c in zip(plan.jobs, present, strict=True)
    ]
    wav = scratch / "book.wav"
    stitch_book(pieces, wav, BookMeta("the same samples"), wav_opts)

    def bare() -> None:
        argv = [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-i", str(wav)]
        argv += codec_argv(opts.audio_format, opts.sample_rate_hz, opts.bitrate_kbps)
        argv += container_argv(opts.audio_format)
        subprocess.run([*argv, str(scratch / f"bare.{opts.audio_format}")], check=True)

    runs: dict[str, list[tuple[float, float]]] = {"restitch": [], "bare": []}
    for _ in range(repeats):
        runs["restitch"].append(_timed(lambda: assemble_book(plan, outcomes, scratch / "out")))
        runs["bare"].append(_timed(bare))
    wav.unlink()
    result: dict[str, Any] = {"levels": sum(c.levels_path is not None for c in present), "chunks": len(present)}
    for name, timings in runs.items():
        result[f"{name}_wall_s"] = statistics.median(wall for wall, _ in timings)
        result[f"{name}_cpu_s"] = statistics.median(cpu for _, cpu in timings)
    result["ratios"] = [a[0] / b[0] for a, b in zip(runs["restitch"], runs["bare"], strict=True)]
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB
    return result


def _restitch(manifest: Path, cache_root: Path, scratch: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    argv = [sys.executable, "-m", "bench.bench_audiobook", "--restitch", str(manifest), str(cache_root), str(scratch)]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"re-stitch benchmark failed:\n{done.stdout}\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def run() -> list[str]:
    if not ALICE.is_file():
        return ["## Audiobook: Alice end to end\n\n(skipped: tests/data/carroll-alice.txt not found)\n"]
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="voxbatch-alice-") as tmp:
        folder = Path(tmp)
        m4b, mp3 = _manifest(folder, "m4b"), _manifest(folder, "mp3")
        home = folder / "prefect-home"
        _warm_up(folder, home)
        cold_m4b = _run_tts(m4b, folder / "m4b", home)
        cold_mp3 = _run_tts(mp3, folder / "mp3", home)
        first_mp3 = _run_tts(mp3, folder / "mp3-first-run")  # a fresh PREFECT_HOME: the database made and migrated
        (folder / "m4b" / "alice.build.json").unlink()  # force a re-stitch from the full cache
        warm_m4b = _run_tts(m4b, folder / "m4b", home)
        cache_root = folder / "m4b" / ".voxbatch-cache"
        (folder / "scratch").mkdir()
        restitch = {
            fmt: _restitch(manifest, cache_root, folder / "scratch") for fmt, manifest in (("m4b", m4b), ("mp3", mp3))
        }
    load_after = _load()
    rows = [
        ("m4b, empty cache, warm Prefect database", cold_m4b),
        ("mp3, empty cache, warm Prefect database", cold_mp3),
        ("mp3, empty cache, cold Prefect database (a first run: fresh PREFECT_HOME)", first_mp3),
        ("m4b, full cache (outputs removed: re-stitch only), warm database", warm_m4b),
    ]
    table = [
        f"| {name} | {r['load']} | {r['wall_s']:.1f} s | {r['cpu_s']:.1f} s | {r['peak_mib']:.0f} MiB | {r['line']} |"
        for name, r in rows
    ]
    stitch_rows = [
        f"| {fmt} | {r['restitch_wall_s']:.1f} s / {r['restitch_cpu_s']:.1f} s | {r['bare_wall_s']:.1f} s / "
        f"{r['bare_cpu_s']:.1f} s | **{r['restitch_wall_s'] / r['bare_wall_s']:.2f}x** "
        f"({', '.join(f'{x:.2f}' for x in r['ratios'])}) | {int(r['levels'])} of {int(r['chunks'])} | "
        f"{r['peak_mib']:.0f} MiB |"
        for fmt, r in restitch.items()
    ]
    ratio = restitch["m4b"]["restitch_wall_s"] / restitch["m4b"]["bare_wall_s"]
    return [
        "\n".join(
            [
                "## Audiobook: Alice end to end on the embedded engine (issue 17)",
                "",
                f"`voxbatch tts` on {ALICE.name} (144,396 characters, 12 chapters), Kokoro voice, in a child process",
                "(embedded server in-process, Prefect's ephemeral API as its own subprocess). CPU is every process's",
                "user + system time (the command and everything it waited for: ffmpeg, Prefect's server). "
                f"Load average (1/5/15 min) before: {load_before}, after: {load_after}; {os.cpu_count()} CPUs.",
                "",
                "| run | load average at its start | wall time | CPU | peak RSS (largest process) | result |",
                "|---|---|---|---|---|---|",
                *table,
                "",
                f"Re-stitch from the full cache (`assemble_book`: loudness, encode, chapters, sidecars) against a bare "
                f"ffmpeg encode of the same samples (the stitched book as WAV, the same codec settings, one process); "
                f"median of {REPEATS}, interleaved, in one fresh process:",
                "",
                "| format | re-stitch wall / CPU | bare ffmpeg wall / CPU | ratio (each run) | chunks with stored "
                "levels | peak RSS (Python) |",
                "|---|---|---|---|---|---|",
                *stitch_rows,
                "",
                "Targets (the empty-cache runs on a warm Prefect database): "
                f"m4b at most {M4B_TARGET_S:.0f} s: {_met(float(cold_m4b['wall_s']) <= M4B_TARGET_S)}; "
                f"mp3 at most {MP3_TARGET_S:.0f} s: {_met(float(cold_mp3['wall_s']) <= MP3_TARGET_S)}; "
                f"re-stitch at most {RESTITCH_TARGET_RATIO}x a bare encode: {_met(ratio <= RESTITCH_TARGET_RATIO)}.",
                "",
            ]
        )
    ]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--restitch"]:
        manifest, cache_root, scratch = (Path(arg) for arg in sys.argv[2:5])
        print(json.dumps(restitch_child(manifest, cache_root, scratch, REPEATS)))
    else:
        for section in run():
            print(section, flush=True)
