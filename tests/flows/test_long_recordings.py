"""``voxbatch stt`` on a 10-minute and a 31-minute recording, on the embedded default, as a real process.

Both must complete, put the spoken words at the right times, and the process must exit (before the fix
a 10-minute recording failed after five timed-out attempts, and the process kept decoding for nobody).
Recognition costs ~0.5 CPU-s per second of *speech*, so the recordings are low noise with a few real
speech clips (jfk.flac, 11 s; a shorter cut of it is not recognised reliably): the run costs seconds of
CPU, not minutes. The timeout below is a hang guard.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from voxbatch.audio import ffmpeg, pcm

RATE_HZ = 16000
NOISE_STD = 20  # about -64 dBFS: room tone, far below speech and the VAD's threshold
# Recording name -> (length in seconds, where jfk.flac clips start). The short one's clip sits next to the
# embedded server's first chunk boundary (45 s +- 15 s); the long one's is 28 minutes in.
RECORDINGS = {"ten-minutes": (600.0, (40.0,)), "thirty-one-minutes": (1860.0, (1700.0,))}
HANG_GUARD_S = 840.0
TIME_SLACK_S = 1.0
MIN_WORDS_PER_CLIP = 10  # jfk.flac has 22 words; the embedded recognizer hears 20-22 of them, some wrong
KEY_WORDS = {"country", "fellow", "americans", "american"}  # at least one is always heard right


def _recording(speech: np.ndarray, length_s: float, clip_starts: tuple[float, ...], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(round(length_s * RATE_HZ), dtype=np.float32)  # float32: a third of float64's CPU
    audio = (noise * NOISE_STD).astype(np.int16)
    for start_s in clip_starts:
        first = round(start_s * RATE_HZ)
        audio[first : first + len(speech)] = speech
    return pcm.to_wav(audio, RATE_HZ)  # WAV: no encoding cost (a 31-minute FLAC takes seconds to encode)


@pytest.mark.slow
@pytest.mark.timeout(HANG_GUARD_S + 60)
def test_stt_on_long_recordings_completes_on_the_embedded_server_and_exits(
    prefect_harness: str, tmp_path: Path, jfk_flac: bytes
) -> None:
    speech = ffmpeg.decode_to_pcm(jfk_flac, RATE_HZ)
    clip_s = len(speech) / RATE_HZ
    folder = tmp_path / "recordings"
    folder.mkdir()
    for seed, (name, (length_s, starts)) in enumerate(RECORDINGS.items()):
        (folder / f"{name}.wav").write_bytes(_recording(speech, length_s, starts, seed))
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOGETHER_", "OPENAI_"))}
    env.update(PYTHONPATH=str(REPO_ROOT), PREFECT_API_URL=prefect_harness)

    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "stt", str(folder), "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,  # the process exits by itself once the run is done
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "embedded local audio server" in done.stdout + done.stderr
    for name, (length_s, starts) in RECORDINGS.items():
        document = json.loads((out / f"{name}.json").read_text())
        assert document["duration"] == pytest.approx(length_s, abs=0.1)
        assert len(document["chunks"]) > 1  # split for the embedded recognizer
        words = document["words"]
        for start_s in starts:  # each clip's words are where the clip is
            heard = [w["word"] for w in words if start_s - TIME_SLACK_S <= w["start"] <= start_s + clip_s]
            assert len(heard) >= MIN_WORDS_PER_CLIP and KEY_WORDS & set(heard), (name, start_s, document["text"])
        # ... and nothing is heard in the room tone between them.
        assert all(any(s - TIME_SLACK_S <= w["start"] <= s + clip_s for s in starts) for w in words), words
