"""``voxbatch report`` on a million-row ledger: load + summarize + render, wall time and peak memory.

The ledger is synthetic but shaped like the real one: 30 UTC days, two nightly runs a day (an audiobook run on
three TTS models, one of them with no known price, and a transcript run on Whisper), items of 32 chunk calls
each followed by their item record, 20 % cache hits, 2 % failures, some retries, long-tailed latencies. It is
built as one Arrow table of the ledger's schema with numpy (no per-row Python) and written as a hive-partitioned
Parquet dataset twice: compacted (one file per day) and as a live run leaves it (a file per 1000 rows, the
``LedgerWriter``'s flush threshold, so about a thousand files).

Each measurement is a fresh child process (``spawn``) that reports its own peak RSS (``VmHWM``, interpreter and
pandas included); the page cache is warm. The last column is the whole ``voxbatch report`` command as a
subprocess, imports included.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from bench.bench_silence import _cpu_name
from bench.bench_stitch import _vmhwm_kib
from voxbatch.ledger.report import ReportKey, ReportOptions, load_calls, render, summarize
from voxbatch.ledger.schema import LEDGER_SCHEMA
from voxbatch.ledger.writer import DEFAULT_FLUSH_ROWS, PARTITION_COLUMN

ROWS = int(os.environ.get("VOXBATCH_BENCH_REPORT_ROWS", "1000000"))  # lower it for a quick look
DAYS = 30
RUNS_PER_DAY = 2  # an audiobook run and a transcript run each night
CALLS_PER_ITEM = 32  # then one item record: 33 rows per item
FIRST_DAY = date(2026, 2, 1)
RUN_SPAN_S = 4 * 3600  # a night's run spreads its calls over 4 hours
SECONDS_PER_DAY = 86_400
MICROS_PER_S = 1_000_000
TTS_MODELS = ("hexgrad/Kokoro-82M", "canopylabs/orpheus-3b-0.1-ft", "cartesia/sonic-2")
STT_MODEL = "openai/whisper-large-v3"
UNPRICED_MODEL = "cartesia/sonic-2"  # its calls have cost_usd = None: the report's cost is a lower bound
USD_PER_CHAR = 4.0 / 1_000_000
USD_PER_AUDIO_S = 0.0015 / 60
CACHE_HIT_SHARE = 0.20
FAILED_SHARE = 0.02
RETRY_SHARES = (0.05, 0.01)  # calls that needed a 2nd, and a 3rd attempt
REPEATS = 3
BYS: tuple[ReportKey, ...] = ("model", "day", "item")
LAYOUTS = {"one file per day": 0, f"a file per {DEFAULT_FLUSH_ROWS} rows": DEFAULT_FLUSH_ROWS}


def _strings(codes: np.ndarray, names: list[str]) -> pa.Array:
    """``names[code]`` per row, built as a dictionary array and decoded by Arrow (no Python loop over rows)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(names, pa.string())).cast(pa.string())


def ledger_table(rows: int, seed: int = 0) -> pa.Table:
    """``rows`` synthetic ledger rows of :data:`LEDGER_SCHEMA` plus the ``date`` partition column."""
    rng = np.random.default_rng(seed)
    runs = DAYS * RUNS_PER_DAY
    i = np.arange(rows)
    run = i * runs // rows
    day = run // RUNS_PER_DAY
    is_tts = run % RUNS_PER_DAY == 0
    run_start = (run * rows + runs - 1) // runs  # first row of each row's run
    in_run = i - run_start
    item_in_run = in_run // (CALLS_PER_ITEM + 1)
    items_per_run = rows // runs // (CALLS_PER_ITEM + 1) + 1
    item = run * items_per_run + item_in_run
    is_item_row = (in_run % (CALLS_PER_ITEM + 1) == CALLS_PER_ITEM) | (i == rows - 1)
    is_call = ~is_item_row
    model_code = np.where(is_tts, item % len(TTS_MODELS), len(TTS_MODELS))
    models = [*TTS_MODELS, STT_MODEL]

    draw = rng.random(rows)
    cached = is_call & (draw < CACHE_HIT_SHARE)
    failed = is_call & ~cached & (draw > 1 - FAILED_SHARE)
    retry = rng.random(rows)
    attempts = np.where(cached, 0, 1 + (retry < RETRY_SHARES[0]) + (retry < RETRY_SHARES[1])).astype(np.int32)
    attempts = np.where(failed, 5, attempts).astype(np.int32)
    chars = rng.integers(200, 500, rows)
    audio_s = np.where(is_tts, chars / 15.0, rng.uniform(60, 600, rows))
    ttfb = rng.lognormal(np.log(0.3), 0.5, rows)
    latency = ttfb + rng.lognormal(np.log(1.5), 0.6, rows) + np.where(attempts > 1, 2.0 * (attempts - 1), 0.0)
    cost = np.where(is_tts, chars * USD_PER_CHAR, audio_s * USD_PER_AUDIO_S)
    cost = np.where(cached | failed, 0.0, cost)
    unpriced = model_code == models.index(UNPRICED_MODEL)
    midnight_us = int(datetime.combine(FIRST_DAY, datetime.min.time(), UTC).timestamp()) * MICROS_PER_S
    run_start_us = midnight_us + day * SECONDS_PER_DAY * MICROS_PER_S + (run % RUNS_PER_DAY) * MICROS_PER_S * 3600
    started = run_start_us + rng.integers(0, RUN_SPAN_S * MICROS_PER_S, rows)  # row order is irrelevant
    status = np.where(failed, 1, np.where(cached, 2, 0))
    status = np.where(is_item_row, np.where(rng.random(rows) < FAILED_SHARE, 1, 0), status)
    day_names = [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(DAYS)]
    columns = {
        "run_id": _strings(run, [f"{'tts' if r % 2 == 0 else 'stt'}-{r // 2:02d}" for r in range(runs)]),
        "flow": _strings(np.where(is_tts, 0, 1), ["audiobook", "transcripts"]),
        "item_id": _strings(item, [f"item-{k:06d}" for k in range(int(item.max()) + 1)]),
        "chunk_index": pa.array(in_run % (CALLS_PER_ITEM + 1), pa.int32(), mask=is_item_row),
        "provider": _strings(np.zeros(rows, np.int32), ["together"]),
        "endpoint": _strings(np.where(is_tts, 0, 1), ["speech", "transcriptions"]),
        "model": _strings(model_code, models),
        "voice": pa.array(np.full(rows, "af_heart"), pa.string(), mask=~is_tts),
        "transport": _strings(np.where(is_item_row, 2, np.where(cached, 1, 0)), ["rest", "cache", "item"]),
        "input_chars": pa.array(np.where(is_tts, chars, 0), pa.int64(), mask=~is_tts),
        "audio_seconds": pa.array(audio_s, pa.float64()),
        "bytes": pa.array(chars * 2000, pa.int64()),
        "attempts": pa.array(np.where(is_item_row, CALLS_PER_ITEM, attempts), pa.int32()),
        "retry_wait_s": pa.array(np.maximum(attempts - 1, 0) * 2.0, pa.float64()),
        "http_status": pa.array(np.where(failed, 503, 200), pa.int32(), mask=cached | is_item_row),
        "status": _strings(status, ["ok", "failed", "cached"]),
        "error": pa.array(np.full(rows, "ServerError: 503"), pa.string(), mask=~failed),
        "request_id": pa.array(np.full(rows, "req"), pa.string(), mask=~is_call | cached),
        "started_at": pa.array(started, pa.int64()).cast(LEDGER_SCHEMA.field("started_at").type),
        "ttfb_s": pa.array(ttfb, pa.float64(), mask=~is_call | cached | failed),
        "latency_s": pa.array(np.where(cached, 0.0, latency * np.where(is_item_row, 20, 1)), pa.float64()),
        "cost_usd": pa.array(cost, pa.float64(), mask=unpriced),
        "cached": pa.array(cached, pa.bool_()),
        "kind": _strings(is_item_row.astype(np.int32), ["call", "item"]),
        "chunks": pa.array(np.full(rows, CALLS_PER_ITEM), pa.int32(), mask=is_call),
        PARTITION_COLUMN: _strings(day, day_names),
    }
    schema = LEDGER_SCHEMA.append(pa.field(PARTITION_COLUMN, pa.string()))
    return pa.Table.from_pydict(columns, schema=schema)


def write_ledger(table: pa.Table, root: Path, rows_per_file: int) -> int:
    """Write ``table`` as a hive-partitioned ledger (0: one file per date); returns the number of files."""
    ds.write_dataset(
        table,
        root,
        format="parquet",
        partitioning=ds.partitioning(pa.schema([pa.field(PARTITION_COLUMN, pa.string())]), flavor="hive"),
        basename_template="run-bench-{i}.parquet",
        max_rows_per_file=rows_per_file,
        max_rows_per_group=rows_per_file or 1 << 20,
        existing_data_behavior="overwrite_or_ignore",
    )
    return len(list(root.rglob("*.parquet")))


def _measure_in_this_process(root: str, by: ReportKey) -> dict[str, float]:
    """One report in a fresh child process: each stage's wall time, the summary's size and the peak RSS."""
    options = ReportOptions(by=by)
    start = time.perf_counter()
    calls = load_calls(Path(root), options.since)
    loaded = time.perf_counter()
    summary = summarize(calls, options.by)
    summed = time.perf_counter()
    text = render(summary, options.fmt)
    done = time.perf_counter()
    return {
        "load_s": loaded - start,
        "summarize_s": summed - loaded,
        "render_s": done - summed,
        "wall_s": done - start,
        "rows_out": float(len(summary)),
        "chars_out": float(len(text)),
        "python_mib": _vmhwm_kib() / 1024,
    }


def _measure(root: Path, by: ReportKey) -> dict[str, float]:
    runs = []
    for _ in range(REPEATS):
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            runs.append(pool.submit(_measure_in_this_process, str(root), by).result())
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _run_command(root: Path, by: ReportKey) -> dict[str, float]:
    """The whole command as a user runs it (interpreter start and imports included): wall time and peak RSS."""
    argv = [sys.executable, "-m", "flows.cli", "report", str(root), "--by", by]
    repo = Path(__file__).resolve().parent.parent
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=repo, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (RUSAGE_CHILDREN would be the max of all)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, argv)
        runs.append({"wall_s": time.perf_counter() - start, "peak_mib": usage.ru_maxrss / 1024})
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def report_section() -> str:
    scratch = Path(tempfile.mkdtemp(prefix="voxbatch-bench-report-"))
    rows: list[str] = []
    try:
        start = time.perf_counter()
        table = ledger_table(ROWS)
        built_s = time.perf_counter() - start
        calls = pc.sum(pc.equal(table.column("kind"), "call")).as_py()
        layouts = []
        load_before = os.getloadavg()
        for label, rows_per_file in LAYOUTS.items():
            root = scratch / f"ledger-{rows_per_file}"
            files = write_ledger(table, root, rows_per_file)
            mib = sum(p.stat().st_size for p in root.rglob("*.parquet")) / 2**20
            layouts.append(f"{label}: {files} files, {mib:.0f} MiB")
            for by in BYS:
                med = _measure(root, by)
                cli = _run_command(root, by)
                rows.append(
                    f"| {label} | `--by {by}` | {med['rows_out']:,.0f} | {med['load_s']:.2f} s | "
                    f"{med['summarize_s']:.2f} s | {med['render_s']:.2f} s | **{med['wall_s']:.2f} s** | "
                    f"{med['python_mib']:.0f} MiB | {cli['wall_s']:.2f} s, {cli['peak_mib']:.0f} MiB |"
                )
        del table
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return "\n".join(
        [
            f"## Ledger report (issue 6): {ROWS:,} rows",
            "",
            f"{ROWS:,} ledger rows ({calls:,} calls and {ROWS - calls:,} item records) over {DAYS} UTC days, "
            f"{DAYS * RUNS_PER_DAY} runs, {len(TTS_MODELS) + 1} models, items of {CALLS_PER_ITEM} calls; built "
            f"with numpy/Arrow in {built_s:.1f} s and written twice ({'; '.join(layouts)}). Each figure is the "
            f"median of {REPEATS} fresh child processes; 'peak RSS' is the child's VmHWM (interpreter, pandas and "
            "pyarrow included); 'command' is `python -m flows.cli report LEDGER --by ...` as a subprocess "
            "(imports included, output to /dev/null): its wall time and peak RSS. "
            f"{_cpu_name()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} "
            "after. Command: `.venv/bin/python -m bench.bench_report` (also part of `make bench`).",
            "",
            "| ledger files | grouping | rows out | load | summarize | render (table) | load + summarize + render "
            "| peak RSS | command: wall, peak RSS |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def run() -> list[str]:
    return [report_section()]


if __name__ == "__main__":
    for section in run():
        print(section, flush=True)
