"""Cost control end to end: dry runs priced like the real runs, the budget cap, and the run's artifacts (summary
and, with charts on, the ledger's charts and each book's loudness)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.audiobook import audiobook_flow
from flows.transcripts import transcript_flow
from voxbatch.audio.ffmpeg import decode_to_pcm, encode_pcm
from voxbatch.ledger.writer import read_ledger
from voxbatch.pipelines.transcript.split import SplitOptions
from voxbatch.run.report import RunReport
from voxbatch.run.spec import RunSpec
from voxbatch.server.runner import LocalServer

SPEECH = "/v1/audio/speech"
TRANSCRIBE = "/v1/audio/transcriptions"
ESTIMATE_TOLERANCE = 0.01  # dry-run cost and size within 1 % of the real run's ledger (per-unit prices: exact)
SHORT = "A short book. It has two sentences and costs little."
LONG = " ".join(f"Sentence number {n} of the long book goes on for a while." for n in range(40))


@pytest.fixture
def plain_server(make_server: Callable[..., LocalServer]) -> LocalServer:
    return make_server(api_key=None, recognizer="fake")


def _books(folder: Path) -> Path:
    path = folder / "books.csv"
    path.write_text(f'id,text\nshort,"{SHORT}"\nlong,"{LONG}"\n', encoding="utf-8")
    return path


def _tts(manifest: Path, out: Path, server: LocalServer, **kwargs: Any) -> RunReport:
    settings = RunSpec(
        base_url=server.origin, requests_per_minute=kwargs.pop("rpm", None), charts=kwargs.pop("charts", None)
    )
    return asyncio.run(audiobook_flow(str(manifest), str(out), spec=settings, **kwargs))


def _stt(source: Path, out: Path, server: LocalServer, **kwargs: Any) -> RunReport:
    return asyncio.run(transcript_flow(str(source), str(out), spec=RunSpec(base_url=server.origin), **kwargs))


def _calls(out: Path, run_id: str) -> Any:
    ledger = read_ledger(out / "ledger", run_id=run_id)
    return ledger[(ledger["kind"] == "call") & ~ledger["cached"]]


def test_a_tts_dry_run_calls_nothing_and_prices_what_the_run_is_billed(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path
) -> None:
    manifest, out = _books(tmp_path), tmp_path / "out"
    dry = _tts(manifest, out, plain_server, dry_run=True, rpm=30)
    assert plain_server.stats.count() == 0 and not (out / "ledger").exists()
    estimate = dry.estimate
    assert set(estimate.items) == {"short", "long"} and estimate.unit == "chars"
    assert estimate.wall_s >= estimate.requests / 30 * 60  # paced at 30 requests a minute

    real = _tts(manifest, out, plain_server)
    calls = _calls(out, real.run_id)
    assert len(calls) == estimate.requests == plain_server.stats.count(SPEECH, 200)
    assert calls["input_chars"].sum() == pytest.approx(estimate.units, rel=ESTIMATE_TOLERANCE)
    assert calls["cost_usd"].sum() == pytest.approx(estimate.cost_usd, rel=ESTIMATE_TOLERANCE)
    for item, e in estimate.items.items():
        assert real.items[item].cost_usd == pytest.approx(e.cost_usd, rel=ESTIMATE_TOLERANCE)

    again = _tts(manifest, out, plain_server, dry_run=True).estimate  # everything is built now
    assert again.requests == 0 and again.cost_usd == 0.0
    assert all(e.finished for e in again.items.values())


def test_an_stt_dry_run_prices_split_files_like_the_run(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path, jfk_flac: bytes
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "short.flac").write_bytes(jfk_flac)
    speech = decode_to_pcm(jfk_flac, 16000)
    (inbox / "longer.flac").write_bytes(encode_pcm(np.concatenate([speech] * 3), 16000, ["-f", "flac"]))
    split = SplitOptions(split_above_s=20.0, target_chunk_s=12.0, search_window_s=3.0, max_chunk_s=16.0, min_chunk_s=2)
    out = tmp_path / "out"
    dry = _stt(inbox, out, plain_server, dry_run=True, split=split)
    assert plain_server.stats.count() == 0
    estimate = dry.estimate
    assert estimate.items["longer"].chunks >= 2 and estimate.unit == "audio_s"
    real = _stt(inbox, out, plain_server, split=split)
    calls = _calls(out, real.run_id)
    assert len(calls) == estimate.requests
    assert calls["audio_seconds"].sum() == pytest.approx(estimate.units, rel=ESTIMATE_TOLERANCE)
    assert calls["cost_usd"].sum() == pytest.approx(estimate.cost_usd, rel=ESTIMATE_TOLERANCE)


def test_a_budget_between_two_books_stops_after_the_first_and_a_rerun_finishes_the_second(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path
) -> None:
    manifest, out = _books(tmp_path), tmp_path / "out"
    estimate = _tts(manifest, out, plain_server, dry_run=True).estimate.items
    short, long = estimate["short"].cost_usd, estimate["long"].cost_usd
    cap = short + long / 2  # room for the first book, not for both

    first = _tts(manifest, out, plain_server, max_cost_usd=cap)
    assert first.items["short"].status == "ok"
    assert first.items["long"].status == "skipped_budget" and "budget" in first.items["long"].error
    spent = _calls(out, first.run_id)["cost_usd"].sum()
    assert spent == pytest.approx(short) and spent <= cap
    items = read_ledger(out / "ledger", run_id=first.run_id)
    items = items[items["kind"] == "item"].set_index("item_id")
    assert items.loc["long", "status"] == "skipped_budget" and items.loc["short", "status"] == "ok"
    paid_first = {r.input_sha256 for r in plain_server.stats.requests(SPEECH, 200)}

    plain_server.stats.reset()
    second = _tts(manifest, out, plain_server, max_cost_usd=long * 1.01)
    assert second.items["short"].status == "skipped" and second.items["long"].status == "ok"
    asked = {r.input_sha256 for r in plain_server.stats.requests(SPEECH)}
    assert asked and not (asked & paid_first)  # nothing of the first book was requested again
    assert _calls(out, second.run_id)["cost_usd"].sum() == pytest.approx(long)


def test_a_flow_run_leaves_its_summary_as_artifacts(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path
) -> None:
    (tmp_path / "m.csv").write_text('id,text\nok,"Hello there."\nbad id,"x"\n', encoding="utf-8")
    out = tmp_path / "out"
    report = _tts(tmp_path / "m.csv", out, plain_server, charts=True)

    async def artifacts() -> list[Any]:
        async with get_client() as client:
            flow_run = ArtifactFilterFlowRunId(any_=[UUID(report.flow_run_id)])
            return await client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=flow_run))

    every = asyncio.run(artifacts())
    (progress,) = [a for a in every if a.type == "progress"]
    assert progress.data == 100.0  # updated as the run went, and complete at the end
    found = {a.key: a for a in every if a.key}
    table = found["audiobook-items"]
    assert table.type == "table"
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert [r["item"] for r in rows] == ["ok"] and rows[0]["status"] == "ok" and rows[0]["chunks"] == 1
    markdown = found["audiobook-summary"]
    assert markdown.type == "markdown" and "# Audiobook run" in str(markdown.data)
    assert "bad id" in str(markdown.data)  # the bad row is listed with its reason

    # Charts: each artifact carries its PNG inline (a data: URI), the very file written beside the ledger or book.
    def inline(artifact: Any) -> list[bytes]:
        assert artifact.type == "markdown"
        return [base64.b64decode(b) for b in re.findall(r"\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", artifact.data)]

    assert inline(found["audiobook-charts"]) == [(out / "ledger-charts.png").read_bytes()]
    assert report.items["ok"].paths["loudness"] == str(out / "ok.loudness.png")
    assert inline(found["audiobook-loudness"]) == [(out / "ok.loudness.png").read_bytes()]
    assert (out / "ok.loudness.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_dry_run_survives_a_malformed_url_row(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path, jfk_flac: bytes
) -> None:
    (tmp_path / "a.flac").write_bytes(jfk_flac)
    (tmp_path / "m.csv").write_text("id,audio_path\ngood,a.flac\nbad,http://host:port/x.wav?token=SEKRIT\n")
    report = _stt(tmp_path / "m.csv", tmp_path / "out", plain_server, dry_run=True)
    assert set(report.estimate.items) == {"good"} and plain_server.stats.count() == 0
    (error,) = report.row_errors
    assert "row 3 (id 'bad'), column 'audio_path'" in error and "InvalidURL" in error and "SEKRIT" not in error
