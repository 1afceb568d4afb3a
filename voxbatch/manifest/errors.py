"""A problem with one manifest row (or one file of a folder): which row, which column, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    """Row numbers count like a spreadsheet: the header is row 1, the first data row is row 2.

    Inputs that come from a folder have no row: ``row`` is None and ``source`` names the file.
    """

    row: int | None
    column: str
    reason: str
    item_id: str | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row is not None else f"file {self.source}"
        who = f" (id {self.item_id!r})" if self.item_id else ""
        return f"{where}{who}, column {self.column!r}: {self.reason}"
