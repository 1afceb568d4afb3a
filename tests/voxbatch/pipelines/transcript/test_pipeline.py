"""The transcript pipeline on the embedded default keeps the recognizer's workers busy across files.

Counted at the server, not timed: each decode waits (a barrier) until as many decodes as the recognizer has
workers are running at once, so the run only finishes if the pipeline sends that many requests together from
different files; the server's peak of decodes in progress says it never sent more (they would queue there).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from voxbatch.audio.pcm import to_wav
from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ, Recognition
from voxbatch.manifest.stt import SttDefaults, load_stt_inputs
from voxbatch.pipelines.transcript.pipeline import TranscriptPipeline
from voxbatch.run.kernel import Kernel
from voxbatch.run.spec import RunSpec
from voxbatch.server import recognizer
from voxbatch.server.fake_recognizer import recognize_stand_in
from voxbatch.server.runner import LocalServer

TRANSCRIPTIONS = "/v1/audio/transcriptions"
HANG_GUARD_S = 30.0  # a decode left waiting for a partner that never comes (partners arrive together)
FILES = 4  # twice the workers: every file is one chunk, so pairs of decodes come from different files
TONE_AMPLITUDE = 10000


def _recording(seconds: float) -> bytes:
    """A loud tone of ``seconds`` between quiet second-long stretches (the stand-in recognizer hears one word)."""
    quiet = np.zeros(SPHINX_SAMPLE_RATE_HZ, dtype=np.int16)
    t = np.arange(int(seconds * SPHINX_SAMPLE_RATE_HZ)) / SPHINX_SAMPLE_RATE_HZ
    tone = (TONE_AMPLITUDE * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    return to_wav(np.concatenate([quiet, tone, quiet]), SPHINX_SAMPLE_RATE_HZ)


def test_several_files_keep_every_recognizer_worker_busy_and_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    monkeypatch.delenv("TOGETHER_BASE_URL", raising=False)
    servers: list[LocalServer] = []
    start = LocalServer.start

    def started(server: LocalServer) -> LocalServer:
        servers.append(server)
        return start(server)

    together = threading.Barrier(recognizer.DEFAULT_WORKERS, timeout=HANG_GUARD_S)

    async def in_company(
        pcm: npt.NDArray[np.int16], sample_rate_hz: int = SPHINX_SAMPLE_RATE_HZ, cancel: threading.Event | None = None
    ) -> Recognition:
        def decode() -> Recognition:
            together.wait()  # until every worker has a decode
            return recognize_stand_in(pcm, sample_rate_hz)

        return await asyncio.to_thread(decode)

    monkeypatch.setattr(LocalServer, "start", started)
    monkeypatch.setattr(recognizer, "recognize", in_company)
    folder = tmp_path / "recordings"
    folder.mkdir()
    for n in range(FILES):
        (folder / f"clip{n}.wav").write_bytes(_recording(0.5 + 0.25 * n))
    rows, errors = load_stt_inputs(folder, SttDefaults())
    assert not errors and len(rows) == FILES
    out = tmp_path / "out"

    report = asyncio.run(Kernel(TranscriptPipeline(out, ("txt",)), RunSpec(), out).run(rows, []))

    assert set(report.statuses().values()) == {"ok"}, report.items
    assert len(servers) == 1  # the embedded server
    stats = servers[0].stats
    assert stats.count(TRANSCRIPTIONS, 200) == FILES and stats.count(TRANSCRIPTIONS) == FILES
    assert stats.peak_in_progress(TRANSCRIPTIONS) == recognizer.DEFAULT_WORKERS
