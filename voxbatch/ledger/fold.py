"""Journals into the ledger: which journal records the Parquet files lack, and folding a dead run's journal.

``voxbatch report`` adds the records of every journal that Parquet does not hold yet (:func:`journal_records`);
a writer opening a ledger folds the journals of writers that are gone (:func:`fold_dead_journals`). Both match
rows by ``record_id``, so a call is never counted twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path

import pyarrow.dataset as ds

from voxbatch.ledger.journal import JournalContents, dead_journal, journal_paths, missing_records, remove_journal
from voxbatch.ledger.record import CallRecord
from voxbatch.ledger.writer import (
    PARTITION_COLUMN,
    PARTITION_SCHEMA,
    READ_SCHEMA,
    RUN_ID_MAX_CHARS,
    partition_date,
    run_file_name,
    validate_run_id,
    write_ledger_file,
)

logger = logging.getLogger(__name__)


def known_record_ids(root: Path, run_ids: Sequence[str], dates: Sequence[str] | None = None) -> set[str]:
    """The ``record_id`` of every Parquet row of these runs under ``root`` (only in those date partitions, if
    given: a call's records all share its ``started_at``, so its rows are all in one partition)."""
    root = Path(root)
    if not run_ids or not root.is_dir():
        return set()
    dataset = ds.dataset(
        root, format="parquet", schema=READ_SCHEMA, partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive")
    )
    row_filter = ds.field("run_id").isin(list(run_ids))
    if dates is not None:
        row_filter = row_filter & ds.field(PARTITION_COLUMN).isin(list(dates))
    table = dataset.to_table(columns=["record_id"], filter=row_filter)
    return {value for value in table.column("record_id").to_pylist() if value is not None}


def journal_records(root: Path, journals: Sequence[JournalContents]) -> list[CallRecord]:
    """The records of ``journals`` that the Parquet files under ``root`` do not hold yet (by ``record_id``)."""
    records = [record for contents in journals for record in contents.records]
    runs = sorted({record.run_id for record in records})
    dates = sorted({partition_date(record) for record in records})
    return missing_records(journals, known_record_ids(root, runs, dates))


def fold_dead_journals(root: Path) -> int:
    """Fold every journal under ``root`` whose writer is gone into the Parquet files; returns the rows added.

    For each one: its records not yet in Parquet (unsettled calls as "unknown") are written as one new file per
    run and date (``run-<run_id>.recovered-<token>-00001.parquet``), then the journal is deleted. Journals of
    live writers are left alone.
    """
    added = 0
    for path in journal_paths(root):
        with dead_journal(path) as contents:
            if contents is None:
                continue
            rows = journal_records(root, [contents])
            token = uuid.uuid4().hex[:8]
            by_file: dict[tuple[str, str], list[CallRecord]] = {}
            for record in rows:
                by_file.setdefault((record.run_id, partition_date(record)), []).append(record)
            for (run_id, day), records in sorted(by_file.items()):
                folder = root / f"{PARTITION_COLUMN}={day}"
                folder.mkdir(parents=True, exist_ok=True)
                file_id = validate_run_id(f"{run_id}.recovered-{token}"[-RUN_ID_MAX_CHARS:].lstrip(".-"))
                write_ledger_file(folder / run_file_name(file_id, 1), records)
            added += len(rows)
            if contents.unsettled or contents.torn_tail:
                logger.warning(
                    "folded the journal of a run that did not end: %d call(s) with unknown outcome%s",
                    contents.unsettled,
                    " (its last line was torn and ignored)" if contents.torn_tail else "",
                )
            remove_journal(path)
    return added
