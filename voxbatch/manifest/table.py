"""Reading a manifest file (CSV or Parquet) into rows of strings, one bad line never rejecting the others.

CSV files are read with the standard ``csv`` module, strictly: a line with more cells than the header has
columns, a cell whose quotes do not close properly, invalid UTF-8 or a NUL character in a cell is a
:class:`RowError` for that row alone, and the other rows are read. A quote that is never closed swallows the
rest of the file: that row is an error naming the line where the quote opened, and the rows before it run.
The delimiter is the one (``,``, ``;``, tab or ``|``) that splits the header into the required columns, so
spreadsheets saved with ``;`` work. UTF-8 (with or without BOM) and UTF-16 with BOM are read. Whole-file
problems (missing file, a folder, a PDF named ``.csv``, no header, a missing required column) raise
:class:`ManifestError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from voxbatch.manifest.content import SNIFF_BYTES, describe_binary
from voxbatch.manifest.errors import ManifestError, RowError
from voxbatch.manifest.ids import ID_PATTERN, id_problem

__all__ = ["FIRST_DATA_ROW", "ID_PATTERN", "ManifestError", "Table", "TableRow", "read_table", "table_ids"]

FIRST_DATA_ROW = 2  # the header is row 1
DELIMITERS = (",", ";", "\t", "|")
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
QUOTE = '"'
_SHOWN_HEADER_CHARS = 80


@dataclass(frozen=True)
class TableRow:
    """One data row: its spreadsheet row number and its cells by (lowercase) column name."""

    row: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Table:
    """The readable rows of a manifest, and the rows that could not even be split into cells."""

    columns: tuple[str, ...]
    rows: list[TableRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def read_table(path: Path, required: tuple[str, ...]) -> Table:
    """The manifest's rows as strings (missing cells are empty strings, cells are stripped)."""
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        table = _read_parquet(path)
    elif suffix in CSV_SUFFIXES:
        table = _read_csv(path, required)
    else:
        raise ManifestError(f"manifest {path}: use a .csv or .parquet file, not {suffix or 'no extension'}")
    missing = [c for c in required if c not in table.columns]
    if missing:
        shown = ", ".join(c for c in table.columns if c)[:_SHOWN_HEADER_CHARS]
        raise ManifestError(
            f"manifest {path} has no {', '.join(repr(c) for c in missing)} column (its columns: {shown or 'none'})"
        )
    return table


def table_ids(path: Path) -> list[str] | None:
    """The ``id`` of every row, from the table alone (no manuscript or audio file is read); None when a row cannot
    be read or has no valid, unique id (that manifest has a row error to report)."""
    try:
        table = read_table(path, required=("id",))
    except ManifestError:
        return None
    ids = [record.cells.get("id", "") for record in table.rows]
    if table.errors or len(set(ids)) != len(ids) or any(id_problem(item_id) for item_id in ids):
        return None
    return ids


def _check_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ManifestError(f"manifest {path} does not exist") from None
    except OSError as exc:
        raise ManifestError(f"manifest {path} cannot be read: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(mode):
        raise ManifestError(f"manifest {path} is a folder; give a .csv or .parquet file")
    if not stat.S_ISREG(mode):
        raise ManifestError(f"manifest {path} is not a regular file")


def _read_parquet(path: Path) -> Table:
    import pandas as pd  # here: a CSV manifest is read without it (the command checks one before anything starts)

    try:
        frame = pd.read_parquet(path).astype(object)
    except (ValueError, OSError) as exc:
        raise ManifestError(f"manifest {path} could not be read as Parquet: {exc}") from exc
    columns = [_column_name(str(c)) for c in frame.columns]
    _check_columns(path, columns)
    frame = frame.where(frame.notna(), "")
    rows = [
        TableRow(offset + FIRST_DATA_ROW, {c: str(v).strip() for c, v in zip(columns, values, strict=True)})
        for offset, values in enumerate(frame.itertuples(index=False, name=None))
    ]
    return Table(tuple(columns), rows)


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"manifest {path} cannot be read: {exc.strerror or exc}") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ManifestError(f"manifest {path} is not valid UTF-16 text: {exc}") from exc
    what = describe_binary(data[:SNIFF_BYTES])
    if what is not None:
        raise ManifestError(f"manifest {path} is {what}, not a CSV file; export it as CSV (UTF-8)")
    # Invalid bytes survive as surrogates, so only the rows holding them are refused.
    return data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")


def _column_name(raw: str) -> str:
    return raw.strip().strip(QUOTE).strip().lower()


def _check_columns(path: Path, columns: list[str]) -> None:
    named = [c for c in columns if c]
    twice = sorted({c for c in named if named.count(c) > 1})
    if twice:
        raise ManifestError(f"manifest {path}: column {twice[0]!r} appears more than once in the header")


def _delimiter(header_line: str, required: tuple[str, ...]) -> str:
    """The delimiter that splits the header into the required columns (else the sniffer's guess, else ',')."""
    for delimiter in DELIMITERS:
        names = {_column_name(c) for c in header_line.split(delimiter)}
        if all(r in names for r in required):
            return delimiter
    try:
        return csv.Sniffer().sniff(header_line, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return DELIMITERS[0]


def _read_csv(path: Path, required: tuple[str, ...]) -> Table:
    lines = list(io.StringIO(_decode(path), newline=""))
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise ManifestError(f"manifest {path} is empty: it needs a header row naming its columns")
    delimiter = _delimiter(first, required)
    reader = csv.reader(iter(lines), delimiter=delimiter, strict=True, skipinitialspace=True)
    header: list[str] | None = None
    table = Table(())
    for number, start_line, record in _records(reader, lines, delimiter):
        if header is None:
            if isinstance(record, _Broken):
                raise ManifestError(f"manifest {path}: its header (line {start_line}) cannot be read: {record.reason}")
            if not any(c.strip() for c in record):
                continue
            header = [_column_name(c) for c in record]
            _check_columns(path, header)
            table = Table(tuple(header))
            continue
        if isinstance(record, _Broken):
            column = header[record.cell] if record.cell < len(header) else f"(cell {record.cell + 1})"
            item_id = _first_line_id(lines[start_line - 1], delimiter, header)
            table.errors.append(RowError(number, column or f"(cell {record.cell + 1})", record.reason, item_id))
            continue
        if not any(c.strip() for c in record):
            continue  # blank lines, and rows of empty cells that spreadsheets leave at the end
        row, problem = _row(number, start_line, record, header, delimiter)
        if problem is not None:
            table.errors.append(problem)
        elif row is not None:
            table.rows.append(row)
    return table


def _first_line_id(line: str, delimiter: str, header: list[str]) -> str | None:
    """The id of a broken row, when its first line names one (to point at the row in messages)."""
    if "id" not in header:
        return None
    cells = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
    position = header.index("id")
    value = cells[position].strip() if position < len(cells) else ""
    return value if value and _is_text(value) and "\n" not in value else None


@dataclass(frozen=True)
class _Broken:
    """A record the reader could not split: the cell where it broke, and why."""

    cell: int
    reason: str


def _records(
    reader: Iterator[list[str]], lines: list[str], delimiter: str
) -> Iterator[tuple[int, int, list[str] | _Broken]]:
    """(row number, first line, cells or what broke) for every record, blank ones included."""
    number = 0
    line_num = 0
    while True:
        start_line = line_num + 1
        try:
            record: list[str] | _Broken = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end_line = reader.line_num  # type: ignore[attr-defined]
            cell, unclosed = _trouble(lines[start_line - 1 : end_line], delimiter)
            if unclosed:
                span = f"lines {start_line}-{end_line}" if end_line > start_line else f"line {start_line}"
                reason = (
                    f"a quote opened on line {start_line} is never closed, so the rest of the file ({span}) was "
                    f'not read; close the quote, and write a quote inside a cell as ""'
                )
            else:
                reason = (
                    f"a quoted cell must end at its closing quote (line {end_line}: {exc}); "
                    f'write a quote inside a cell as ""'
                )
            record = _Broken(cell, reason)
        line_num = reader.line_num  # type: ignore[attr-defined]
        number += 1
        yield number, start_line, record


def _trouble(lines: list[str], delimiter: str) -> tuple[int, bool]:
    """Which cell of a broken record holds the bad quote, and whether that quote is never closed."""
    cell, in_quotes, at_start, after_close = 0, False, True, False
    for ch in "".join(lines):
        if in_quotes:
            if ch == QUOTE:
                in_quotes, after_close = False, True
            continue
        if after_close:
            after_close = False
            if ch == QUOTE:  # a doubled quote inside a quoted cell
                in_quotes = True
            elif ch == delimiter:
                cell, at_start = cell + 1, True
            elif ch not in "\r\n":
                return cell, False
            continue
        if ch == delimiter:
            cell, at_start = cell + 1, True
        elif at_start and ch == " ":
            continue
        elif at_start and ch == QUOTE:
            in_quotes, at_start = True, False
        else:
            at_start = False
    return cell, in_quotes


def _row(
    number: int, start_line: int, record: list[str], header: list[str], delimiter: str
) -> tuple[TableRow | None, RowError | None]:
    """The row's cells by column, or the first problem that keeps the row from running."""
    cells = {name: record[i].strip() if i < len(record) else "" for i, name in enumerate(header) if name}
    item_id = cells.get("id") or None
    shown_id = item_id if _is_text(item_id) else None
    shown = "," if delimiter == "," else repr(delimiter)
    if len(record) > len(header):  # even when the extra cells are empty: the row's cells may have shifted
        reason = (
            f"this row has {len(record)} cells but the header has {len(header)} columns (line {start_line}); "
            f"quote a cell that contains {shown}"
        )
        return None, RowError(number, f"(cell {len(header) + 1})", reason, shown_id)
    for i, value in enumerate(record):
        if not header[i] and value.strip():
            reason = f"cell {i + 1} has no column name in the header (line {start_line})"
            return None, RowError(number, f"(cell {i + 1})", reason, shown_id)
    for name, value in cells.items():
        if not _is_text(value):
            return None, RowError(number, name, "is not valid UTF-8 text; save the manifest as UTF-8")
        if "\x00" in value:
            return None, RowError(number, name, "contains a NUL character", item_id)
    return TableRow(number, cells), None


def _is_text(value: str | None) -> bool:
    """False for a cell that held bytes that are not UTF-8 (decoded as lone surrogates)."""
    if value is None:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
