"""Reading the small side files a book may name (a cast, a lexicon): JSON or CSV, UTF-8, bounded in size, as a JSON
object or as CSV rows with named columns, and either way as the same entries.

A kind of side file (:class:`SideFileKind`) maps a key (a speaker, a term) to some fields (a voice and a model; a
spoken form and a case rule). Its JSON is an object of keys, each a string (the first field) or an object of fields;
its CSV has a column for the key and one per field, the key and the first field required. Both become
:data:`Entry` tuples ``(key, value, where)``, which the kind's own module checks and builds into what it needs
(``build``, and :meth:`SideFileKind.read`). Every problem is one line in the kind's own error type, naming the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

SIDE_FILE_SUFFIXES = (".json", ".csv")

T = TypeVar("T")
Entry = tuple[Any, Any, str]  # (the key as written, its value, where it is for messages: "the cast", "row 3")


@dataclass(frozen=True)
class SideFileKind(Generic[T]):
    """One kind of side file: its error type, its size cap, how its entries are written, and what is built of
    them (``build`` checks each entry and raises ``error``)."""

    error: type[ValueError]
    max_bytes: int
    key: str  # the CSV column of each entry's key ("speaker", "term")
    fields: tuple[str, ...]  # the CSV columns of its value, the first required ("voice", "model")
    label: str  # where a JSON entry is, in messages ("the cast")
    not_an_object: str  # what the JSON must be, with an example
    build: Callable[[list[Entry]], T]

    def from_json(self, text: str) -> T:
        """What a JSON side file holds: an object of keys, each a string (the first field) or an object."""
        return self.build(json_entries(self, text))

    def from_csv(self, text: str) -> T:
        """What a CSV side file holds: a key column and one column per field."""
        return self.build(csv_entries(self, text))

    def read(self, path: Path) -> T:
        """What the file ``path`` holds (JSON or CSV by its suffix); every problem raises ``error`` naming it."""
        text, suffix = read_side_file(path, self.error, self.max_bytes)
        try:
            return self.from_json(text) if suffix == ".json" else self.from_csv(text)
        except self.error as exc:
            raise self.error(f"file {path.name}: {exc}") from None


def read_side_file(path: Path, error: type[ValueError], max_bytes: int) -> tuple[str, str]:
    """The text of ``path`` and its suffix (``.json`` or ``.csv``); any problem raises ``error``."""
    suffix = path.suffix.lower()
    if suffix not in SIDE_FILE_SUFFIXES:
        raise error(f"must be a .json or .csv file; got {path.name}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"file {path} does not exist") from None
    except OSError as exc:
        raise error(f"file {path} could not be read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise error(f"file {path.name} is larger than {max_bytes} bytes")
    try:
        return data.decode("utf-8-sig"), suffix
    except UnicodeDecodeError:
        raise error(f"file {path.name} is not UTF-8 text") from None


def json_object(text: str, error: type[ValueError], not_an_object: str) -> dict[str, Any]:
    """``text`` as a JSON object; anything else raises ``error`` (``not_an_object`` says what it must be)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise error(f"is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise error(not_an_object)
    return data


def csv_rows(
    text: str, error: type[ValueError], required: tuple[str, ...], optional: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """Each non-blank CSV row with its row number (the header is row 1), columns named in lower case, values as
    written; a file without the ``required`` columns raises ``error``."""
    reader = csv.DictReader(io.StringIO(text))
    columns = {(c or "").strip().lower() for c in reader.fieldnames or ()}
    if not set(required) <= columns:
        needed = " and ".join(required)
        raise error(f"needs the columns {needed} (and optionally {optional}); found {sorted(columns)}")
    for number, record in enumerate(reader, start=2):
        cells = {(k or "").strip().lower(): v or "" for k, v in record.items() if isinstance(v, str)}
        if any(v.strip() for v in cells.values()):
            yield number, cells


def json_entries(kind: SideFileKind[Any], text: str) -> list[Entry]:
    """The entries of a JSON side file: each key and its value as written (a string or an object)."""
    return [(key, value, kind.label) for key, value in json_object(text, kind.error, kind.not_an_object).items()]


def csv_entries(kind: SideFileKind[Any], text: str) -> list[Entry]:
    """The entries of a CSV side file: each row's key and its non-empty fields, stripped, as an object."""
    required = (kind.key, kind.fields[0])
    entries = []
    for number, cells in csv_rows(text, kind.error, required, " and ".join(kind.fields[1:])):
        value = {name: cells[name].strip() for name in kind.fields if cells.get(name, "").strip()}
        entries.append((cells.get(kind.key, "").strip(), value, f"row {number}"))
    return entries
