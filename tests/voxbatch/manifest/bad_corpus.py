"""The bad-input corpus (tests/data/bad): its cases table, and loading a manifest of either flow."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from voxbatch.manifest.errors import RowError
from voxbatch.manifest.stt import load_stt_inputs
from voxbatch.manifest.tts import load_tts_manifest

CORPUS = Path(__file__).resolve().parents[3] / "tests" / "data" / "bad"


@dataclass(frozen=True)
class Case:
    """One bad input: which manifest, which row and column, what the reason must say, and where it is caught."""

    name: str
    flow: str  # tts or stt
    manifest: str  # relative to the corpus
    row: int | None
    column: str
    expect: str
    layer: str  # row, probe, folder, whole, empty (see README.md)

    @property
    def test_id(self) -> str:
        return f"{self.flow}: {self.name}"


def load_cases() -> list[Case]:
    with (CORPUS / "cases.csv").open(newline="", encoding="utf-8") as fh:
        return [
            Case(
                name=r["case"],
                flow=r["flow"],
                manifest=r["manifest"],
                row=int(r["row"]) if r["row"] else None,
                column=r["column"],
                expect=r["expect"],
                layer=r["layer"],
            )
            for r in csv.DictReader(fh)
        ]


CASES = load_cases()


def load(flow: str, path: Path, allowed: tuple[str, ...] = ()) -> tuple[list[object], list[RowError]]:
    """The valid rows and the row errors of a manifest (or folder) of ``flow``."""
    if flow == "tts":
        books, errors = load_tts_manifest(path, allowed=allowed)
        return list(books), errors
    recordings, errors = load_stt_inputs(path, allowed=allowed)
    return list(recordings), errors


def find(errors: list[RowError], case: Case) -> RowError:
    """The one error the case expects (by row, or for a folder by the file its text names)."""
    if case.layer == "folder":
        found = [e for e in errors if case.expect in e.reason]
    else:
        found = [e for e in errors if e.row == case.row]
    assert len(found) == 1, f"{case.test_id}: expected one error for row {case.row}, got {[str(e) for e in found]}"
    return found[0]
