"""The ledger's write-ahead journal: every call is on disk before its request goes out, whatever kills the run.

The Parquet ledger is written in batches (:class:`~voxbatch.ledger.writer.LedgerWriter` flushes every few
seconds), so a process killed between flushes would lose the records it held, and a call in flight would leave
no trace at all although the provider may bill it. The journal closes both gaps:

- **Where:** one append-only JSON-lines file per ledger writer, ``<ledger root>/_journal/<file id>.<token>.jsonl``
  (a folder starting with ``_`` is skipped by Parquet dataset readers). The writer holds an exclusive
  ``flock`` on it while it lives; the kernel drops the lock when the process dies, even on SIGKILL, which is how
  a reader tells a dead run's journal from a live one. A long run's writer starts a fresh journal (holding only
  what Parquet does not have yet) once its journal passes a size, so journals stay small.
- **What:** one line per record, ``{"v": 1, "op": "sent" | "done", "rec": {...CallRecord...}}``. ``sent`` is
  written before a call's first HTTP attempt: a record with status ``unknown``, one attempt possibly billed at
  the call's estimated price. ``done`` is the outcome record (every record the ledger is given, item summaries
  and cache hits included) with the same ``record_id``. For each ``record_id`` the last line wins, so a call
  that never got its outcome stays "outcome unknown, possibly billed", with its estimated cost.
- **Durability:** each line is one ``write`` to an ``O_APPEND`` file, then ``fsync`` (about 0.1-1 ms): a line
  survives a SIGKILL as soon as ``write`` returns, a power cut once ``fsync`` has. No Parquet flush per call.
- **Torn lines:** a kill in the middle of a ``write`` can leave the last line without its newline; it is
  ignored (a torn ``sent`` line means the request was never sent: the line is written first). A bad line
  anywhere else is skipped and logged.
- **Folding, never double counting:** every ledger row has a ``record_id``. A reader of the ledger
  (:func:`voxbatch.ledger.fold.journal_records`, used by ``voxbatch report``) adds the journal's latest record
  of every ``record_id`` the Parquet files do not already hold. When a run ends normally its writer flushes
  everything (a call still unsettled becomes an ``unknown`` row) and deletes its journal. When a run was killed,
  the next writer opened on the same ledger (the re-run) folds each journal nobody holds
  (:func:`voxbatch.ledger.fold.fold_dead_journals`): it writes the missing rows as one Parquet file,
  atomically, then deletes the journal. A crash between the two is harmless: the next fold finds every row
  already there by ``record_id`` and only deletes the journal.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from voxbatch.atomic import fsync_dir
from voxbatch.ledger.record import CallRecord

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock, every journal looks live until its run closes it
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

JOURNAL_DIR = "_journal"  # under the ledger root; "_" keeps Parquet dataset discovery out of it
JOURNAL_SUFFIX = ".jsonl"
JOURNAL_VERSION = 1
FILE_MODE = 0o666  # before the umask: the journal gets the usual permissions of a new file

JournalOp = Literal["sent", "done"]
_FIELDS = {f.name for f in dataclasses.fields(CallRecord)}


def journal_dir(root: Path) -> Path:
    """The folder of the journals of the ledger at ``root``."""
    return Path(root) / JOURNAL_DIR


class CallJournal:
    """One writer's append-only journal (thread-safe). Lines are written and fsync'd before :meth:`write` returns.

    Example::

        journal = CallJournal(ledger_root, "audiobook-1a2b3c")
        journal.write("sent", intent)   # before the request goes out
        journal.write("done", outcome)  # when it ended
        journal.close(remove=True)      # once every record is in the Parquet files
    """

    def __init__(self, root: Path, file_id: str, *, fsync: bool = True) -> None:
        folder = journal_dir(root)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{file_id}.{uuid.uuid4().hex[:8]}{JOURNAL_SUFFIX}"
        self.fsync = fsync
        self.size_bytes = 0
        self._lock = threading.Lock()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        # Created under a hidden name, locked, then renamed: a writer opening a ledger folds journals whose lock
        # is free, and must never see this one between its creation and its lock (it would take it for dead).
        hidden = self.path.with_name(f".{self.path.name}")
        self._fd: int | None = os.open(hidden, flags, FILE_MODE)
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new, hidden file: nobody else can hold it
        hidden.rename(self.path)
        fsync_dir(folder)  # the file itself survives a power cut, not just its lines

    def write(self, op: JournalOp, record: CallRecord) -> None:
        """Append one line and make it durable; raises OSError (the line may then be torn: readers skip it)."""
        self.write_many([(op, record)])

    def write_many(self, lines: Iterable[tuple[JournalOp, CallRecord]]) -> None:
        """Append several lines with one ``fsync``."""
        data = "".join(encode_line(op, record) + "\n" for op, record in lines).encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise RuntimeError(f"journal {self.path.name} is closed")
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
                self.size_bytes += written
            if self.fsync:
                os.fsync(self._fd)

    def close(self, *, remove: bool) -> None:
        """Release the journal; ``remove`` deletes it (do that only once its records are all in Parquet)."""
        with self._lock:
            if self._fd is None:
                return
            if remove:
                self.path.unlink(missing_ok=True)
                fsync_dir(self.path.parent)  # the folder stays: another writer may be creating its journal
            os.close(self._fd)  # closing drops the lock
            self._fd = None


# -- lines ------------------------------------------------------------------------------------------------------


def encode_line(op: JournalOp, record: CallRecord) -> str:
    """One journal line (no newline): the op and the record, times as ISO 8601 with their UTC offset."""
    rec = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dataclasses.asdict(record).items()}
    return json.dumps({"v": JOURNAL_VERSION, "op": op, "rec": rec}, ensure_ascii=False, separators=(",", ":"))


def decode_line(line: str) -> tuple[JournalOp, CallRecord]:
    """The op and record of one line; ValueError (or TypeError/KeyError) for anything else."""
    data = json.loads(line)
    if not isinstance(data, dict) or data.get("v") != JOURNAL_VERSION or data.get("op") not in ("sent", "done"):
        raise ValueError("not a journal line of this version")
    raw: dict[str, Any] = {k: v for k, v in data["rec"].items() if k in _FIELDS}
    raw["started_at"] = datetime.fromisoformat(raw["started_at"])
    return data["op"], CallRecord(**raw)


@dataclass(frozen=True)
class JournalContents:
    """What one journal holds: the latest record of each ``record_id``, in first-seen order."""

    path: Path
    records: tuple[CallRecord, ...]
    unsettled: int  # records whose latest line is "sent": calls whose outcome is unknown
    torn_tail: bool  # the last line was cut short (the process died while writing it) and was ignored
    bad_lines: int  # other lines that could not be read (skipped)


def read_journal(path: Path) -> JournalContents:
    """Read a journal, live or dead; a torn last line is ignored, other bad lines skipped and logged."""
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, else the torn last line
    latest: dict[str, tuple[JournalOp, CallRecord]] = {}
    bad = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            op, record = decode_line(raw.decode("utf-8"))
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            bad += 1
            logger.warning("journal %s line %d skipped: %s", Path(path).name, number, exc)
            continue
        if record.record_id is None:
            bad += 1
            continue
        latest.pop(record.record_id, None)  # re-inserted: the order is that of the latest line
        latest[record.record_id] = (op, record)
    return JournalContents(
        Path(path),
        tuple(record for _, record in latest.values()),
        sum(op == "sent" for op, _ in latest.values()),
        bool(tail.strip()),
        bad,
    )


def journal_paths(root: Path) -> list[Path]:
    """Every journal of the ledger at ``root``, oldest name first (none when there is no journal folder)."""
    folder = journal_dir(root)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(JOURNAL_SUFFIX) and not p.name.startswith("."))


def read_journals(root: Path) -> list[JournalContents]:
    """Every journal under ``root`` (live ones included: their unsettled calls are in flight right now)."""
    out = []
    for path in journal_paths(root):
        try:
            out.append(read_journal(path))
        except FileNotFoundError:  # its run ended (or was folded) while we looked
            continue
    return out


def missing_records(journals: Iterable[JournalContents], known_ids: set[str]) -> list[CallRecord]:
    """The journals' records whose ``record_id`` is not among ``known_ids`` (those already in Parquet)."""
    out: list[CallRecord] = []
    seen = set(known_ids)
    for contents in journals:
        for record in contents.records:
            if record.record_id not in seen:
                seen.add(record.record_id)  # type: ignore[arg-type]  # never None: read_journal drops those
                out.append(record)
    return out


@contextmanager
def dead_journal(path: Path) -> Iterator[JournalContents | None]:
    """Hold ``path``'s lock if its writer is gone and yield its contents; None while its writer lives (or once
    someone else folded it)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        yield None
        return
    try:
        if fcntl is None:
            yield None
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            yield None  # a live writer holds it
            return
        if not path.exists():  # folded and removed by another process between our open and our lock
            yield None
            return
        yield read_journal(path)
    finally:
        os.close(fd)


def remove_journal(path: Path) -> None:
    """Delete a folded journal."""
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)
