"""Writing and reading the ledger: a Parquet dataset of :class:`CallRecord` rows, hive-partitioned by UTC date.

Layout under the ledger root::

    root/date=YYYY-MM-DD/run-<run_id>-<seq:05d>.parquet

Each flush of a :class:`LedgerWriter` writes one file per date it holds, all with the same ``seq``; ``seq`` grows
by one per flush (and carries on from files already on disk, so a resumed run never overwrites its own files;
a failed flush uses up its number, so gaps are possible).
Files appear atomically: temp file (dot-prefixed, so dataset readers skip it) in the same folder, fsync, rename.

Nothing is lost to a crash between flushes: every record (and, before each call's request goes out, its
write-ahead "sent" record, :meth:`LedgerWriter.intend`) is first appended to the writer's journal under
``root/_journal/``; see :mod:`voxbatch.ledger.journal` for the format and for how a killed run's journal is
folded into the Parquet files (by the next writer opened on the same root) without ever counting a row twice.
A run that ends normally leaves no journal.
"""

from __future__ import annotations

import atexit
import logging
import math
import re
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from voxbatch.atomic import write_atomic
from voxbatch.ledger.journal import (
    CallJournal,
    JournalOp,
)
from voxbatch.ledger.record import CallRecord
from voxbatch.ledger.schema import LEDGER_SCHEMA, records_to_table, require_utc_aware

logger = logging.getLogger(__name__)

DEFAULT_FLUSH_INTERVAL_S = 5.0
DEFAULT_FLUSH_ROWS = 1000
DEFAULT_JOURNAL_ROTATE_BYTES = 16 * 1024 * 1024  # after a flush, a longer journal is replaced by a fresh one
PARTITION_COLUMN = "date"
_RUN_ID_RE = re.compile(r"[A-Za-z0-9._-]+")
RUN_ID_MAX_CHARS = 200  # keeps "run-<id>-<seq>.parquet" well under the usual 255-byte file-name limit
_SEQ_DIGITS = 5

PARTITION_SCHEMA = pa.schema([pa.field(PARTITION_COLUMN, pa.string())])
READ_SCHEMA = LEDGER_SCHEMA.append(pa.field(PARTITION_COLUMN, pa.string()))
_DICTIONARY_TYPE = pa.dictionary(pa.int32(), pa.string())  # a string column read as a pandas categorical

# Integer columns become pandas' nullable integers so a column's dtype does not flip to float when it has a null.
PANDAS_INT_TYPES: dict[pa.DataType, object] = {pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype()}


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a safe file-name fragment (letters, digits, ``-``, ``_``, ``.``); else ValueError."""
    if not isinstance(run_id, str) or not _RUN_ID_RE.fullmatch(run_id) or len(run_id) > RUN_ID_MAX_CHARS:
        raise ValueError(
            f"run_id {run_id!r} is not a safe file-name fragment: "
            f"use 1-{RUN_ID_MAX_CHARS} letters, digits, '-', '_' or '.'"
        )
    return run_id


def partition_date(record: CallRecord) -> str:
    """The record's partition value: the UTC date of ``started_at`` as YYYY-MM-DD."""
    return record.started_at.astimezone(UTC).date().isoformat()


def run_file_name(run_id: str, seq: int) -> str:
    """The file name of flush ``seq`` of run ``run_id``."""
    return f"run-{run_id}-{seq:0{_SEQ_DIGITS}d}.parquet"


class LedgerWriter:
    """Buffers records in memory and flushes them to the ledger dataset under ``root``.

    Flushes happen on a daemon timer thread every ``flush_interval_s`` seconds, as soon as ``flush_rows`` records
    are buffered, on :meth:`flush`, and on :meth:`close` (and at interpreter exit if the writer was never closed).
    :meth:`append` never touches the disk, so it is safe to call from asyncio code as well as from many threads.

    A failed flush keeps its rows buffered for the next one. A failure on the timer thread is logged and raised
    again from the next :meth:`append`, :meth:`flush` or :meth:`close` call, so rows are never lost silently.
    One writer per ``run_id`` at a time: two live writers of the same run would race for the same file names.
    """

    def __init__(
        self,
        root: Path,
        run_id: str,
        *,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        flush_rows: int = DEFAULT_FLUSH_ROWS,
        file_tag: str | None = None,
        journal: bool = True,
        fsync_journal: bool = True,
        journal_rotate_bytes: int = DEFAULT_JOURNAL_ROTATE_BYTES,
    ) -> None:
        """``file_tag`` keeps the files of several writers of one run apart (one per worker process).

        ``journal`` keeps the write-ahead journal (off only for writers whose records are durable elsewhere);
        opening a journaled writer first folds the journals of runs that died into the ledger."""
        if not (math.isfinite(flush_interval_s) and flush_interval_s > 0):
            raise ValueError(f"flush_interval_s must be a finite number > 0, got {flush_interval_s!r}")
        if flush_rows < 1:
            raise ValueError(f"flush_rows must be >= 1, got {flush_rows!r}")
        self.root = Path(root)
        self.run_id = validate_run_id(run_id)
        self._file_id = validate_run_id(f"{run_id}.{file_tag}" if file_tag else run_id)
        self.flush_interval_s = flush_interval_s
        self.flush_rows = flush_rows
        self._buffer: list[CallRecord] = []
        self._buffer_lock = threading.Lock()  # guards _buffer, _pending_error, _closed
        self._flush_lock = threading.Lock()  # one flush at a time, so seq numbers and files stay in order
        self._pending_error: BaseException | None = None
        self._closed = False
        self._seq = self._last_seq_on_disk()
        self._files: list[Path] = []
        self._unsettled: dict[str, CallRecord] = {}  # record_id -> "sent" record still waiting for its outcome
        self._journal: CallJournal | None = None
        self._journal_lock = threading.Lock()  # guards which journal is current; taken before _buffer_lock
        self._fsync_journal = fsync_journal
        self.journal_rotate_bytes = journal_rotate_bytes
        if journal:
            try:
                from voxbatch.ledger.fold import fold_dead_journals  # it writes files the way this module does

                fold_dead_journals(self.root)
            except Exception:  # the journals stay; reports still read them, the next writer folds them again
                logger.exception("could not fold the journals of earlier runs under %s", self.root)
            self._journal = CallJournal(self.root, self._file_id, fsync=fsync_journal)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._timer = threading.Thread(target=self._run_timer, name=f"ledger-flush-{run_id}", daemon=True)
        self._timer.start()
        self._atexit_hook = _make_atexit_hook(weakref.ref(self))
        atexit.register(self._atexit_hook)

    # -- public API ---------------------------------------------------------------------------------------------

    def intend(self, record: CallRecord) -> None:
        """Write a call's "sent" record to the journal before its request goes out (durable when this returns).

        Until :meth:`append` gets the outcome record with the same ``record_id``, the ledger counts the call as
        "outcome unknown, possibly billed". Raises ValueError for a record without ``record_id`` or of another
        run, RuntimeError after close, OSError when the journal cannot be written (then do not send the call).
        """
        if record.record_id is None:
            raise ValueError("a write-ahead record needs a record_id for its outcome to settle it")
        self._check(record)
        with self._buffer_lock:
            if self._closed:
                raise RuntimeError(f"ledger writer for run {self.run_id!r} is closed")
            self._unsettled[record.record_id] = record
        self._journal_write("sent", record)

    def append(self, record: CallRecord) -> None:
        """Record one outcome: journaled at once (durable when this returns), buffered for the next Parquet flush.

        A record without ``record_id`` gets one. Raises ValueError for a record of another run or one the ledger
        cannot store (checked here, so one bad record cannot block every later flush), RuntimeError after close,
        a pending timer-flush error (the record is then not buffered), or OSError when the journal cannot be
        written (the record is buffered all the same)."""
        self._check(record)
        if record.record_id is None:
            record = replace(record, record_id=uuid.uuid4().hex)
        with self._buffer_lock:
            if self._closed:
                raise RuntimeError(f"ledger writer for run {self.run_id!r} is closed")
            self._raise_pending_locked()
            self._buffer.append(record)
            self._unsettled.pop(record.record_id, None)  # type: ignore[arg-type]
            full = len(self._buffer) >= self.flush_rows
        if full:
            self._wake.set()  # the timer thread does the I/O, so append stays non-blocking
        self._journal_write("done", record)

    @property
    def unsettled(self) -> int:
        """Calls sent whose outcome has not been appended yet."""
        with self._buffer_lock:
            return len(self._unsettled)

    @property
    def journal_path(self) -> Path | None:
        """This writer's journal (None without one)."""
        return self._journal.path if self._journal is not None else None

    def _journal_write(self, op: JournalOp, record: CallRecord) -> None:
        with self._journal_lock:
            if self._journal is not None:
                self._journal.write(op, record)

    def _rotate_journal(self) -> None:
        """After a flush: replace a journal grown past ``journal_rotate_bytes`` by one holding only what the
        Parquet files do not hold yet (unsettled calls and buffered records), then delete the old one."""
        with self._journal_lock:
            old = self._journal
            if old is None or old.size_bytes < self.journal_rotate_bytes:
                return
            with self._buffer_lock:
                if self._closed:
                    return  # close() removes the journal itself
                lines: list[tuple[JournalOp, CallRecord]] = [("sent", r) for r in self._unsettled.values()]
                lines += [("done", r) for r in self._buffer]
            fresh = CallJournal(self.root, self._file_id, fsync=self._fsync_journal)
            fresh.write_many(lines)
            self._journal = fresh
            old.close(remove=True)

    def _check(self, record: CallRecord) -> None:
        if record.run_id != self.run_id:
            # The file name says which run a file holds; a row of another run in it would mislead.
            raise ValueError(f"record of run {record.run_id!r} appended to the ledger writer of run {self.run_id!r}")
        require_utc_aware(record)
        records_to_table([record])  # type and nullability check

    def flush(self) -> Path | None:
        """Write the buffered rows now. Returns the file written (the one of the latest date when the rows span
        several dates; see :attr:`files_written` for all) or None if nothing was buffered."""
        with self._buffer_lock:
            self._raise_pending_locked()
        written = self._flush_once()
        return written[-1] if written else None

    def close(self) -> None:
        """Stop the timer and write what is buffered. Idempotent: once everything is written, later calls do
        nothing; if the final flush failed, calling close again retries it."""
        with self._buffer_lock:
            self._closed = True
            pending, self._pending_error = self._pending_error, None
            # Calls still unsettled at the end (abandoned in flight) stay in the ledger as "unknown".
            self._buffer.extend(self._unsettled.values())
            self._unsettled.clear()
        self._stop.set()
        self._wake.set()
        if self._timer.is_alive() and self._timer is not threading.current_thread():
            self._timer.join()
        atexit.unregister(self._atexit_hook)
        try:
            self._flush_once()
        except BaseException as exc:
            # This error wins: it means rows are still unwritten. The earlier one rides along as its cause.
            if pending is not None and exc.__cause__ is None:
                exc.__cause__ = pending
            raise
        with self._journal_lock:
            if self._journal is not None:
                self._journal.close(remove=True)  # every record it held is in the Parquet files now
        if pending is not None:
            raise pending

    @property
    def buffered(self) -> int:
        """How many records wait for the next flush."""
        with self._buffer_lock:
            return len(self._buffer)

    @property
    def files_written(self) -> list[Path]:
        """Every file this writer has written, oldest first."""
        with self._flush_lock:
            return list(self._files)

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------------------------

    def _raise_pending_locked(self) -> None:
        if self._pending_error is not None:
            error, self._pending_error = self._pending_error, None
            raise error

    def _run_timer(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return  # close() does the final flush itself, on its own thread, so it can raise there
            try:
                self._flush_once()
            except Exception as exc:
                with self._buffer_lock:
                    if self._pending_error is None:  # keep the first: it is the cause, later ones are echoes
                        self._pending_error = exc
                logger.exception("ledger flush for run %r failed; rows stay buffered", self.run_id)

    def _flush_once(self) -> list[Path]:
        with self._flush_lock:
            with self._buffer_lock:
                rows, self._buffer = self._buffer, []
            if not rows:
                return []
            by_date: dict[str, list[CallRecord]] = {}
            for record in rows:
                by_date.setdefault(partition_date(record), []).append(record)
            self._seq += 1
            written: list[Path] = []
            done: set[str] = set()
            try:
                for date in sorted(by_date):
                    written.append(self._write_partition(date, by_date[date]))
                    done.add(date)
            except BaseException:
                # Put back only what did not reach the disk, ahead of rows appended meanwhile.
                unwritten = [r for r in rows if partition_date(r) not in done]
                with self._buffer_lock:
                    self._buffer[:0] = unwritten
                raise
            finally:
                self._files.extend(written)
            self._rotate_journal()
            return written

    def _write_partition(self, date: str, records: list[CallRecord]) -> Path:
        folder = self.root / f"{PARTITION_COLUMN}={date}"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / run_file_name(self._file_id, self._seq)
        while target.exists():  # another writer of this run got there first: never overwrite a ledger file
            self._seq += 1
            target = folder / run_file_name(self._file_id, self._seq)
        return write_ledger_file(target, records)

    def _last_seq_on_disk(self) -> int:
        pattern = re.compile(rf"run-{re.escape(self._file_id)}-(\d{{{_SEQ_DIGITS},}})\.parquet")
        last = 0
        for path in self.root.glob(f"{PARTITION_COLUMN}=*/run-{self._file_id}-*.parquet"):
            match = pattern.fullmatch(path.name)
            if match:
                last = max(last, int(match.group(1)))
        return last


def write_ledger_file(target: Path, records: Sequence[CallRecord]) -> Path:
    """Write ``records`` as the Parquet file ``target``, atomically (temp file, fsync, rename, fsync folder)."""
    table = records_to_table(records)
    return write_atomic(target, lambda fh: pq.write_table(table, fh), durable_folder=True)


def _make_atexit_hook(ref: weakref.ReferenceType[LedgerWriter]) -> Callable[[], None]:
    """A hook that flushes the writer at exit if it is still alive; the weak reference lets it be collected."""

    def hook() -> None:
        writer = ref()
        if writer is not None:
            try:
                writer.close()
            except Exception:
                logger.exception("final ledger flush at exit failed for run %r", writer.run_id)

    return hook


def read_ledger(
    root: Path,
    *,
    run_id: str | None = None,
    columns: Sequence[str] | None = None,
    since: date | None = None,
    categories: Sequence[str] = (),
) -> pd.DataFrame:
    """The whole ledger under ``root`` (all partitions) as a DataFrame with the ledger's columns plus ``date``.

    ``started_at`` is tz-aware UTC; integer columns use pandas' nullable integer dtypes. ``run_id`` keeps only
    that run's rows. ``columns`` reads only those columns (any of the ledger's and ``date``, in that order);
    ``since`` reads only the partitions of that UTC date and later (the others are never opened). ``categories``
    names string columns to return as pandas categoricals, decoded straight from Parquet's dictionary pages:
    much less memory, and faster grouping, for repetitive values such as model, status or run_id. A missing or
    empty root gives an empty DataFrame with the same columns.
    """
    root = Path(root)
    names = list(READ_SCHEMA.names if columns is None else columns)
    unknown = [name for name in [*names, *categories] if name not in READ_SCHEMA.names]
    if unknown:
        raise ValueError(f"not ledger columns: {', '.join(map(repr, unknown))}")
    not_text = [name for name in categories if READ_SCHEMA.field(name).type != pa.string()]
    if not_text:
        raise ValueError(f"only string columns can be categories: {', '.join(map(repr, not_text))}")
    in_files = [name for name in categories if name != PARTITION_COLUMN]  # the date comes from folder names
    schema = pa.schema([f.with_type(_DICTIONARY_TYPE) if f.name in in_files else f for f in READ_SCHEMA])
    if not root.is_dir():
        table = schema.empty_table().select(names)
    else:
        dataset = ds.dataset(
            root,
            format=ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=in_files)),
            schema=schema,
            partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
        )
        conditions = []
        if run_id is not None:
            conditions.append(ds.field("run_id") == run_id)
        if since is not None:
            # YYYY-MM-DD strings sort as dates; a filter on the partition column prunes whole folders.
            conditions.append(ds.field(PARTITION_COLUMN) >= since.isoformat())
        row_filter = None
        for condition in conditions:
            row_filter = condition if row_filter is None else row_filter & condition
        table = dataset.to_table(columns=names, filter=row_filter)
    if PARTITION_COLUMN in categories and PARTITION_COLUMN in names:
        at = names.index(PARTITION_COLUMN)
        table = table.set_column(at, PARTITION_COLUMN, pc.dictionary_encode(table.column(at)))
    return table.to_pandas(types_mapper=PANDAS_INT_TYPES.get)
