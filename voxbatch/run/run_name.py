"""What a run is called where runs are listed (the Prefect UI's flow runs): the flow, what it read and how much,
e.g. ``audiobook: books.csv (3 items)`` or ``transcripts: inbox/ (2 items, 1 bad row, dry run)``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from voxbatch.manifest.errors import RowError
from voxbatch.plural import counted


def source_label(source: str) -> str:
    """A manifest, folder or file by its last part (a folder with a trailing slash); a URL as given."""
    if "://" in source:
        return source
    path = Path(source)
    name = path.name or str(path)
    return f"{name}/" if path.is_dir() else name


def bad_rows(errors: Sequence[object]) -> int:
    """How many rows (or files of a folder) the errors are about: a row with two problems is one bad row."""
    return len({(e.row, e.source) if isinstance(e, RowError) else str(e) for e in errors})


def run_title(flow: str, source: str, items: int | None = None, bad: int = 0, dry_run: bool = False) -> str:
    """``flow: source (N items, M bad rows, dry run)``; only the parts that are known and not zero."""
    details = [counted(items, "item")] if items is not None else []
    if bad:
        details.append(counted(bad, "bad row"))
    if dry_run:
        details.append("dry run")
    return f"{flow}: {source_label(source)}" + (f" ({', '.join(details)})" if details else "")
