"""An item's outcome over a report's period, from all its item records, not from the latest alone.

A book produced on the first night and skipped as done on the second was produced in that period; one that
failed and was then finished was produced too. So: ``produced`` when any item record of the period is ok,
else ``failed`` when any failed, else ``skipped`` (it was already done), else the latest record's own status
(``stopped``, ``skipped_budget``: not started, or stopped before it was done; ``flagged``: made, but not as asked,
e.g. a chunk still bad after its repeats).
"""

from __future__ import annotations

import pandas as pd

# the first status (in this order) among an item's records decides its outcome
OUTCOMES: tuple[tuple[str, str], ...] = (("ok", "produced"), ("failed", "failed"), ("skipped", "skipped"))


def item_outcomes(rows: pd.DataFrame) -> pd.Series:
    """Item id -> outcome for the item records (``kind == "item"``) among ``rows`` (ledger rows with ``item_id``,
    ``kind``, ``status`` and ``started_at``); items with no item record are not in the result."""
    columns = ["item_id", "started_at", "status"]
    items = rows.loc[rows["kind"] == "item", columns].astype({"item_id": object, "status": object})
    items = items.sort_values("started_at", kind="stable")  # the latest last (on a tie, the one read last)
    outcomes: dict[object, str] = {}
    for item_id, statuses in items.groupby("item_id", sort=False)["status"]:
        seen = set(statuses)
        outcomes[item_id] = next((word for status, word in OUTCOMES if status in seen), str(statuses.iloc[-1]))
    return pd.Series(outcomes, dtype=object)
