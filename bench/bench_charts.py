"""What the charts cost (issue 18): collecting a book's loudness while it is encoded, importing matplotlib, and
drawing the ledger's chart (30 days, 3 models) and a 10-hour book's loudness chart, with their PNG sizes.

The collector is fed the stitcher's blocks (``BLOCK_SAMPLES`` int16 samples at 24 kHz) and set beside the
:class:`~voxbatch.audio.loudness.LevelMeter` that already measures the same signal in the encode pass. The import
is timed in a fresh child process; drawing is the best of a few repeats in this one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from bench.bench_silence import _cpu_name
from voxbatch.audio.loudness import LevelMeter
from voxbatch.audio.loudness_series import LoudnessCollector, LoudnessSeries
from voxbatch.audio.stitch import BLOCK_SAMPLES
from voxbatch.charts.ledger_chart import ledger_png
from voxbatch.charts.loudness_chart import loudness_png
from voxbatch.ledger.trends import LedgerTrends, ModelSpend

RATE_HZ = 24_000
HOUR_S = 3600
BOOK_HOURS = 10
DAYS = 30
REPEATS = 3
KIB = 1024


def _best_s(action: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def _per_hour_s(add: Callable[[np.ndarray], None]) -> float:
    block = (np.random.default_rng(0).standard_normal(BLOCK_SAMPLES) * 3000).astype(np.int16)
    blocks = HOUR_S * RATE_HZ // BLOCK_SAMPLES

    def feed() -> None:
        for _ in range(blocks):
            add(block)

    return _best_s(feed)


def _import_s() -> float:
    code = "import time; t = time.perf_counter(); import matplotlib.figure, matplotlib.backends.backend_agg; "
    code += "print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def _trends() -> LedgerTrends:
    rng = np.random.default_rng(1)
    days = tuple(f"2026-03-{d:02d}" for d in range(1, DAYS + 1))
    spend = tuple(ModelSpend(f"model-{m}", tuple(rng.uniform(0, 5, DAYS).tolist())) for m in range(3))
    calls = tuple(int(n) for n in rng.integers(500, 2000, DAYS))
    rate = tuple(rng.uniform(0, 0.05, DAYS).tolist())
    p50 = tuple(rng.uniform(0.5, 1.5, DAYS).tolist())
    return LedgerTrends("day", days, spend, calls, calls, rate, p50, tuple(v * 3 for v in p50))


def _book() -> LoudnessSeries:
    seconds = BOOK_HOURS * HOUR_S
    rng = np.random.default_rng(2)
    squares = (rng.uniform(0.5, 1.5, seconds) * 3000.0**2).tolist()
    peaks = rng.uniform(8000, 20000, seconds).tolist()
    chapters = tuple((f"Chapter {n}", n * seconds / 40) for n in range(40))
    return LoudnessSeries(1.0, tuple(squares), tuple(peaks), chapters, -20.0, -3.0)


def run() -> list[str]:
    collector = _per_hour_s(LoudnessCollector(RATE_HZ).add)
    meter = _per_hour_s(LevelMeter().add)
    imported = _import_s()
    trends, book = _trends(), _book()
    ledger_chart, loudness_chart = ledger_png(trends, "bench"), loudness_png(book, "bench")
    ledger_s = _best_s(lambda: ledger_png(trends, "bench"))
    loudness_s = _best_s(lambda: loudness_png(book, "bench"))
    rows = [
        "## Charts (issue 18): loudness collection, matplotlib, drawing\n",
        f"{_cpu_name()}; best of {REPEATS}.\n",
        "| what | time | PNG |",
        "|---|---|---|",
        f"| loudness collector, 1 h of 24 kHz audio in stitch blocks | {collector:.2f} s | |",
        f"| the encode pass's LevelMeter on the same audio (for scale) | {meter:.2f} s | |",
        f"| importing matplotlib (fresh process) | {imported:.2f} s | |",
        f"| ledger chart, {DAYS} days, 3 models | {ledger_s:.2f} s | {len(ledger_chart) / KIB:.0f} KiB |",
        f"| loudness chart, {BOOK_HOURS} h book, 40 chapters | {loudness_s:.2f} s | {len(loudness_chart) / KIB:.0f} KiB"
        " |",
        "",
    ]
    return ["\n".join(rows)]


if __name__ == "__main__":
    print(*run(), sep="\n")
