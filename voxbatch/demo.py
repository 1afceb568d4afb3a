"""The first-run demo: one speech and one transcription call against the embedded local server.

It reads the first row of each demo manifest, talks to the server over real HTTP exactly as it
would talk to Together, and writes the results under ``out``. The audiobook and transcript flows
replace this with the full pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pandas as pd

from voxbatch.atomic import write_bytes_atomic, write_text_atomic
from voxbatch.server.options import ServerOptions
from voxbatch.server.runner import LocalServer

DEMO_TIMEOUT_S = 120.0
AUDIOBOOK_MANIFEST = "audiobook-demo.csv"
TRANSCRIPT_MANIFEST = "transcripts-demo.csv"


def run_demo(manifests: Path, out: Path) -> list[str]:
    """Synthesize the first audiobook row and transcribe the first transcript row; return a report."""
    book = pd.read_csv(manifests / AUDIOBOOK_MANIFEST).iloc[0]
    clip = pd.read_csv(manifests / TRANSCRIPT_MANIFEST).iloc[0]
    text = (manifests / str(book["text_path"])).read_text(encoding="utf-8")
    audio_path = manifests / str(clip["audio_path"])
    report: list[str] = []
    with (
        LocalServer(ServerOptions(port=0)) as server,
        httpx.Client(base_url=server.base_url, timeout=DEMO_TIMEOUT_S) as http,
    ):
        report.append(f"embedded local server: {server.base_url}")
        speech = http.post(
            "/audio/speech",
            json={"model": book["model"], "voice": book["voice"], "input": text, "response_format": "wav"},
        )
        speech.raise_for_status()
        wav_path = write_bytes_atomic(out / f"{book['item_id']}.wav", speech.content)
        report.append(f"speech: {len(text)} characters -> {wav_path} ({len(speech.content)} bytes)")
        with audio_path.open("rb") as fh:
            stt = http.post(
                "/audio/transcriptions",
                data={
                    "model": "openai/whisper-large-v3",
                    "language": str(clip["language"]),
                    "response_format": "verbose_json",
                    "timestamp_granularities": "word",
                },
                files={"file": (audio_path.name, fh)},
            )
        stt.raise_for_status()
        result = stt.json()
        json_path = write_text_atomic(out / f"{clip['item_id']}.json", json.dumps(result, indent=2))
        report.append(f"transcription: {result['duration']:.1f} s of audio -> {json_path}")
        report.append(f"  text: {result['text']}")
        billed = server.stats.snapshot()
        report.append(
            f"server billed {billed['characters_billed']} characters and {billed['audio_seconds_billed']} audio seconds"
        )
    return report
