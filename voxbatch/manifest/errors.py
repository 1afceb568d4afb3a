"""A problem with one manifest row: which row, which column, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowError:
    """Row numbers count like a spreadsheet: the header is row 1, the first data row is row 2."""

    row: int
    column: str
    reason: str
    item_id: str | None = None

    def __str__(self) -> str:
        who = f" (id {self.item_id!r})" if self.item_id else ""
        return f"row {self.row}{who}, column {self.column!r}: {self.reason}"
