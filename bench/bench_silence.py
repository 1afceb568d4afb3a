"""Silence detection on 10 hours of speech: ``scan_levels`` + ``find_silences`` against pydub.

The audio is real speech (jfk.flac, 11 s, at a random gain) repeated with pauses of room tone between
the copies, written once, streaming, as a 16 kHz mono FLAC; the 5- and 10-minute cases are prefixes of
the same audio. Methods, each in a fresh child process that reports its own peak RSS (``VmHWM``) and
that of its ffmpeg child (see :mod:`bench.bench_stitch`):

1. ``scan_levels`` (streaming decode, 10 ms frame levels) then ``find_silences`` (adaptive threshold);
2. pydub: ``AudioSegment.from_file`` (the whole file in memory), then ``detect_nonsilent`` with the
   same threshold (the one ``find_silences`` chose on that file) and the same 300 ms minimum, at
   ``seek_step=1`` (pydub's default: one RMS window per millisecond).

pydub at ``seek_step=1`` runs on the prefixes; on the whole file it runs only when its time, estimated
from the 10-minute prefix, fits ``VOXBATCH_BENCH_PYDUB_FULL_BUDGET_S``, and the row extrapolated from
the prefix is always shown (and labelled). pydub on the whole file with a coarser ``seek_step`` (fewer
windows, edges to the step) runs too, when memory allows holding the decoded file a few times over.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from bench.bench_stitch import _ChildPeak, _vmhwm_kib
from voxbatch.audio.containers import StreamingEncoder
from voxbatch.audio.ffmpeg import decode_to_pcm, ffmpeg_exe
from voxbatch.audio.silence import SilenceOptions, find_silences, scan_levels, threshold_for

RATE_HZ = 16000
HOURS = float(os.environ.get("VOXBATCH_BENCH_SILENCE_HOURS", "10"))  # lower it for a quick look
PYDUB_FULL_BUDGET_S = float(os.environ.get("VOXBATCH_BENCH_PYDUB_FULL_BUDGET_S", "600"))
PYDUB_COARSE_BUDGET_S = 180.0  # the coarse whole-file pydub run takes the finest step that fits this
COARSE_SEEK_STEPS_MS = (10, 20, 50, 100)
PREFIX_MINUTES = (5, 10)
REPEATS = 3
ROOM_TONE_DBFS = -60.0  # the pauses: quiet room noise, 40 dB under the speech
PAUSE_RANGE_S = (0.2, 2.0)  # drawn uniformly: some too short to count, most sentence pauses
GAIN_RANGE_DB = (-6.0, 0.0)  # each copy of the speech at a random level
MIN_SILENCE_MS = 300
OPTIONS = SilenceOptions(min_silence_ms=MIN_SILENCE_MS)
PCM_BYTES_PER_HOUR = RATE_HZ * 2 * 3600  # 115.2 MB of s16 mono per hour
PYDUB_MEMORY_FACTOR = 4  # pydub holds the decoded file ~3 times while loading it; keep a margin
JFK_PATH = Path(__file__).resolve().parent.parent / "manifests" / "audio" / "jfk.flac"


def _write_speech(path: Path, hours: float) -> int:
    """Write ``hours`` of speech and pauses as FLAC, block by block; returns the pauses of 300 ms or more."""
    rng = np.random.default_rng(0)
    speech = decode_to_pcm(JFK_PATH.read_bytes(), RATE_HZ).astype(np.float64)
    left = round(hours * 3600 * RATE_HZ)
    pauses = 0
    with StreamingEncoder(path, "flac", RATE_HZ, ";FFMETADATA1\n") as encoder:
        while left > 0:
            gain = 10 ** (rng.uniform(*GAIN_RANGE_DB) / 20)
            pause_s = rng.uniform(*PAUSE_RANGE_S)
            room = rng.normal(size=round(pause_s * RATE_HZ)) * 32768 * 10 ** (ROOM_TONE_DBFS / 20)
            block = np.concatenate([speech * gain, room])
            if left >= len(block) and pause_s * 1000 >= MIN_SILENCE_MS:
                pauses += 1
            encoder.write(np.round(block[:left]).astype(np.int16))
            left -= len(block)
        encoder.finish()
    return pauses


def _prefix(source: Path, minutes: int) -> Path:
    out = source.with_name(f"prefix-{minutes}min.flac")
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source)]
    subprocess.run([*argv, "-t", str(minutes * 60), "-c:a", "flac", str(out)], check=True)
    return out


def _pydub_silences(nonsilent: list[list[int]], length_ms: int) -> int:
    """Silent stretches between (and around) pydub's non-silent ranges."""
    if not nonsilent:
        return 1
    return len(nonsilent) - 1 + (nonsilent[0][0] > 0) + (nonsilent[-1][1] < length_ms)


def _measure_in_this_process(method: str, path: str, seek_step_ms: int, threshold_dbfs: float) -> dict[str, float]:
    """One detection in a fresh child process: wall time of each stage, CPU, peak RSS, silences found."""
    watcher = _ChildPeak()
    watcher.start()
    start = time.perf_counter()
    if method == "voxbatch":
        scan = scan_levels(Path(path), OPTIONS)
        loaded = time.perf_counter()
        silences = len(find_silences(scan, OPTIONS))
        threshold_dbfs = threshold_for(scan, OPTIONS)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "couldn't find ffmpeg" (set below), audioop's deprecation
            from pydub import AudioSegment
            from pydub.silence import detect_nonsilent
        AudioSegment.converter = ffmpeg_exe()
        audio = AudioSegment.from_file(path, codec="flac")  # codec: the wheel's ffmpeg comes without ffprobe
        loaded = time.perf_counter()
        nonsilent = detect_nonsilent(audio, MIN_SILENCE_MS, threshold_dbfs, seek_step_ms)
        silences = _pydub_silences(nonsilent, len(audio))
    done = time.perf_counter()
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": done - start,
        "load_s": loaded - start,
        "detect_s": done - loaded,
        "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
        "python_mib": _vmhwm_kib() / 1024,
        "ffmpeg_mib": watcher.stop() / 1024,
        "silences": silences,
        "threshold_dbfs": threshold_dbfs,
    }


def _measure(method: str, path: Path, repeats: int, seek_step_ms: int = 1, threshold: float = 0.0) -> dict[str, float]:
    runs = []
    for _ in range(repeats):
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            runs.append(pool.submit(_measure_in_this_process, method, str(path), seek_step_ms, threshold).result())
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _extrapolate(runs: list[tuple[float, dict[str, float]]], key: str, seconds: float) -> float:
    """``key`` at ``seconds`` of audio, on the line through the last two runs (through zero if only one)."""
    points = [(0.0, 0.0)] + [(x, run[key]) for x, run in runs]
    (x0, y0), (x1, y1) = points[-2:]
    return y1 + (y1 - y0) / (x1 - x0) * (seconds - x1)


def _row(audio: str, label: str, med: dict[str, float], ours: dict[str, float] | None) -> str:
    ratio = f"{med['wall_s'] / ours['wall_s']:.0f}x" if ours else "1x"
    memory = f"{med['python_mib'] / ours['python_mib']:.1f}x" if ours else "1x"
    return (
        f"| {audio} | {label} | {med['wall_s']:.1f} s | {med['load_s']:.1f} s + {med['detect_s']:.1f} s | {ratio} | "
        f"{med['cpu_s']:.1f} s | {med['python_mib']:.0f} MiB | {memory} | {med['ffmpeg_mib']:.0f} MiB | "
        f"{med['silences']:.0f} |"
    )


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _mem_available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def silence_section() -> str:
    scratch = Path(tempfile.mkdtemp(prefix="voxbatch-bench-silence-"))
    notes: list[str] = []
    try:
        full = scratch / "speech.flac"
        start = time.perf_counter()
        pauses = _write_speech(full, HOURS)
        made_s = time.perf_counter() - start
        flac_mib = full.stat().st_size / 2**20
        load_before = os.getloadavg()
        rows: list[str] = []
        prefix_runs: list[tuple[float, dict[str, float]]] = []  # (seconds of audio, pydub medians)
        for minutes in [m for m in PREFIX_MINUTES if m < HOURS * 60]:
            path = _prefix(full, minutes)
            ours = _measure("voxbatch", path, REPEATS)
            theirs = _measure("pydub", path, REPEATS, 1, ours["threshold_dbfs"])
            rows.append(_row(f"{minutes} min", f"`scan_levels` + `find_silences` (median of {REPEATS})", ours, None))
            rows.append(_row(f"{minutes} min", "pydub `detect_nonsilent`, seek_step=1", theirs, ours))
            prefix_runs.append((minutes * 60.0, theirs))
        ours = _measure("voxbatch", full, REPEATS)
        threshold = ours["threshold_dbfs"]
        audio = f"{HOURS:g} h"
        rows.append(_row(audio, f"`scan_levels` + `find_silences` (median of {REPEATS})", ours, None))
        seconds = HOURS * 3600
        if prefix_runs:
            est = {key: _extrapolate(prefix_runs, key, seconds) for key in ("load_s", "detect_s", "python_mib")}
            est_wall = est["load_s"] + est["detect_s"]
            fitted = " and ".join(f"{s / 60:g}" for s, _ in prefix_runs[-2:])
            rows.append(
                f"| {audio} | pydub seek_step=1, **extrapolated** linearly from the {fitted} min prefixes "
                f"| ~{est_wall:.0f} s | ~{est['load_s']:.0f} s + ~{est['detect_s']:.0f} s | "
                f"~{est_wall / ours['wall_s']:.0f}x | - | ~{est['python_mib']:.0f} MiB | "
                f"~{est['python_mib'] / ours['python_mib']:.0f}x | - | - |"
            )
        else:
            est_wall, est = math.inf, {"load_s": math.inf, "detect_s": math.inf}
        available = _mem_available_bytes()
        needed = PYDUB_MEMORY_FACTOR * PCM_BYTES_PER_HOUR * HOURS
        if available < needed:
            notes.append(
                f"pydub did not run on the whole file: {available / 2**30:.1f} GiB available, "
                f"~{needed / 2**30:.1f} GiB needed."
            )
        else:
            if est_wall <= PYDUB_FULL_BUDGET_S:
                theirs = _measure("pydub", full, 1, 1, threshold)
                rows.append(_row(audio, "pydub `detect_nonsilent`, seek_step=1 (1 run, **measured**)", theirs, ours))
            else:
                notes.append(
                    f"pydub at seek_step=1 on the whole file was estimated at {est_wall:.0f} s, over the "
                    f"{PYDUB_FULL_BUDGET_S:.0f} s budget (VOXBATCH_BENCH_PYDUB_FULL_BUDGET_S): not run."
                )
            step = next(
                (s for s in COARSE_SEEK_STEPS_MS if est["load_s"] + est["detect_s"] / s <= PYDUB_COARSE_BUDGET_S),
                COARSE_SEEK_STEPS_MS[-1],
            )
            theirs = _measure("pydub", full, 1, step, threshold)
            rows.append(
                _row(audio, f"pydub `detect_nonsilent`, **seek_step={step}** (1 run; edges to {step} ms)", theirs, ours)
            )
        load_after = os.getloadavg()
        df = subprocess.run(["df", "-h", str(scratch)], capture_output=True, text=True).stdout.strip().splitlines()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return "\n".join(
        [
            f"## Silence detection (issue 5): {HOURS:g} h of speech, streaming numpy vs pydub",
            "",
            f"{HOURS:g} h of 16 kHz mono speech: jfk.flac (11 s) at a random gain of {GAIN_RANGE_DB[0]:g} to "
            f"{GAIN_RANGE_DB[1]:g} dB, then {PAUSE_RANGE_S[0]:g}-{PAUSE_RANGE_S[1]:g} s of room tone at "
            f"{ROOM_TONE_DBFS:g} dBFS, repeated ({pauses} pauses of {MIN_SILENCE_MS} ms or more), written as one "
            f"FLAC ({flac_mib:.0f} MiB, in {made_s:.0f} s); the {' and '.join(map(str, PREFIX_MINUTES))} min cases "
            f"are its prefixes. Both methods read the same FLAC and look for silences of {MIN_SILENCE_MS} ms or "
            f"more; pydub gets the threshold `find_silences` chose on the same file ({threshold:.1f} dBFS on the "
            "whole). Each run is a fresh child process; 'Python peak' is its VmHWM, 'ffmpeg peak' its ffmpeg "
            f"child's. {_cpu_name()}, {os.cpu_count()} cores; load average "
            f"{load_before[0]:.1f} before, {load_after[0]:.1f} after. Scratch disk: `{df[-1] if df else '?'}`.",
            "",
            "| audio | method | wall | load/scan + detect | wall vs ours | CPU (incl. ffmpeg) | Python peak "
            "| peak vs ours | ffmpeg peak | silences found |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            *notes,
            "",
        ]
    )


def run() -> list[str]:
    return [silence_section()]


if __name__ == "__main__":
    for section in run():
        print(section, flush=True)
