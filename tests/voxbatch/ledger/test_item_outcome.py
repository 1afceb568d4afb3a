"""An item's outcome over a period: produced if any run of the period produced it, else failed if any failed,
else skipped (already done), else its latest status; never the latest record alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from voxbatch.ledger.item_outcome import item_outcomes


def _rows(*records: tuple[str, int, str], kind: str = "item") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": pd.Categorical([item for item, _, _ in records]),
            "kind": pd.Categorical([kind] * len(records)),
            "status": pd.Categorical([status for _, _, status in records]),
            "started_at": [datetime(2026, 3, day, 2, tzinfo=UTC) for _, day, _ in records],
        }
    )


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        (["ok", "skipped"], "produced"),  # produced on night 1, skipped as done on night 2
        (["failed", "ok"], "produced"),  # failed, then finished
        (["ok", "failed"], "produced"),  # produced, then (after an edit) failed: the book of night 1 exists
        (["failed", "skipped_budget"], "failed"),
        (["skipped", "skipped"], "skipped"),
        (["skipped_budget", "stopped"], "stopped"),  # neither done nor failed: the latest says where it stands
        (["flagged", "flagged"], "flagged"),  # made, but not as asked, each night
        (["flagged", "ok"], "produced"),  # its bad chunks fixed on night 2
    ],
)
def test_the_period_decides_not_the_last_record(statuses: list[str], outcome: str) -> None:
    nights = _rows(*(("book", day, status) for day, status in enumerate(statuses, start=1)))
    assert item_outcomes(nights).to_dict() == {"book": outcome}
    assert item_outcomes(nights.iloc[::-1]).to_dict() == {"book": outcome}  # read newest first: the same


def test_only_item_records_count_and_each_item_stands_alone() -> None:
    rows = pd.concat(
        [_rows(("a", 1, "ok"), ("b", 1, "failed"), ("b", 2, "skipped")), _rows(("c", 1, "failed"), kind="call")]
    )
    assert item_outcomes(rows).to_dict() == {"a": "produced", "b": "failed"}  # c has calls only: no outcome
    assert item_outcomes(rows.iloc[0:0]).empty
