"""Run every benchmark and print a Markdown report (copied into BENCHMARKS.md by hand)."""

from __future__ import annotations

import platform
import sys

from bench import bench_server


def main() -> None:
    print(f"# voxbatch benchmarks\n\nPython {sys.version.split()[0]} on {platform.machine()}, {platform.system()}\n")
    for section in bench_server.run():
        print(section)


if __name__ == "__main__":
    main()
