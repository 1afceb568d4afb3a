"""Reading the small side files a book may name (a cast, a lexicon): JSON or CSV, UTF-8, bounded in size.

Every problem is one line in the caller's own error type, naming the file.
"""

from __future__ import annotations

from pathlib import Path

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
