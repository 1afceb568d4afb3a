"""Ids name output files: explicit ones are checked, derived ones are made safe and short."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.manifest.ids import ID_MAX_CHARS, id_problem, safe_id, shorten
from voxbatch.manifest.stt import load_stt_folder, load_stt_manifest
from voxbatch.pipelines.transcript.fetch import _name as download_name

FILE_NAME_MAX_BYTES = 255


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("a" * (ID_MAX_CHARS + 1), f"at most {ID_MAX_CHARS}"),
        ("../x", "may only contain"),
        (".hidden", "must start with"),
        ("..", "must start with"),
        ("-y", "must start with"),
        ("a b", "may only contain"),
    ],
)
def test_bad_explicit_ids(value: str, reason: str) -> None:
    problem = id_problem(value)
    assert problem is not None and reason in problem


@pytest.mark.parametrize("value", ["a", "_x", "Book-1.v2", "a" * ID_MAX_CHARS])
def test_good_explicit_ids(value: str) -> None:
    assert id_problem(value) is None


def test_long_names_are_shortened_with_a_hash_and_keep_their_suffix() -> None:
    long = "x" * 300 + ".flac"
    short = shorten(long)
    assert len(short) == ID_MAX_CHARS and short.endswith(".flac")
    assert shorten("y" * 300 + ".flac") != short and shorten(long) == short
    assert safe_id("é" * 400) == "audio" and len(safe_id("Talk " * 100)) <= ID_MAX_CHARS
    assert id_problem(safe_id("-" + "z" * 500)) is None
    assert len(download_name("https://example.org/" + "n" * 400 + ".mp3")) <= ID_MAX_CHARS


def test_derived_ids_of_deep_folders_and_long_file_names_fit(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*(["d" * 60] * 5))
    deep.mkdir(parents=True)
    for name in ("t" * 200 + ".mp3", "t" * 200 + ".wav"):
        (deep / name).write_bytes(b"x")
    rows, errors = load_stt_folder(tmp_path)
    assert errors == [] and len({r.id for r in rows}) == 2
    assert all(len(r.id) <= ID_MAX_CHARS and id_problem(r.id) is None for r in rows)
    (tmp_path / ("m" * 240 + ".wav")).write_bytes(b"x")
    (tmp_path / "m.csv").write_text(f"audio_path\n{'m' * 240}.wav\n{'m' * 240}.wav\n")
    manifest_rows, errors = load_stt_manifest(tmp_path / "m.csv")
    assert errors == [] and len({r.id for r in manifest_rows}) == 2
    longest = max(len(f".{r.id}.chapters.json.abcdefgh.tmp".encode()) for r in [*rows, *manifest_rows])
    assert longest < FILE_NAME_MAX_BYTES
