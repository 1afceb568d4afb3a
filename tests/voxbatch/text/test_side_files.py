"""Side files (casts, lexicons): JSON or CSV, UTF-8, bounded; each problem is one line in the caller's error type."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.text.side_files import Entry, SideFileKind, csv_rows, json_object, read_side_file


class Problem(ValueError):
    pass


def test_a_side_file_is_read_with_its_suffix(tmp_path: Path) -> None:
    (tmp_path / "cast.CSV").write_bytes("\ufeffspeaker,voice\n".encode())
    assert read_side_file(tmp_path / "cast.CSV", Problem, 100) == ("speaker,voice\n", ".csv")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("cast.txt", b"x", "must be a .json or .csv file; got cast.txt"),
        ("missing.json", None, "does not exist"),
        ("big.json", b"x" * 101, "file big.json is larger than 100 bytes"),
        ("latin.csv", "caf\u00e9".encode("latin-1"), "file latin.csv is not UTF-8 text"),
    ],
)
def test_every_problem_is_one_line_naming_the_file(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(Problem, match=reason):
        read_side_file(tmp_path / name, Problem, 100)


def test_csv_rows_skip_blank_rows_and_name_missing_columns() -> None:
    text = "Term, Spoken ,note\nNaïve, nah-eev ,x\n , ,\nb,bee,\n"
    assert list(csv_rows(text, Problem, ("term", "spoken"), "note")) == [
        (2, {"term": "Naïve", "spoken": " nah-eev ", "note": "x"}),
        (4, {"term": "b", "spoken": "bee", "note": ""}),
    ]
    with pytest.raises(Problem, match=r"needs the columns term and spoken \(and optionally note\); found \['term'\]"):
        list(csv_rows("term\nx\n", Problem, ("term", "spoken"), "note"))


def test_json_object_is_an_object_or_says_what_it_must_be() -> None:
    assert json_object('{"a": 1}', Problem, "must be an object") == {"a": 1}
    with pytest.raises(Problem, match="must be an object"):
        json_object("[1]", Problem, "must be an object")
    with pytest.raises(Problem, match="is not valid JSON"):
        json_object("{", Problem, "must be an object")


def _nicknames(entries: list[Entry]) -> dict[str, object]:
    if not entries:
        raise Problem("nobody is listed")
    return {key: (value, where) for key, value, where in entries}


NICKNAMES = SideFileKind(Problem, 1000, "name", ("nick", "note"), "the names", "must be an object", _nicknames)


def test_json_and_csv_give_the_same_entries_with_where_each_is() -> None:
    assert NICKNAMES.from_json('{"Ann": "Annie", "Bob": {"nick": "Rob"}}') == {
        "Ann": ("Annie", "the names"),
        "Bob": ({"nick": "Rob"}, "the names"),
    }
    # CSV cells are stripped, empty ones and unknown columns left out, blank rows skipped.
    assert NICKNAMES.from_csv("Name,Nick,Note,extra\n Ann , Annie ,,x\n,,,\nBob,,late,\n") == {
        "Ann": ({"nick": "Annie"}, "row 2"),
        "Bob": ({"note": "late"}, "row 4"),
    }
    with pytest.raises(Problem, match=r"needs the columns name and nick \(and optionally note\)"):
        NICKNAMES.from_csv("name,note\nAnn,x\n")


def test_every_problem_reading_a_kind_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "names.json").write_text("{}")
    with pytest.raises(Problem, match=r"^file names\.json: nobody is listed$"):
        NICKNAMES.read(tmp_path / "names.json")
    (tmp_path / "names.csv").write_text("name\nAnn\n")
    with pytest.raises(Problem, match=r"^file names\.csv: needs the columns name and nick"):
        NICKNAMES.read(tmp_path / "names.csv")
    (tmp_path / "names.csv").write_text("name,nick\nAnn,Annie\n")
    assert NICKNAMES.read(tmp_path / "names.csv") == {"Ann": ({"nick": "Annie"}, "row 2")}
