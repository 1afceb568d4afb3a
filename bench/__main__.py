"""Run every benchmark and print a Markdown report (copied into BENCHMARKS.md)."""

from __future__ import annotations

import platform
import sys

from bench import (
    bench_audiobook,
    bench_charts,
    bench_client,
    bench_learning,
    bench_limiter,
    bench_report,
    bench_server,
    bench_silence,
    bench_startup,
    bench_stitch,
)


def main() -> None:
    print(f"# voxbatch benchmarks\n\nPython {sys.version.split()[0]} on {platform.machine()}, {platform.system()}\n")
    modules = (
        bench_server,
        bench_client,
        bench_learning,
        bench_limiter,
        bench_stitch,
        bench_silence,
        bench_audiobook,
        bench_report,
        bench_charts,
        bench_startup,
    )
    for module in modules:
        for section in module.run():
            print(section, flush=True)


if __name__ == "__main__":
    main()
