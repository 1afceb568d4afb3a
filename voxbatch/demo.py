"""The first-run demo: one speech and one transcription call against the embedded local server.

It reads the first row of each demo manifest and sends it through the real client (rate-limited,
retried, written to the ledger) over real HTTP, exactly as it would go to Together. The audiobook and
transcript flows replace this with the full pipeline.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from voxbatch.atomic import write_bytes_atomic, write_text_atomic
from voxbatch.audio.pcm import to_wav
from voxbatch.client.call_options import CallContext, SpeechOptions, TranscriptionOptions
from voxbatch.client.options import ClientOptions
from voxbatch.client.sync import SyncSpeechClient
from voxbatch.endpoint import EMBEDDED_KEY
from voxbatch.ledger.writer import LedgerWriter, read_ledger
from voxbatch.server.options import ServerOptions
from voxbatch.server.runner import LocalServer

AUDIOBOOK_MANIFEST = "audiobook-demo.csv"
TRANSCRIPT_MANIFEST = "transcripts-demo.csv"


def run_demo(manifests: Path, out: Path) -> list[str]:
    """Synthesize the first audiobook row and transcribe the first transcript row; return a report."""
    book = pd.read_csv(manifests / AUDIOBOOK_MANIFEST).iloc[0]  # columns: id, text_path, model, voice, ...
    clip = pd.read_csv(manifests / TRANSCRIPT_MANIFEST).iloc[0]
    text = (manifests / str(book["text_path"])).read_text(encoding="utf-8")
    audio_path = manifests / str(clip["audio_path"])
    ledger_root = out / "ledger"
    run_id = f"demo-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    report: list[str] = []
    with LocalServer(ServerOptions(port=0)) as server:
        report.append(f"embedded local server: {server.base_url}")
        options = ClientOptions(api_key=EMBEDDED_KEY, base_url=server.base_url)
        with (
            LedgerWriter(ledger_root, run_id) as ledger,
            SyncSpeechClient(options, ledger=ledger.append, run_id=run_id, flow="demo") as client,
        ):
            speech = client.speak(
                text,
                SpeechOptions(model=str(book["model"]), voice=str(book["voice"])),
                context=CallContext(str(book["id"]), 0),
            )
            assert speech.sample_rate_hz is not None
            wav = to_wav(np.frombuffer(speech.audio, dtype="<i2"), speech.sample_rate_hz)
            wav_path = write_bytes_atomic(out / f"{book['id']}.wav", wav)
            report.append(f"speech: {len(text)} characters -> {wav_path} ({speech.duration_s:.1f} s of audio)")
            transcript = client.transcribe(
                audio_path,
                TranscriptionOptions(language=str(clip["language"]), timestamp_granularities=("segment", "word")),
                context=CallContext(str(clip["item_id"])),
            )
            json_path = write_text_atomic(out / f"{clip['item_id']}.json", json.dumps(transcript.raw, indent=2))
            report.append(f"transcription: {transcript.duration_s:.1f} s of audio -> {json_path}")
            report.append(f"  text: {transcript.text}")
    rows = read_ledger(ledger_root, run_id=run_id)
    cost = rows["cost_usd"].sum()
    report.append(f"ledger: {len(rows)} calls in {ledger_root}, ${cost:.6f} at Together's list prices")
    return report
