"""Run names: the flow, what it read (by its last part) and how much, in words a person reads."""

from __future__ import annotations

from pathlib import Path

from voxbatch.manifest.errors import RowError
from voxbatch.run.run_name import bad_rows, run_title, source_label


def test_titles(tmp_path: Path) -> None:
    manifest = str(tmp_path / "books.csv")
    assert run_title("audiobook", manifest) == "audiobook: books.csv"
    assert run_title("audiobook", manifest, items=3) == "audiobook: books.csv (3 items)"
    assert run_title("audiobook", manifest, items=1, bad=1) == "audiobook: books.csv (1 item, 1 bad row)"
    assert run_title("transcripts", str(tmp_path), 0, 2, dry_run=True) == (
        f"transcripts: {tmp_path.name}/ (0 items, 2 bad rows, dry run)"
    )
    assert run_title("audiobook", manifest, dry_run=True) == "audiobook: books.csv (dry run)"


def test_sources() -> None:
    assert source_label("talks/jfk.flac") == "jfk.flac"
    assert source_label("https://example.test/list.csv") == "https://example.test/list.csv"


def test_a_row_with_two_problems_is_one_bad_row() -> None:
    errors = [
        RowError(4, "id", "has a slash", "bad/id"),
        RowError(4, "text_path", "missing.txt does not exist", "bad/id"),
        RowError(None, "audio_path", "not audio", source="a.txt"),
        RowError(None, "audio_path", "not audio", source="b.txt"),
        "row 9: refused by the catalog",
    ]
    assert bad_rows(errors) == 4 and bad_rows([]) == 0
