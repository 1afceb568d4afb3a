"""Problems with manifests: one row (or one file of a folder) that cannot run, or a manifest that cannot be read.

Row numbers count like a spreadsheet: the header is row 1 and the first data row is row 2, blank lines
included, so in a CSV file the row number is the line number unless a quoted cell spans several lines
(errors about the file's structure also name the line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SHOWN_ID_MAX_CHARS = 60  # a 300-character id is shown by its start
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ManifestError(ValueError):
    """The manifest as a whole cannot be read (missing file, unknown format, missing required column)."""


@dataclass(frozen=True)
class RowError:
    """One row that cannot run: which row, which column, and why (one line).

    Inputs that come from a folder have no row: ``row`` is None and ``source`` names the file.
    """

    row: int | None
    column: str
    reason: str
    item_id: str | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else f"file {self.source}"
        shown = self.item_id or ""
        if len(shown) > SHOWN_ID_MAX_CHARS:
            shown = shown[: SHOWN_ID_MAX_CHARS - 3] + "..."
        who = f" (id {shown!r})" if shown else ""
        return _one_line(f"{where}{who}, column {self.column!r}: {self.reason}")


def _one_line(text: str) -> str:
    """Control characters (a newline in a cell) shown escaped, so an error is always one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
