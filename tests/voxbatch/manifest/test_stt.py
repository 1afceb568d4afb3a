"""The transcript inputs: manifest validation, derived ids, and folders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from voxbatch.manifest.stt import SttDefaults, load_stt_folder, load_stt_inputs, load_stt_manifest, safe_id
from voxbatch.manifest.table import ManifestError


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_rows_take_their_options_or_the_defaults(tmp_path: Path) -> None:
    _touch(tmp_path / "audio" / "a.flac")
    _touch(tmp_path / "b.mp3")
    (tmp_path / "m.csv").write_text(
        "id,audio_path,language,model,prompt,diarize,task\n"
        "first,audio/a.flac,de,m/x,Names: Ann,true,\n"
        ",b.mp3,,,,,translate\n"
        ",https://example.org/talks/My%20Talk.mp3?token=1,,,,no,\n"
    )
    rows, errors = load_stt_manifest(tmp_path / "m.csv", SttDefaults(language="en"))
    assert errors == []
    first, second, third = rows
    assert (first.row, first.id, first.language, first.model, first.prompt, first.diarize, first.task) == (
        2,
        "first",
        "de",
        "m/x",
        "Names: Ann",
        True,
        "transcribe",
    )
    assert first.source == str((tmp_path / "audio" / "a.flac").resolve())
    assert (second.id, second.language, second.task, second.diarize) == ("b", "en", "translate", False)
    assert third.is_url and third.id == "My_Talk"


def test_every_bad_row_is_named_and_the_rest_load(tmp_path: Path) -> None:
    _touch(tmp_path / "ok.wav")
    (tmp_path / "m.csv").write_text(
        "id,audio_path,diarize,task\n"
        "ok,ok.wav,,\n"
        "gone,missing.wav,,\n"
        "ok,ok.wav,,\n"
        "bad id,ok.wav,,\n"
        "flag,ok.wav,maybe,\n"
        "task,ok.wav,,summarize\n"
        "both,ok.wav,true,translate\n"
        "empty,,,\n"
        "ftp,ftp://host/x.mp3,,\n"
    )
    rows, errors = load_stt_manifest(tmp_path / "m.csv")
    assert [r.id for r in rows] == ["ok"]
    found = {(e.row, e.column) for e in errors}
    assert found == {
        (3, "audio_path"),
        (4, "id"),
        (5, "id"),
        (6, "diarize"),
        (7, "task"),
        (8, "diarize"),
        (9, "audio_path"),
        (10, "audio_path"),
    }
    by_row = {e.row: str(e) for e in errors}
    assert "missing.wav does not exist" in by_row[3]
    assert "duplicates the id of row 2" in by_row[4]
    assert by_row[3].startswith("row 3 (id 'gone'), column 'audio_path'")


def test_derived_ids_are_safe_unique_and_never_take_an_explicit_id(tmp_path: Path) -> None:
    for name in ("x/talk.mp3", "y/talk.mp3", "weird name!.wav"):
        _touch(tmp_path / name)
    (tmp_path / "m.csv").write_text("id,audio_path\n,x/talk.mp3\n,y/talk.mp3\n,weird name!.wav\ntalk-2,x/talk.mp3\n")
    rows, errors = load_stt_manifest(tmp_path / "m.csv")
    assert errors == []
    assert [r.id for r in rows] == ["talk", "talk-3", "weird_name", "talk-2"]


def test_parquet_manifests_load_like_csv(tmp_path: Path) -> None:
    _touch(tmp_path / "a.flac")
    pd.DataFrame({"audio_path": ["a.flac"], "diarize": [True]}).to_parquet(tmp_path / "m.parquet")
    rows, errors = load_stt_manifest(tmp_path / "m.parquet")
    assert errors == [] and rows[0].id == "a" and rows[0].diarize is True


def test_a_manifest_without_audio_path_is_refused_whole(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("id,path\na,b\n")
    with pytest.raises(ManifestError, match="audio_path"):
        load_stt_manifest(tmp_path / "m.csv")


def test_folders_give_every_audio_file_with_stable_path_ids(tmp_path: Path) -> None:
    for name in ("2024/jan/meeting.mp3", "2024/feb/meeting.mp3", "intro.WAV", "intro.flac", "notes.txt", ".hid/x.mp3"):
        _touch(tmp_path / name)
    rows, errors = load_stt_folder(tmp_path, SttDefaults(diarize=True))
    assert errors == []
    assert [r.id for r in rows] == ["2024_feb_meeting", "2024_jan_meeting", "intro_wav", "intro_flac"]
    assert all(r.row is None and r.diarize for r in rows)
    assert rows[0].error("audio_path", "is empty").__str__().startswith("file ")
    assert load_stt_inputs(tmp_path, SttDefaults(diarize=True))[0] == rows


def test_safe_id() -> None:
    assert safe_id("Ep. 1: Über/alles") == "Ep._1_ber_alles"
    assert safe_id("...") == "audio"


def test_one_audio_file_is_an_input_of_its_own(tmp_path: Path) -> None:
    _touch(tmp_path / "My Talk.m4a")
    rows, errors = load_stt_inputs(tmp_path / "My Talk.m4a", SttDefaults(language="fr"))
    assert errors == [] and [(r.id, r.language, r.row) for r in rows] == [("My_Talk", "fr", None)]


def test_a_file_added_later_never_takes_another_recordings_id(tmp_path: Path) -> None:
    _touch(tmp_path / "talk.mp3")
    _touch(tmp_path / "a_b.mp3")
    before = {r.id: r.source for r in load_stt_folder(tmp_path)[0]}
    assert set(before) == {"talk", "a_b"}
    _touch(tmp_path / "talk.aac")  # sorts before talk.mp3
    _touch(tmp_path / "a" / "b.wav")  # its id would be a_b too
    after = {r.id: r.source for r in load_stt_folder(tmp_path)[0]}
    assert len(after) == 4
    for item, source in after.items():  # no id now names a different file than it did before
        assert before.get(item, source) == source
