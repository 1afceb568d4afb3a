"""Alice's Adventures in Wonderland end to end on the embedded engine: wall time and peak memory.

Runs ``voxbatch tts`` in a child process (embedded local server, Prefect's ephemeral API), first on an
empty cache and then again on the full cache, and reads the child's peak RSS.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALICE = REPO / "tests" / "data" / "carroll-alice.txt"
KIB_PER_MIB = 1024


def _run_tts(manifest: Path, out: Path) -> tuple[float, float, str]:
    (out / ".prefect").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_HOME": str(out / ".prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("TOGETHER_API_KEY", None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "tts", str(manifest), "--out", str(out), "--allow-path", str(ALICE.parent)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"voxbatch tts failed:\n{done.stdout}\n{done.stderr}")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / KIB_PER_MIB
    return wall, peak_mib, done.stdout.strip().splitlines()[0]


def run() -> list[str]:
    if not ALICE.is_file():
        return ["## Audiobook: Alice end to end\n\n(skipped: tests/data/carroll-alice.txt not found)\n"]
    with tempfile.TemporaryDirectory(prefix="voxbatch-alice-") as tmp:
        folder = Path(tmp)
        manifest = folder / "alice.csv"
        manifest.write_text(
            f"id,title,author,text_path,format\nalice,Alice's Adventures in Wonderland,Lewis Carroll,{ALICE},m4b\n",
            encoding="utf-8",
        )
        cold_s, cold_mib, cold_line = _run_tts(manifest, folder / "out")
        (folder / "out" / "alice.build.json").unlink()  # force a re-stitch from the full cache
        warm_s, warm_mib, warm_line = _run_tts(manifest, folder / "out")
    return [
        "\n".join(
            [
                "## Audiobook: Alice end to end on the embedded engine",
                "",
                f"`voxbatch tts` on {ALICE.name} (144,396 characters, 12 chapters) to m4b, Kokoro voice, in a child",
                "process (embedded server in-process, Prefect's ephemeral API as its own subprocess, not counted).",
                "",
                "| run | wall time | peak RSS (largest process) | result |",
                "|---|---|---|---|",
                f"| empty cache | {cold_s:.1f} s | {cold_mib:.0f} MiB | {cold_line} |",
                f"| full cache, re-stitch only | {warm_s:.1f} s | {warm_mib:.0f} MiB | {warm_line} |",
                "",
            ]
        )
    ]
