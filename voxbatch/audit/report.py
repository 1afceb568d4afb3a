"""A book's audit report, ``<id>.audit.json``: every chunk with its duration against what its text predicts, what
was heard of it, its attempts, and the sentences never heard; and the same as table rows (the Prefect artifact).

::

    {"version": 1, "book": "alice", "audio": "alice.mp3", "audit": "free", "heard_by": "embedded-pocketsphinx",
     "rules": {"short_ratio": 0.55, "min_shortfall_s": 1.0, "min_coverage": 0.15, "min_judged_words": 20,
               "for": "embedded", "max_repeats": 2},
     "totals": {"chunks": 40, "heard": 40, "repeated": 1, "flagged": 0, "attempts": 41,
                "coverage": 0.52, "sentences_never_heard": 3},
     "chunks": [{"index": 0, "chapter": 0, "chars": 300, "duration_s": 19.1, "expected_s": 19.9, "ratio": 0.96,
                 "coverage": 0.53, "heard": 30, "words": 57, "attempts": 1, "repeats": [], "problem": null,
                 "never_heard": ["..."]}]}

``coverage``, ``heard``, ``words`` and ``never_heard`` are null for a chunk that was not heard (no ``--audit``).
``attempts`` counts this run's syntheses of the chunk (0: it came from the cache); ``repeats`` says why each
repeat was asked for (``short``, ``unheard``); ``problem`` is what is still wrong (the book is flagged).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxbatch.atomic import write_text_atomic
from voxbatch.audit.options import AuditOptions
from voxbatch.audit.pace import MIN_SHORTFALL_S, SHORT_RATIO
from voxbatch.audit.verdict import ChunkCheck, HearingRules

REPORT_VERSION = 1
TABLE_COLUMNS = ("chunk", "chapter", "duration_s", "expected_s", "coverage", "attempts", "problem", "never_heard")

__all__ = ["AuditedChunk", "audit_document", "flags", "table_rows", "write_audit"]


@dataclass(frozen=True)
class AuditedChunk:
    """One chunk of a book and its check."""

    index: int
    chapter: int
    check: ChunkCheck


def _chunk_row(chunk: AuditedChunk) -> dict[str, Any]:
    check, hearing = chunk.check, chunk.check.hearing
    expected = check.expected_s
    return {
        "index": chunk.index,
        "chapter": chunk.chapter,
        "chars": check.chars,
        "duration_s": round(check.duration_s, 3),
        "expected_s": round(expected, 3),
        "ratio": round(check.duration_s / expected, 3) if expected else None,
        "coverage": None if hearing is None else round(hearing.coverage, 3),
        "heard": None if hearing is None else hearing.heard,
        "words": None if hearing is None else hearing.countable,
        "attempts": check.attempts,
        "repeats": list(check.repeats),
        "problem": check.problem,
        "never_heard": None if hearing is None else list(hearing.unheard_sentences),
    }


def audit_document(book: str, audio: str, chunks: Sequence[AuditedChunk], audit: AuditOptions) -> dict[str, Any]:
    """The audit report of one book (see the module docstring)."""
    rows = [_chunk_row(c) for c in chunks]
    rules: HearingRules | None = next((c.check.rules for c in chunks if c.check.rules is not None), None)
    heard = [c.check.hearing for c in chunks if c.check.hearing is not None]
    countable = sum(h.countable for h in heard)
    heard_by = sorted({c.check.heard_by for c in chunks if c.check.heard_by is not None})
    return {
        "version": REPORT_VERSION,
        "book": book,
        "audio": audio,
        "audit": audit.describe(),
        "heard_by": ", ".join(heard_by) or None,
        "rules": {
            "short_ratio": SHORT_RATIO,
            "min_shortfall_s": MIN_SHORTFALL_S,
            "min_coverage": rules.min_coverage if rules is not None else None,
            "min_judged_words": rules.min_judged_words if rules is not None else None,
            "for": rules.name if rules is not None else None,
            "max_repeats": audit.repeats,
        },
        "totals": {
            "chunks": len(chunks),
            "heard": len(heard),
            "repeated": sum(1 for c in chunks if c.check.repeats),
            "flagged": sum(1 for c in chunks if c.check.flagged),
            "attempts": sum(c.check.attempts for c in chunks),
            "coverage": round(sum(h.heard for h in heard) / countable, 3) if countable else None,
            "sentences_never_heard": sum(len(h.unheard_sentences) for h in heard),
        },
        "chunks": rows,
    }


def write_audit(path: Path, document: dict[str, Any]) -> Path:
    """Write the report atomically."""
    return write_text_atomic(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")


def flags(chunks: Sequence[AuditedChunk], report: Path | None = None) -> tuple[str, ...]:
    """What flags a book: one line naming its chunks still bad after their repeats (none: nothing)."""
    bad = [c for c in chunks if c.check.flagged]
    if not bad:
        return ()
    first = bad[0]
    where = f"; see {report}" if report is not None else ""
    more = f" (chunks {', '.join(str(c.index) for c in bad)})" if len(bad) > 1 else ""
    return (
        f"{len(bad)} of {len(chunks)} chunks still bad after their repeats{more}; chunk {first.index}: "
        f"{first.check.problem}{where}",
    )


def table_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's chunks as table rows (:data:`TABLE_COLUMNS`), for the run's artifacts."""
    return [
        {
            "chunk": row["index"],
            "chapter": row["chapter"],
            "duration_s": row["duration_s"],
            "expected_s": row["expected_s"],
            "coverage": row["coverage"],
            "attempts": row["attempts"],
            "problem": row["problem"] or "",
            "never_heard": " | ".join(row["never_heard"] or []),
        }
        for row in document.get("chunks", [])
    ]
