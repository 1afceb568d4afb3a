"""The audit report: every chunk with its duration against its text, what was heard, attempts and problems."""

from __future__ import annotations

import json
from pathlib import Path

from voxbatch.audit.options import NO_AUDIT, parse_audit
from voxbatch.audit.report import AuditedChunk, audit_document, flags, table_rows, write_audit
from voxbatch.audit.verdict import EMBEDDED_RULES, ChunkCheck, Hearing


def _check(**changes: object) -> ChunkCheck:
    fields: dict[str, object] = {
        "chars": 300,
        "expected_s": 20.0,
        "duration_s": 19.0,
        "hearing": Hearing(30, 50, ("Oh dear!",)),
        "heard_by": "embedded-pocketsphinx",
        "rules": EMBEDDED_RULES,
        "attempts": 1,
    }
    fields.update(changes)
    return ChunkCheck(**fields)  # type: ignore[arg-type]


CHUNKS = [
    AuditedChunk(0, 0, _check()),
    AuditedChunk(1, 1, _check(attempts=2, repeats=("short",), hearing=Hearing(50, 50, ()))),
    AuditedChunk(2, 1, _check(attempts=3, repeats=("unheard", "unheard"), problem="2 of its 50 words heard")),
]


def test_every_chunk_and_the_totals(tmp_path: Path) -> None:
    document = audit_document("alice", "alice.mp3", CHUNKS, parse_audit("free"))
    assert document["audit"] == "free" and document["heard_by"] == "embedded-pocketsphinx"
    assert document["rules"]["min_coverage"] == EMBEDDED_RULES.min_coverage and document["rules"]["max_repeats"] == 2
    assert document["totals"] == {
        "chunks": 3,
        "heard": 3,
        "repeated": 2,
        "flagged": 1,
        "attempts": 6,
        "coverage": round(110 / 150, 3),
        "sentences_never_heard": 2,
    }
    first = document["chunks"][0]
    assert first["ratio"] == 0.95 and first["coverage"] == 0.6 and first["never_heard"] == ["Oh dear!"]
    path = write_audit(tmp_path / "alice.audit.json", document)
    assert json.loads(path.read_text(encoding="utf-8")) == document
    rows = table_rows(document)
    assert [r["chunk"] for r in rows] == [0, 1, 2] and rows[2]["problem"] == "2 of its 50 words heard"
    assert rows[0]["never_heard"] == "Oh dear!"


def test_without_hearing_only_durations_are_reported() -> None:
    unheard = [AuditedChunk(0, 0, _check(hearing=None, heard_by=None, rules=None))]
    document = audit_document("b", "b.mp3", unheard, NO_AUDIT)
    assert document["heard_by"] is None and document["rules"]["min_coverage"] is None
    assert document["chunks"][0]["coverage"] is None and document["chunks"][0]["never_heard"] is None
    assert document["totals"]["coverage"] is None


def test_flags_name_the_chunks_still_bad() -> None:
    assert flags(CHUNKS[:2]) == ()
    (flag,) = flags(CHUNKS, Path("out/alice.audit.json"))
    assert flag.startswith("1 of 3 chunks still bad after their repeats; chunk 2: 2 of its 50 words heard")
    assert flag.endswith("see out/alice.audit.json")
