"""Reading the small side files a book may name (a cast, a lexicon): JSON or CSV, UTF-8, bounded in size, as a JSON
object or as CSV rows with named columns.

Every problem is one line in the caller's own error type, naming the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SIDE_FILE_SUFFIXES = (".json", ".csv")


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
