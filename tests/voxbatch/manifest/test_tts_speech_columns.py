"""The audiobook manifest's speech columns: ``transport`` (rest, sse, websocket) and ``sample_rate`` (Hz), each
with its run default (``--transport``, ``--sample-rate``) for an empty cell, and a row error for a bad value."""

from __future__ import annotations

from pathlib import Path

from voxbatch.manifest.tts import BookDefaults, load_tts_manifest

MANIFEST = """id,text,transport,sample_rate
plain,"Words.",,
streamed,"Words.",SSE,44100
socket,"Words.",websocket,44100.0
pigeon,"Words.",pigeon,
fractional,"Words.",,22050.5
words,"Words.",,fast
"""


def test_speech_columns_and_their_defaults(tmp_path: Path) -> None:
    (tmp_path / "books.csv").write_text(MANIFEST)
    rows, errors = load_tts_manifest(tmp_path / "books.csv")
    assert [(r.id, r.transport, r.sample_rate_hz) for r in rows] == [
        ("plain", "rest", None),  # None: the model's own rate
        ("streamed", "sse", 44100),
        ("socket", "websocket", 44100),  # a Parquet float column's 44100.0 is 44100 Hz
    ]
    assert [str(e) for e in errors] == [
        "row 5 (id 'pigeon'), column 'transport': must be one of rest, sse, websocket; got 'pigeon'",
        "row 6 (id 'fractional'), column 'sample_rate': must be a whole number of Hz such as 24000 or 44100; "
        "got '22050.5'",
        "row 7 (id 'words'), column 'sample_rate': must be a whole number of Hz such as 24000 or 44100; got 'fast'",
    ]
    defaulted, _ = load_tts_manifest(tmp_path / "books.csv", BookDefaults(transport="websocket", sample_rate_hz=16000))
    assert [(r.transport, r.sample_rate_hz) for r in defaulted] == [
        ("websocket", 16000),
        ("sse", 44100),
        ("websocket", 44100),
    ]
