"""Run the benchmarks and print a Markdown report (copied into BENCHMARKS.md).

``python -m bench`` runs them all; ``python -m bench audiobook stitch`` only those named (``bench_<name>``, and
``audit``: the audit's calibration on the embedded engines, :mod:`bench.calibrate_audit`, copied into README's
"Proof that every sentence was spoken").
"""

from __future__ import annotations

import platform
import sys

from bench import (
    bench_audiobook,
    bench_charts,
    bench_client,
    bench_codecs,
    bench_granularity,
    bench_learning,
    bench_limiter,
    bench_report,
    bench_server,
    bench_silence,
    bench_startup,
    bench_stitch,
    calibrate_audit,
)

BENCHMARKS = {  # name on the command line (BENCH=...) -> module with run() -> Markdown sections, in this order
    **{
        module.__name__.removeprefix("bench.bench_"): module
        for module in (
            bench_server,
            bench_client,
            bench_learning,
            bench_limiter,
            bench_stitch,
            bench_codecs,
            bench_silence,
            bench_audiobook,
            bench_granularity,
            bench_report,
            bench_charts,
            bench_startup,
        )
    },
    "audit": calibrate_audit,
}


def main() -> None:
    wanted = sys.argv[1:] or list(BENCHMARKS)
    unknown = [name for name in wanted if name not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    print(f"# voxbatch benchmarks\n\nPython {sys.version.split()[0]} on {platform.machine()}, {platform.system()}\n")
    for name in wanted:
        for section in BENCHMARKS[name].run():
            print(section, flush=True)


if __name__ == "__main__":
    main()
