"""Transcript files and the marker that lets later runs skip finished recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.pipelines.transcript.outputs import MARKER_DIR, find_finished, parse_formats, write_outputs


def test_formats_parse_in_canonical_order() -> None:
    assert parse_formats("vtt, TXT") == ("txt", "vtt")
    assert parse_formats("all") == ("txt", "srt", "vtt", "json")
    with pytest.raises(ValueError, match="unknown output format"):
        parse_formats("txt,docx")
    with pytest.raises(ValueError, match="at least one"):
        parse_formats(" , ")


def test_finished_only_for_the_same_fingerprint_and_existing_formats(tmp_path: Path) -> None:
    paths = write_outputs(tmp_path, "a", {"txt": "hi\n", "srt": "1\n"}, fingerprint="f1", duration_s=3.5, chunks=2)
    assert paths["txt"].read_text() == "hi\n"
    assert (tmp_path / MARKER_DIR / "a.json").is_file()
    done = find_finished(tmp_path, "a", "f1", ("txt", "srt"))
    assert done is not None and done.duration_s == 3.5 and done.chunks == 2
    assert find_finished(tmp_path, "a", "f1", ("txt",)) is not None
    assert find_finished(tmp_path, "a", "f2", ("txt",)) is None  # other audio or options
    assert find_finished(tmp_path, "a", "f1", ("txt", "vtt")) is None  # a format never made
    paths["srt"].unlink()
    assert find_finished(tmp_path, "a", "f1", ("srt",)) is None  # a format deleted since
    assert find_finished(tmp_path, "b", "f1", ("txt",)) is None


def test_no_temp_files_are_left_behind(tmp_path: Path) -> None:
    write_outputs(tmp_path, "a", {"json": "{}\n"}, fingerprint="f", duration_s=1.0, chunks=1)
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
