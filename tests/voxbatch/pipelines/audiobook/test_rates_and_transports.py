"""A book is asked for, cached and stitched at its model's own rate unless told (Cartesia's 44.1 kHz, Kokoro's
24 kHz), and each row's transport is the one its chunks travel by, against the local server over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from voxbatch.audio.probe import probe_audio
from voxbatch.cache import ChunkCache
from voxbatch.manifest.tts import BookDefaults, BookRow, load_tts_manifest
from voxbatch.pipelines.audiobook.pipeline import AudiobookPipeline
from voxbatch.pipelines.audiobook.plan import plan_book
from voxbatch.run.kernel import Kernel
from voxbatch.run.spec import RunSpec
from voxbatch.server.runner import LocalServer

CARTESIA = "cartesia/sonic-2"
TWO_CHAPTERS = "# One\n\nThe first chapter is short. It has two sentences.\n\n# Two\n\nThe second chapter ends it."


def _load(tmp_path: Path, manifest: str, defaults: BookDefaults = BookDefaults()) -> list[BookRow]:
    (tmp_path / "books.csv").write_text(manifest)
    rows, errors = load_tts_manifest(tmp_path / "books.csv", defaults)
    assert not errors, errors
    return rows


def test_every_chunk_is_asked_at_the_books_rate_and_by_its_rows_transport(tmp_path: Path) -> None:
    manifest = (
        "id,text,model,voice,sample_rate,transport\n"
        'kokoro,"One. Two.",,,,\n'
        f'cartesia,"One. Two.",{CARTESIA},newsman,,sse\n'
        f'told,"One. Two.",{CARTESIA},newsman,22050,websocket\n'
    )
    plans = {row.id: plan_book(row, "embedded") for row in _load(tmp_path, manifest)}
    rates = {book: {(j.speech.sample_rate_hz, j.speech.transport) for j in p.jobs} for book, p in plans.items()}
    assert rates == {"kokoro": {(24000, "rest")}, "cartesia": {(44100, "sse")}, "told": {(22050, "websocket")}}
    assert {book: p.sample_rate_hz for book, p in plans.items()} == {"kokoro": 24000, "cartesia": 44100, "told": 22050}
    defaulted = _load(tmp_path, manifest, BookDefaults(transport="websocket", sample_rate_hz=16000))
    assert [(r.transport, r.sample_rate_hz) for r in defaulted] == [
        ("websocket", 16000),
        ("sse", 16000),
        ("websocket", 22050),
    ]
    keys = {book: {j.key for j in p.jobs} for book, p in plans.items()}
    assert not keys["cartesia"] & keys["told"]  # the rate is part of every chunk's cache key


@pytest.mark.parametrize(("audio_format", "transport"), [("flac", "rest"), ("m4b", "websocket")])
def test_a_cartesia_book_is_stitched_at_44_1_khz(
    tmp_path: Path, make_server: Callable[..., LocalServer], audio_format: str, transport: str
) -> None:
    server = make_server(api_key=None)
    (tmp_path / "book.md").write_text(TWO_CHAPTERS)
    header = "id,text_path,model,voice,format,transport\n"
    manifest = f"{header}book,book.md,{CARTESIA},newsman,{audio_format},{transport}\n"
    (row,) = _load(tmp_path, manifest)
    out = tmp_path / "out"
    report = asyncio.run(Kernel(AudiobookPipeline(out), RunSpec(base_url=server.origin), out).run([row], []))
    result = report.items["book"]
    assert result.status == "ok" and result.chapters == 2 and result.duration_s
    probe = probe_audio(out / f"book.{audio_format}")
    assert probe.sample_rate_hz == 44100 and probe.channels == 1
    assert probe.duration_s == pytest.approx(result.duration_s, abs=0.1)
    cache = ChunkCache(out / ".voxbatch-cache")
    chunks = [cache.get(job.key) for job in plan_book(row, server.origin + "/v1").jobs]
    assert chunks and all(c is not None and c.sample_rate_hz == 44100 for c in chunks)
    assert server.stats.transports() == {transport: len(chunks)}


def test_a_transport_column_reaches_the_wire(tmp_path: Path, make_server: Callable[..., LocalServer]) -> None:
    server = make_server(api_key=None)
    rows = _load(
        tmp_path,
        "id,text,transport\n"
        'by-rest,"The first book. It is read over plain requests.",\n'
        'by-sse,"The second book. It streams its audio as events.",sse\n'
        'by-socket,"The third book. It talks over a socket.",websocket\n',
    )
    out = tmp_path / "out"
    report = asyncio.run(Kernel(AudiobookPipeline(out), RunSpec(base_url=server.origin), out).run(rows, []))
    assert {r.status for r in report.items.values()} == {"ok"}
    chunks = {book: r.chunks for book, r in report.items.items()}
    assert server.stats.transports() == {
        "rest": chunks["by-rest"],
        "sse": chunks["by-sse"],
        "websocket": chunks["by-socket"],
    }
