"""The ``voxbatch`` command as a real process against a given Prefect API, and a small book to give it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT, environ_without_prefect_settings

RUN_TIMEOUT_S = 180.0


def command_env(api: str, **extra: str) -> dict[str, str]:
    """This environment without Prefect settings, pointed at ``api`` (quiet logs, no analytics)."""
    env = environ_without_prefect_settings()
    env.update(
        PREFECT_API_URL=api,
        PREFECT_HOME=os.environ["PREFECT_HOME"],
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        **extra,
    )
    return env


def voxbatch(api: str, *args: str, timeout: float = RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """``python -m flows.cli *args`` run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=REPO_ROOT,
        env=command_env(api),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def book(folder: Path) -> Path:
    """Three chapters, about a dozen chunks: enough calls for a shared rate to show. Returns its manifest."""
    chapters = []
    for n in ("I", "II", "III"):
        body = " ".join(f"Line {k} of chapter {n} is spoken here, at an even pace." for k in range(12))
        chapters.append(f"CHAPTER {n}.\nPart {n}\n\n{body}\n\n{body.replace('Line', 'Verse')}\n")
    (folder / "book.txt").write_text("\n".join(chapters), encoding="utf-8")
    manifest = folder / "books.csv"
    manifest.write_text("id,text_path,format\nbook,book.txt,mp3\n", encoding="utf-8")
    return manifest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``check`` until it is true; ``timeout_s`` is a hang guard (a stuck process), never a speed bound."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")
