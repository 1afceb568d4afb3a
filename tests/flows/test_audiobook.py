"""The audiobook flow end to end on a local server over real sockets, with a real Prefect API."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from flows.audiobook import audiobook_flow
from voxbatch.audio.ffmpeg import decode_to_pcm, ffmpeg_exe
from voxbatch.audio.stitch import StitchOptions
from voxbatch.cache import ChunkCache
from voxbatch.ledger.writer import read_ledger
from voxbatch.manifest.tts import load_tts_manifest
from voxbatch.pipelines.audiobook.plan import plan_book
from voxbatch.run.report import RunReport
from voxbatch.run.spec import RunSpec
from voxbatch.server.faults import FaultSpec
from voxbatch.server.runner import LocalServer

SPEECH = "/v1/audio/speech"
BOOK_A = """CHAPTER I.
The Beginning

Anna opened the door. The hall was dark and quiet. She listened for a while, and then she went in. The floor
creaked under her feet, and somewhere far above a clock was ticking.

She found a lamp on the table and lit it. The flame was small, but it was enough to see the walls, the old
paintings, and the long shadow of the banister.

CHAPTER II.
The Middle

The lamp showed a staircase. Anna climbed it slowly, one step at a time, holding the rail with her free hand.
Halfway up she stopped, because she thought she had heard a voice. It was only the wind in the chimney, so she
went on, counting the steps under her breath until she reached the landing.

CHAPTER III.
The End

At the top she found her brother, fast asleep in the armchair by the window. She smiled and sat down beside
him, and for a long time she simply watched the rain run down the glass. When he woke, the storm had passed,
and the two of them went down the stairs together, laughing at how frightened she had been of an empty house.
"""
BOOK_B = "A short story with no chapters at all. It has two sentences."


def _manifest(folder: Path) -> Path:
    (folder / "a.txt").write_text(BOOK_A, encoding="utf-8")
    lines = [
        "id,title,author,text_path,text,format,voice",
        "book-a,Book A,Ann Author,a.txt,,m4b,",
        'book-b,Book B,,,"' + BOOK_B + '",mp3,af_bella',
        "bad/id,Broken,,missing.txt,,mp3,",
    ]
    path = folder / "manifest.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(manifest: Path, out: Path, server: LocalServer, **settings: Any) -> RunReport:
    run_settings = RunSpec(base_url=server.origin, **settings)
    return asyncio.run(audiobook_flow(str(manifest), str(out), spec=run_settings))


def _flow_run_name(report: RunReport) -> str:
    from prefect.client.orchestration import get_client

    async def read() -> str:
        assert report.flow_run_id is not None
        async with get_client() as client:
            return (await client.read_flow_run(UUID(report.flow_run_id))).name

    return asyncio.run(read())


def _chapters(path: Path) -> list[tuple[float, float, str]]:
    probe = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "ffmetadata", "-"], capture_output=True, text=True
    )
    chapters = []
    for block in probe.stdout.split("[CHAPTER]")[1:]:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        base = int(fields["TIMEBASE"].split("/")[1])
        chapters.append((int(fields["START"]) / base, int(fields["END"]) / base, fields["title"]))
    return chapters


@pytest.fixture
def plain_server(make_server: Callable[..., LocalServer]) -> LocalServer:
    return make_server(api_key=None)


def test_two_books_and_a_clear_error(prefect_harness: str, plain_server: LocalServer, tmp_path: Path) -> None:
    manifest = _manifest(tmp_path)
    report = _run(manifest, tmp_path / "out", plain_server)

    # The bad row is reported with every problem it has, each naming row, column and reason.
    bad_id, bad_path = report.row_errors
    assert "row 4" in bad_id and "'bad/id'" in bad_id and "column 'id'" in bad_id
    assert "row 4" in bad_path and "column 'text_path'" in bad_path and "missing.txt does not exist" in bad_path
    assert report.items["book-a"].status == "ok" and report.items["book-b"].status == "ok"
    # The Prefect UI lists the run by what it ran: two books and the bad row (with its two problems) of manifest.csv.
    assert _flow_run_name(report) == "audiobook: manifest.csv (2 items, 1 bad row)"

    out = tmp_path / "out"
    book_a = out / "book-a.m4b"
    chapters = _chapters(book_a)
    sidecar = json.loads((out / "book-a.chapters.json").read_text())
    assert [title for _, _, title in chapters] == [c["title"] for c in sidecar]
    assert len(chapters) == 3
    assert all(re.search(word, title) for (_, _, title), word in zip(chapters, ["Beginning", "Middle", "End"]))
    assert [c[0] for c in chapters] == sorted(c[0] for c in chapters)

    # Duration: every chunk's audio plus the pauses and lead-in the stitcher adds.
    rows, _ = load_tts_manifest(manifest)
    book_plan = plan_book(next(r for r in rows if r.id == "book-a"), plain_server.origin + "/v1")
    cache = ChunkCache(out / ".voxbatch-cache")
    opts = StitchOptions()
    pause_s = {
        "none": 0.0,
        "sentence": opts.sentence_pause_s,
        "paragraph": opts.paragraph_pause_s,
        "chapter": opts.chapter_pause_s,
    }
    expected = opts.lead_in_s
    for job in book_plan.jobs:
        cached = cache.get(job.key)
        assert cached is not None, "every chunk of a finished book is in the cache"
        expected += cached.duration_s + pause_s[job.chunk.pause_after]
    decoded = decode_to_pcm(book_a.read_bytes(), 24000)
    assert abs(len(decoded) / 24000 - expected) < 0.25  # AAC priming and padding
    assert abs(report.items["book-a"].duration_s - expected) < 0.05
    srt = (out / "book-a.srt").read_text()
    assert srt.startswith("1\n") and "-->" in srt and "Anna opened the door" in srt
    assert (out / "book-b.mp3").stat().st_size > 1000

    ledger = read_ledger(out / "ledger", run_id=report.run_id)
    items = ledger[ledger["kind"] == "item"].set_index("item_id")
    assert set(items.index) == {"book-a", "book-b"} and (items["status"] == "ok").all()
    calls = ledger[ledger["kind"] == "call"]
    assert len(calls) == plain_server.stats.count(SPEECH, 200)
    assert items.loc["book-a", "input_chars"] == calls[calls["item_id"] == "book-a"]["input_chars"].sum()
    assert items.loc["book-a", "cost_usd"] == pytest.approx(items.loc["book-a", "input_chars"] * 4 / 1e6)


def test_a_rerun_after_a_broken_run_requests_only_what_is_missing(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path
) -> None:
    manifest = _manifest(tmp_path)
    out = tmp_path / "out"
    plain_server.set_faults(FaultSpec(seed=3, p500=0.5))
    first = _run(manifest, out, plain_server, max_attempts=1)  # no retries: about half the chunks fail
    assert any(b.status == "failed" for b in first.items.values())
    done_first = {r.input_sha256 for r in plain_server.stats.requests(SPEECH, 200)}
    assert done_first

    plain_server.set_faults("")
    plain_server.stats.reset()
    second = _run(manifest, out, plain_server)
    # Which chunks the injected faults hit depends on the order concurrent requests reach the
    # server, so either book may have finished the first time; the rerun finishes the rest.
    expected = {item: ("ok" if b.status == "failed" else "skipped") for item, b in first.items.items()}
    assert second.statuses() == expected
    asked_again = {r.input_sha256 for r in plain_server.stats.requests(SPEECH)}
    assert asked_again and not (asked_again & done_first)  # nothing already paid for was requested again

    plain_server.stats.reset()
    third = _run(manifest, out, plain_server)
    assert {b.status for b in third.items.values()} == {"skipped"}
    assert plain_server.stats.count(SPEECH) == 0  # a finished run makes no requests at all


def test_a_book_that_cannot_be_written_fails_alone(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path
) -> None:
    (tmp_path / "m.csv").write_text('id,text\ngood,"A fine short book."\nbad,"Another short book."\n')
    out = tmp_path / "out"
    (out / "bad.mp3").mkdir(parents=True)  # something in the way of the finished file
    report = _run(tmp_path / "m.csv", out, plain_server)
    assert report.items["good"].status == "ok" and (out / "good.mp3").is_file()
    assert report.items["bad"].status == "failed" and report.items["bad"].error
    items = read_ledger(out / "ledger", run_id=report.run_id)
    assert set(items[items["kind"] == "item"]["status"]) == {"ok", "failed"}
