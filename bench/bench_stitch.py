"""Stitching a long book from its chunk files: wall time and peak memory, three ways.

1. ``stitch_book`` to mp3: streaming, two passes (loudness), pauses, fades, chapters;
2. pydub in memory: ``AudioSegment`` per chunk, ``+=`` chunk and silence, ``export`` mp3;
3. a bare ``ffmpeg -f concat`` of the same chunk files to mp3 (no pauses, no loudness, no fades): the floor.

Every run happens in a fresh child process, which reports its own peak RSS (``VmHWM``) and that of
its ffmpeg child (polled from ``/proc``: ``RUSAGE_CHILDREN`` would report the Python parent's RSS,
which a forked child carries until it execs), so one method's memory never counts against another's.
pydub copies the whole book at every ``+=``, so its time grows with the square of the book's length;
it gets a time budget and, when it runs out, the row says how far it got and extrapolates.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from voxbatch.audio.chunk_levels import measure_chunk
from voxbatch.audio.ffmpeg import ffmpeg_exe
from voxbatch.audio.stitch import BookMeta, PauseKind, Piece, StitchOptions, fade_samples, stitch_book

RATE_HZ = 24000
CHUNK_S = 10.0
LONG_HOURS = float(os.environ.get("VOXBATCH_BENCH_STITCH_HOURS", "10"))  # lower it for a quick look
PYDUB_BUDGET_S = float(os.environ.get("VOXBATCH_BENCH_PYDUB_BUDGET_S", "1200"))
POLL_S = 0.05
SHORT_HOURS = 1.0
SHORT_REPEATS = 3
DISTINCT_CHUNKS = 48  # the files are all distinct on disk; their audio cycles through this many signals
CHAPTER_EVERY = 60  # chunks: 10-minute chapters
PARAGRAPH_EVERY = 5
MIN_FREE_BYTES_PER_HOUR = 5 * 2 * RATE_HZ * 3600  # chunks + pydub's temp wav + outputs, with room to spare
BITRATE_KBPS = 64
OPTS = StitchOptions(audio_format="mp3", sample_rate_hz=RATE_HZ, bitrate_kbps=BITRATE_KBPS)
_DURATION_RE = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def _speechlike(rng: np.random.Generator) -> np.ndarray:
    """10 s of something speech-shaped: gliding harmonics and noise under a ~4 Hz syllable envelope."""
    n = int(CHUNK_S * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    f0 = rng.uniform(100, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE_HZ
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6)), 0, None) ** 2
    signal = (voiced + 0.3 * rng.normal(size=n)) * envelope
    level = 10 ** (rng.uniform(-32, -18) / 20) * 32768  # chunks come out of the engine at different levels
    return np.clip(signal / np.sqrt(np.mean(signal**2)) * level, -32768, 32767).astype("<i2")


def _make_chunks(folder: Path, count: int) -> list[Path]:
    """Write ``count`` chunk files (raw s16le; ``.sw`` is the extension ffmpeg's concat demuxer knows), each with its
    loudness statistics beside it (``.levels``), as the chunk cache keeps them."""
    rng = np.random.default_rng(0)
    signals = [_speechlike(rng) for _ in range(DISTINCT_CHUNKS)]
    fade = fade_samples(OPTS.fade_ms, RATE_HZ)
    levels = [measure_chunk(signal, fade).to_bytes() for signal in signals]
    paths = []
    for i in range(count):
        path = folder / f"c{i:05d}.sw"
        path.write_bytes(signals[i % DISTINCT_CHUNKS].tobytes())
        path.with_suffix(".levels").write_bytes(levels[i % DISTINCT_CHUNKS])
        paths.append(path)
    return paths


def _pause(i: int, count: int) -> PauseKind:
    if (i + 1) % CHAPTER_EVERY == 0 or i == count - 1:
        return "chapter"
    return "paragraph" if (i + 1) % PARAGRAPH_EVERY == 0 else "sentence"


def _pieces(paths: Sequence[Path]) -> list[Piece]:
    return [
        Piece(
            p,
            _pause(i, len(paths)),
            i // CHAPTER_EVERY,
            f"chunk {i}",
            f"Chapter {i // CHAPTER_EVERY + 1}",
            levels_path=p.with_suffix(".levels"),
        )
        for i, p in enumerate(paths)
    ]


class _OverBudget(Exception):
    def __init__(self, done: int) -> None:
        super().__init__(f"stopped after {done} chunks")
        self.done = done


def _with_stitch_book(paths: Sequence[Path], out: Path, budget_s: float) -> None:
    stitch_book(_pieces(paths), out, BookMeta("Benchmark", "Nobody"), OPTS)


def _with_pydub(paths: Sequence[Path], out: Path, budget_s: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "couldn't find ffmpeg": it is set just below
        from pydub import AudioSegment
    AudioSegment.converter = ffmpeg_exe()
    pause_ms = {"none": 0.0, "sentence": 300.0, "paragraph": 800.0, "chapter": 2000.0}
    start = time.perf_counter()
    book = AudioSegment.silent(duration=500, frame_rate=RATE_HZ)
    for done, piece in enumerate(_pieces(paths)):
        if time.perf_counter() - start > budget_s:
            raise _OverBudget(done)
        book += AudioSegment(data=piece.pcm_path.read_bytes(), sample_width=2, frame_rate=RATE_HZ, channels=1)
        book += AudioSegment.silent(duration=pause_ms[piece.pause_after], frame_rate=RATE_HZ)
    book.export(str(out), format="mp3", bitrate=f"{BITRATE_KBPS}k")


def _with_ffmpeg_concat(paths: Sequence[Path], out: Path, budget_s: float) -> None:
    listing = out.with_suffix(".ffconcat")
    lines = ["ffconcat version 1.0"]
    for path in paths:
        lines += [f"file '{path}'", f"option sample_rate {RATE_HZ}", "option ch_layout mono"]
    listing.write_text("\n".join(lines) + "\n")
    argv = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0"]
    argv += ["-i", str(listing), "-c:a", "libmp3lame", "-b:a", f"{BITRATE_KBPS}k", "-f", "mp3", str(out)]
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


METHODS: dict[str, tuple[str, Callable[[Sequence[Path], Path, float], None]]] = {
    "stitch": ("`stitch_book` (streaming, loudness, pauses, fades, chapters)", _with_stitch_book),
    "concat": ("bare `ffmpeg -f concat` (no pauses, no loudness)", _with_ffmpeg_concat),
    "pydub": ("pydub in memory (`+=` chunk and silence, `export`)", _with_pydub),
}


def _vm_kib(pid: int | str = "self", field: str = "VmHWM") -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _vmhwm_kib(pid: int | str = "self") -> int:
    return _vm_kib(pid, "VmHWM")


class _ChildPeak(threading.Thread):
    """Polls this process's ffmpeg children: the highest peak RSS of one (VmHWM only grows), and the highest sum of
    the RSS of those running at once (a book encoded in segments runs one per CPU)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib = 0
        self.together_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(POLL_S):
            together = 0
            for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    for pid in children.read_text().split():
                        if b"ffmpeg" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]:
                            self.peak_kib = max(self.peak_kib, _vmhwm_kib(pid))
                            together += _vm_kib(pid, "VmRSS")
            self.together_kib = max(self.together_kib, together)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak_kib


def _output_hours(path: Path) -> float:
    probe = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    match = _DURATION_RE.search(probe.stderr)
    if not match:
        return math.nan
    hours, minutes, seconds = match.groups()
    return int(hours) + int(minutes) / 60 + float(seconds) / 3600


def _measure_in_this_process(method: str, folder: str, count: int, budget_s: float) -> dict[str, float]:
    """Run one method (in a fresh child process) and report wall time, peak RSS and the output's length."""
    paths = sorted(Path(folder).glob("c*.sw"))[:count]
    out = Path(folder) / f"out-{method}-{os.getpid()}.mp3"
    watcher = _ChildPeak()
    watcher.start()
    done = count
    start = time.perf_counter()
    try:
        METHODS[method][1](paths, out, budget_s)
    except _OverBudget as over:
        done = over.done
    wall = time.perf_counter() - start
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "wall_s": wall,
        "done": done / count,
        "python_mib": _vmhwm_kib() / 1024,
        "ffmpeg_mib": watcher.stop() / 1024,
        "ffmpeg_all_mib": watcher.together_kib / 1024,
        "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
        "hours": _output_hours(out) if out.exists() else math.nan,
        "mib": out.stat().st_size / 2**20 if out.exists() else math.nan,
    }
    out.unlink(missing_ok=True)
    out.with_suffix(".ffconcat").unlink(missing_ok=True)
    return result


def _measure(method: str, folder: Path, count: int, budget_s: float) -> dict[str, float]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_measure_in_this_process, method, str(folder), count, budget_s).result()


def _rows(folder: Path, count: int, repeats: int) -> list[str]:
    rows = []
    hours = count * CHUNK_S / 3600
    for method, (label, _) in METHODS.items():
        budget = PYDUB_BUDGET_S if method == "pydub" else math.inf
        runs = [_measure(method, folder, count, budget) for _ in range(repeats)]
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        if med["done"] < 1:
            # Each += copies the book so far: time ~ (chunks done)^2, memory ~ 2x the book.
            estimate = med["wall_s"] / med["done"] ** 2
            wall = (
                f"> {med['wall_s']:.0f} s: stopped after {med['done'] * hours:.1f} h of audio "
                f"(~{estimate:.0f} s for all of it, extrapolated as the square)"
            )
            speed = "-"
            whole = med["python_mib"] / med["done"]  # the book in memory twice at each +=: linear in its length
            python = f"{med['python_mib']:.0f} MiB at {med['done'] * hours:.1f} h (~{whole:.0f} MiB at {hours:g} h)"
            output = "none"
        else:
            wall = f"{med['wall_s']:.1f} s"
            speed = f"{hours * 3600 / med['wall_s']:.0f}x"
            python = f"{med['python_mib']:.0f} MiB"
            output = f"{med['hours']:.3f} h, {med['mib']:.0f} MiB"
        ffmpeg = f"{med['ffmpeg_mib']:.0f} MiB ({med['ffmpeg_all_mib']:.0f} MiB)" if med["ffmpeg_mib"] else "-"
        rows.append(
            f"| {hours:g} h | {label} | {wall} | {speed} | {med['cpu_s']:.1f} s | {python} | {ffmpeg} | {output} |"
        )
    return rows


def _pcm_mib(count: int) -> float:
    return count * CHUNK_S * RATE_HZ * 2 / 2**20


def stitch_section() -> str:
    scratch = Path(tempfile.mkdtemp(prefix="voxbatch-bench-stitch-"))
    try:
        free = shutil.disk_usage(scratch).free
        df = subprocess.run(["df", "-h", str(scratch)], capture_output=True, text=True).stdout.strip().splitlines()
        long_hours = LONG_HOURS
        note = ""
        if free < MIN_FREE_BYTES_PER_HOUR * long_hours:
            long_hours = max(SHORT_HOURS, float(int(free / MIN_FREE_BYTES_PER_HOUR)))
            note = f" Disk was tight ({free / 2**30:.0f} GiB free), so the long case is {long_hours:g} h, not 10 h."
        long_count = round(long_hours * 3600 / CHUNK_S)
        short_count = min(round(SHORT_HOURS * 3600 / CHUNK_S), long_count)
        load_before = "/".join(f"{value:.1f}" for value in os.getloadavg())
        start = time.perf_counter()
        _make_chunks(scratch, long_count)
        made_s = time.perf_counter() - start
        pcm_gib = _pcm_mib(long_count) / 1024
        short_hours = short_count * CHUNK_S / 3600
        rows = _rows(scratch, short_count, SHORT_REPEATS) + _rows(scratch, long_count, 1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return "\n".join(
        [
            "## Stitching a book: streaming vs in memory",
            "",
            f"{long_count} chunk files of {CHUNK_S:g} s (raw s16le mono, {RATE_HZ} Hz, {pcm_gib:.2f} GiB, written in "
            f"{made_s:.0f} s; warm in the page cache) stitched to mp3 at {BITRATE_KBPS} kb/s. The {short_hours:g} h "
            f"case uses the first {short_count} chunks, median of {SHORT_REPEATS} runs; the {long_hours:g} h case is "
            f"one run.{note} Each run is a fresh child process; 'Python peak' is its VmHWM, 'ffmpeg peak' the peak "
            "RSS of one ffmpeg child and, in brackets, the most its ffmpeg children held at once (`stitch_book` runs "
            "one encoder per CPU); Python and ffmpeg overlap in time, so their sum is an upper bound. Load average "
            f"before: {load_before}. Scratch disk: "
            f"`{df[-1] if df else '?'}`.",
            "",
            "| book | method | wall | speed (audio / wall) | CPU (incl. ffmpeg) | Python peak | ffmpeg peak | output |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "`stitch_book` measures the book's loudness from each chunk's stored statistics (as the chunk cache keeps "
            "them), reads every chunk once and does pauses, fades, a look-ahead peak limiter and ID3 chapters, with "
            "one mp3 encoder per CPU (segments joined without re-encoding); its memory does not depend on the book's "
            "length. pydub holds "
            "the whole book as one `bytes` object and copies it at every `+=`, then writes it again as a temp wav "
            "for ffmpeg.",
            "",
        ]
    )


def run() -> list[str]:
    return [stitch_section()]


if __name__ == "__main__":
    for section in run():
        print(section, flush=True)
