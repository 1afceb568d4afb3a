"""Reading CSV manifests line by line: row numbers, delimiters, encodings and broken lines."""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pytest

from voxbatch.manifest.table import ManifestError, read_table, table_ids


def _write(tmp_path: Path, data: bytes | str, name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_row_numbers_are_spreadsheet_rows_with_blank_lines_and_multiline_cells(tmp_path: Path) -> None:
    path = _write(tmp_path, 'id,text\na,one\n\nb,"two\nlines"\n,,\nc,three\n')
    table = read_table(path, ("id",))
    assert [(r.row, r.cells["id"]) for r in table.rows] == [(2, "a"), (4, "b"), (6, "c")]
    assert table.rows[1].cells["text"] == "two\nlines" and table.errors == []


def test_short_rows_get_empty_cells_and_cells_are_stripped(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "ID , Text,format\n a , hi \nb\n"), ("id",))
    assert [r.cells for r in table.rows] == [
        {"id": "a", "text": "hi", "format": ""},
        {"id": "b", "text": "", "format": ""},
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_the_one_that_splits_the_header(tmp_path: Path, delimiter: str) -> None:
    text = f'id{delimiter}text\na{delimiter}"Hello, world; again"\n'
    table = read_table(_write(tmp_path, text), ("id",))
    assert table.rows[0].cells == {"id": "a", "text": "Hello, world; again"}


def test_utf16_and_bom_manifests_are_read(tmp_path: Path) -> None:
    utf16 = _write(tmp_path, codecs.BOM_UTF16_LE + "id\ttext\r\nä\tÜber\r\n".encode("utf-16-le"), "u.csv")
    assert read_table(utf16, ("id",)).rows[0].cells == {"id": "ä", "text": "Über"}
    bom = _write(tmp_path, codecs.BOM_UTF8 + b"id,text\na,b\n", "b.csv")
    assert read_table(bom, ("id",)).rows[0].cells["id"] == "a"


def test_a_broken_line_is_one_row_error_and_the_next_rows_are_read(tmp_path: Path) -> None:
    text = 'id,text\na,"fine"\nb,"bad"x,\nc,also, too many\nd,"ok ""quoted"""\n,"orphan cell",extra\ne,last\n'
    table = read_table(_write(tmp_path, text), ("id",))
    assert [r.cells["id"] for r in table.rows] == ["a", "d", "e"]
    assert table.rows[1].cells["text"] == 'ok "quoted"'
    assert [(e.row, e.column, e.item_id) for e in table.errors] == [
        (3, "text", "b"),
        (4, "(cell 3)", "c"),
        (6, "(cell 3)", None),
    ]


def test_an_unclosed_quote_is_reported_where_it_opens_and_earlier_rows_run(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, 'id,title,text\na,,ok\nb,"never closed,x\nc,,y\nd,,z\n'), ("id",))
    assert [r.cells["id"] for r in table.rows] == ["a"]
    (error,) = table.errors
    assert (error.row, error.column, error.item_id) == (3, "title", "b")
    assert "a quote opened on line 3 is never closed" in error.reason and "lines 3-5" in error.reason


def test_bad_cells_are_row_errors(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, b"id,text\na,caf\xe9\nb,x\x00y\nc,fine\n"), ("id",))
    assert [r.cells["id"] for r in table.rows] == ["c"]
    assert [(e.row, e.column) for e in table.errors] == [(2, "text"), (3, "text")]
    assert "not valid UTF-8" in table.errors[0].reason and "NUL" in table.errors[1].reason


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("m.csv", b"", "is empty"),
        ("m.csv", b"\n\n", "is empty"),
        ("m.csv", b"name,text\nx,y\n", "has no 'id' column (its columns: name, text)"),
        ("m.csv", b"id,text,ID\nx,y,z\n", "'id' appears more than once"),
        ("m.csv", b'"id,text\nx,y\n', "its header (line 1) cannot be read"),
        ("m.csv", b"%PDF-1.5 binary", "is a PDF document, not a CSV file"),
        ("m.json", b"{}", "use a .csv or .parquet file, not .json"),
        ("m.parquet", b"not parquet", "could not be read as Parquet"),
    ],
)
def test_whole_manifest_problems(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    with pytest.raises(ManifestError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_table(_write(tmp_path, data, name), ("id",))


def test_missing_folder_and_parquet(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="does not exist"):
        read_table(tmp_path / "nope.csv", ("id",))
    with pytest.raises(ManifestError, match="is a folder"):
        read_table(tmp_path, ("id",))
    pd.DataFrame({"ID": ["a", None], "n": [1, 2]}).to_parquet(tmp_path / "m.parquet")
    table = read_table(tmp_path / "m.parquet", ("id",))
    assert [(r.row, r.cells) for r in table.rows] == [(2, {"id": "a", "n": "1"}), (3, {"id": "", "n": "2"})]


def test_table_ids_are_read_from_the_table_alone_and_only_when_every_row_has_a_valid_unique_one(tmp_path: Path) -> None:
    assert table_ids(_write(tmp_path, "id,text_path\nalice,missing.epub\nbob,nowhere.pdf\n")) == ["alice", "bob"]
    assert table_ids(_write(tmp_path, "id,text\nalice,a\nalice,b\n")) is None  # a duplicate: a row error
    assert table_ids(_write(tmp_path, "id,text\n,a\n")) is None  # no id
    assert table_ids(_write(tmp_path, "id,text\n../up,a\n")) is None  # not an id: never a path to look at
    assert table_ids(_write(tmp_path, 'id,text\nalice,"never closed\n')) is None  # a row that cannot be read
    assert table_ids(tmp_path / "nope.csv") is None
