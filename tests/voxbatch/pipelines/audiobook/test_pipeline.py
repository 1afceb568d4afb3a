"""Books through the run kernel and a local server on real sockets, with the ``short`` fault: a cut answer is
repaired by the duration check (audit off) or inside the audit (audit on), a book still cut is flagged and tried
again next run, and the demo manuscript heard by the real recognizer flags nothing; streamed word times land where
each chunk is heard in the finished book."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from voxbatch.audio.pcm import from_wav
from voxbatch.audit.options import parse_audit
from voxbatch.audit.verdict import EMBEDDED_RULES
from voxbatch.ledger.writer import read_ledger
from voxbatch.manifest.tts import BookDefaults, load_tts_manifest
from voxbatch.pipelines.audiobook.pipeline import AudiobookPipeline
from voxbatch.run.kernel import Kernel
from voxbatch.run.report import RunReport
from voxbatch.run.spec import RunSpec
from voxbatch.run.summary import run_failed, summary_text
from voxbatch.server.faults import FaultSpec
from voxbatch.server.runner import LocalServer

SPEECH = "/v1/audio/speech"
HEARD = "/v1/audio/transcriptions"
BOOK = """# One

The storm came in from the west just after supper, and Mara climbed the tower stairs.

# Two

By morning the wind had gone, and a small boat lay on the beach below the rocks.
"""
BODIES = ("The storm came in", "By morning the wind")
FRAME_S = 0.005
LOUD_RMS = 300.0  # about -40 dBFS: speech, not the digital silence of the pauses
GAP_S = 0.6  # the book's pauses here (paragraph 0.8 s, chapter 2 s) are longer than any pause inside a chunk


def _run(server: LocalServer, folder: Path, out: Path, audit: str = "off", transport: str = "rest") -> RunReport:
    rows, errors = load_tts_manifest(folder / "books.csv", BookDefaults(transport=transport))
    assert not errors
    kernel = Kernel(AudiobookPipeline(out, audit=parse_audit(audit)), RunSpec(base_url=server.origin), out)
    return asyncio.run(kernel.run(rows, []))


def _book(folder: Path) -> Path:
    (folder / "book.md").write_text(BOOK, encoding="utf-8")
    (folder / "books.csv").write_text("id,text_path,format\nbook,book.md,wav\n", encoding="utf-8")
    return folder


def _body_chunks(out: Path) -> list[dict[str, object]]:
    audit = json.loads((out / "book.audit.json").read_text(encoding="utf-8"))
    words = json.loads((out / "book.words.json").read_text(encoding="utf-8"))
    bodies = {c["index"] for c in words["chunks"] if str(c["text"]).startswith(BODIES)}
    assert len(bodies) == 2
    return [c for c in audit["chunks"] if c["index"] in bodies]


def test_a_cut_answer_is_repaired_by_the_duration_check_and_a_book_still_cut_is_flagged(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None, recognizer="fake", faults=FaultSpec(short=1.0, short_times=1))
    folder, out = _book(tmp_path), tmp_path / "out"
    report = _run(server, folder, out)
    assert report.items["book"].status == "ok" and report.items["book"].flags == ()
    bodies = _body_chunks(out)
    assert all(c["repeats"] == ["short"] and c["attempts"] == 2 and c["problem"] is None for c in bodies)
    assert all(0.8 < float(c["ratio"]) for c in bodies)  # the book has the whole answers
    calls = read_ledger(out / "ledger", run_id=report.run_id)
    repeats = calls[calls["purpose"] == "repeat:short"]
    assert len(repeats) == 2 and (repeats["status"] == "ok").all() and (repeats["cost_usd"] > 0).all()
    assert server.stats.count(HEARD) == 0  # no audit: nothing heard

    # Every answer cut: the one repeat is cut too, so the book is made but flagged, and the next run tries again.
    server.set_faults(FaultSpec(short=1.0))
    cut_out = tmp_path / "cut"
    flagged = _run(server, folder, cut_out)
    (flag,) = flagged.items["book"].flags
    assert flagged.items["book"].status == "ok" and flag.startswith("2 of ") and "book.audit.json" in flag
    assert run_failed(flagged) and "FLAGGED book: 2 of" in summary_text(flagged)
    (item,) = read_ledger(cut_out / "ledger", run_id=flagged.run_id).query("kind == 'item'").itertuples()
    assert item.status == "flagged" and item.error == flag  # the ledger says the book is not as asked, and why
    assert all(c["problem"] and c["attempts"] == 2 for c in _body_chunks(cut_out))
    before = server.stats.count(SPEECH)
    again = _run(server, folder, cut_out)
    assert again.items["book"].status == "ok" and again.items["book"].flags  # not skipped: still cut
    assert server.stats.count(SPEECH) - before == 2  # each bad chunk asked for once more, nothing else


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_a_cut_answer_is_repaired_on_the_streaming_transports_too(
    tmp_path: Path, make_server: Callable[..., LocalServer], transport: str
) -> None:
    server = make_server(api_key=None, recognizer="fake", faults=FaultSpec(short=1.0, short_times=1))
    folder, out = _book(tmp_path), tmp_path / "out"
    report = _run(server, folder, out, transport=transport)
    assert report.items["book"].status == "ok" and report.items["book"].flags == ()
    bodies = _body_chunks(out)
    assert all(c["repeats"] == ["short"] and c["attempts"] == 2 and c["problem"] is None for c in bodies)
    assert all(0.8 < float(c["ratio"]) for c in bodies)  # the book has the whole answers


def test_the_audit_catches_a_cut_answer_and_hears_the_repeat(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None, recognizer="fake", faults=FaultSpec(short=1.0, short_times=1))
    folder, out = _book(tmp_path), tmp_path / "out"
    report = _run(server, folder, out, audit="on")
    assert report.items["book"].status == "ok" and report.items["book"].flags == ()
    bodies = _body_chunks(out)
    assert all(c["repeats"] == ["short"] and c["coverage"] is not None and c["problem"] is None for c in bodies)
    document = json.loads((out / "book.audit.json").read_text(encoding="utf-8"))
    assert document["audit"] == "on" and document["rules"]["for"] == "embedded"  # a server on this machine
    chunks = len(document["chunks"])
    assert server.stats.count(HEARD) == chunks  # every chunk heard once: a cut answer is not heard, its repeat is
    calls = read_ledger(out / "ledger", run_id=report.run_id)
    assert (calls[calls["endpoint"] == "transcriptions"]["purpose"] == "audit").all()
    assert report.items["book"].paths["audit"].endswith("book.audit.json")


@pytest.mark.slow
def test_the_demo_opening_heard_by_the_embedded_recognizer_flags_nothing(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None, recognizer="fake")  # speech only: the free audit hears on this machine
    shutil.copy(REPO_ROOT / "manifests" / "texts" / "opening.txt", tmp_path / "opening.txt")
    (tmp_path / "books.csv").write_text("id,text_path,model,voice,format\nalice-opening,opening.txt,,,wav\n")
    out = tmp_path / "out"
    rows, _ = load_tts_manifest(tmp_path / "books.csv", BookDefaults())
    kernel = Kernel(AudiobookPipeline(out, audit=parse_audit("free")), RunSpec(base_url=server.origin), out)
    report = asyncio.run(kernel.run(rows, []))
    assert report.items["alice-opening"].status == "ok" and report.items["alice-opening"].flags == ()
    document = json.loads((out / "alice-opening.audit.json").read_text(encoding="utf-8"))
    assert document["totals"]["flagged"] == 0 and document["totals"]["repeated"] == 0
    assert document["heard_by"] == "embedded-pocketsphinx" and server.stats.count(HEARD) == 0
    for chunk in document["chunks"]:
        assert chunk["coverage"] >= EMBEDDED_RULES.min_coverage and chunk["attempts"] == 1
    words = json.loads((out / "alice-opening.words.json").read_text(encoding="utf-8"))
    assert [w["text"] for w in words["words"]] == (tmp_path / "opening.txt").read_text().split()


def test_streamed_word_times_land_where_each_chunk_is_heard_in_the_book(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None, recognizer="fake")
    folder, out = _book(tmp_path), tmp_path / "out"
    rows, _ = load_tts_manifest(folder / "books.csv", BookDefaults(transport="sse"))
    report = asyncio.run(Kernel(AudiobookPipeline(out), RunSpec(base_url=server.origin), out).run(rows, []))
    assert report.items["book"].status == "ok"
    words = json.loads((out / "book.words.json").read_text(encoding="utf-8"))
    samples, rate = from_wav((out / "book.wav").read_bytes())
    frame = round(FRAME_S * rate)
    n = len(samples) // frame
    rms = np.sqrt(np.mean(samples[: n * frame].astype(np.float64).reshape(n, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > LOUD_RMS)
    runs = np.split(loud, np.flatnonzero(np.diff(loud) * FRAME_S > GAP_S) + 1)  # speech between the book's pauses
    assert len(runs) == len(words["chunks"])
    for chunk, run in zip(words["chunks"], runs, strict=True):
        mine = [w for w in words["words"] if w["chunk"] == chunk["index"]]
        assert [w["text"] for w in mine] == str(chunk["text"]).split()
        assert abs(mine[0]["start_s"] - run[0] * FRAME_S) <= 0.05
        assert abs(mine[-1]["end_s"] - (run[-1] + 1) * FRAME_S) <= 0.05
