"""The write-ahead journal: sent and settled records, torn and bad lines, folding a dead run's journal into the
Parquet ledger exactly once, live journals left alone, and the report counting unsettled calls as possibly billed."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.voxbatch.ledger.record_factory import make_record
from voxbatch.ledger.fold import fold_dead_journals
from voxbatch.ledger.journal import (
    CallJournal,
    encode_line,
    journal_dir,
    journal_paths,
    read_journal,
    read_journals,
)
from voxbatch.ledger.record import CallRecord
from voxbatch.ledger.report import ReportOptions, build_report, load_calls, summarize
from voxbatch.ledger.writer import LedgerWriter, read_ledger

KOKORO = "hexgrad/Kokoro-82M"
PRICE_USD = 400 * 4 / 1e6  # 400 characters of Kokoro
LONG_INTERVAL_S = 3600.0


def sent(record_id: str, **fields: object) -> CallRecord:
    """A call's write-ahead record, as the client writes it."""
    values: dict[str, object] = {
        "run_id": "night1",
        "model": KOKORO,
        "item_id": "book",
        "chunk_index": 0,
        "input_chars": 400,
        "status": "unknown",
        "cost_usd": 0.0,
        "possibly_billed_attempts": 1,
        "possibly_billed_usd": PRICE_USD,
        "latency_s": 0.0,
        "record_id": record_id,
    }
    values.update(fields)
    return make_record(**values)


def settled(intent: CallRecord) -> CallRecord:
    return replace(intent, status="ok", cost_usd=PRICE_USD, possibly_billed_attempts=0, possibly_billed_usd=0.0)


def dead_journal(root: Path, lines: list[tuple[str, CallRecord]], run: str = "night1") -> Path:
    """The journal a killed writer leaves: written, never removed, its lock gone with the process."""
    journal = CallJournal(root, run)
    for op, record in lines:
        journal.write(op, record)  # type: ignore[arg-type]
    journal.close(remove=False)
    return journal.path


def test_the_latest_line_of_each_call_wins_and_unsettled_calls_are_counted(tmp_path: Path) -> None:
    a, b = sent("a", chunk_index=0), sent("b", chunk_index=1)
    path = dead_journal(tmp_path, [("sent", a), ("sent", b), ("done", settled(a))])
    contents = read_journal(path)
    assert contents.records == (b, settled(a))
    assert contents.unsettled == 1 and not contents.torn_tail and contents.bad_lines == 0
    assert path.parent == journal_dir(tmp_path) and path.suffix == ".jsonl"


def test_a_torn_last_line_is_ignored_and_a_bad_line_skipped(tmp_path: Path) -> None:
    a, b = sent("a"), sent("b", chunk_index=1)
    path = dead_journal(tmp_path, [("sent", a)])
    with path.open("ab") as fh:
        fh.write(b"{this is not json}\n")
        fh.write((encode_line("done", settled(a)) + "\n").encode())
        fh.write(encode_line("sent", b).encode()[:40])  # the process died in the middle of this write
    contents = read_journal(path)
    assert contents.records == (settled(a),)  # b's request was never sent: its line comes first
    assert contents.torn_tail and contents.bad_lines == 1 and contents.unsettled == 0
    assert fold_dead_journals(tmp_path) == 1
    assert read_ledger(tmp_path)["status"].tolist() == ["ok"]


def test_a_dead_runs_journal_is_folded_once_by_the_next_writer(tmp_path: Path) -> None:
    root = tmp_path / "ledger"
    flushed, buffered, in_flight = sent("a"), sent("b", chunk_index=1), sent("c", chunk_index=2)
    with LedgerWriter(root, "night1", journal=False) as before_the_kill:
        before_the_kill.append(settled(flushed))  # reached Parquet before the kill
    lines = [("sent", flushed), ("done", settled(flushed)), ("sent", buffered), ("done", settled(buffered))]
    path = dead_journal(root, [*lines, ("sent", in_flight)])
    kept = tmp_path / "copy.jsonl"
    shutil.copy(path, kept)

    with LedgerWriter(root, "night2"):  # the re-run folds what the killed run left
        assert not path.exists()
    rows = read_ledger(root).sort_values("chunk_index")
    assert rows["record_id"].tolist() == ["a", "b", "c"]
    assert rows["status"].tolist() == ["ok", "ok", "unknown"]
    assert rows["possibly_billed_usd"].tolist() == [0.0, 0.0, PRICE_USD]

    shutil.copy(kept, path)  # as if the fold died after writing Parquet but before deleting the journal
    assert fold_dead_journals(root) == 0
    assert not journal_paths(root) and len(read_ledger(root)) == 3


def test_a_live_journal_is_not_folded_but_reports_and_readers_see_it_right(tmp_path: Path) -> None:
    with LedgerWriter(tmp_path, "night1", flush_interval_s=LONG_INTERVAL_S) as live:
        live.intend(sent("a"))
        live.append(settled(sent("b")))
        assert fold_dead_journals(tmp_path) == 0 and live.journal_path is not None and live.journal_path.exists()
        assert read_ledger(tmp_path).empty  # nothing flushed yet; the journal folder is not a Parquet file
        calls = load_calls(tmp_path)
        assert sorted(calls["status"].tolist()) == ["ok", "unknown"]
        live.flush()
        assert len(load_calls(tmp_path)) == 2  # in Parquet and in the journal: counted once
    assert not journal_paths(tmp_path)
    rows = read_ledger(tmp_path)
    assert sorted(rows["status"].tolist()) == ["ok", "unknown"]  # abandoned in flight: kept as unknown


def test_the_writer_journals_every_record_and_gives_it_an_id(tmp_path: Path) -> None:
    with LedgerWriter(tmp_path, "night1", flush_interval_s=LONG_INTERVAL_S) as writer:
        writer.intend(sent("a"))
        assert writer.unsettled == 1
        writer.append(settled(sent("a")))
        writer.append(make_record(run_id="night1", kind="item"))  # no record_id: the writer gives one
        assert writer.unsettled == 0
        (contents,) = read_journals(tmp_path)
        assert [r.record_id is not None for r in contents.records] == [True, True]
        with pytest.raises(ValueError, match="record_id"):
            writer.intend(make_record(run_id="night1"))
        with pytest.raises(ValueError, match="of run 'other'"):
            writer.intend(sent("x", run_id="other"))
    assert len(read_ledger(tmp_path)) == 2


def test_the_report_shows_unsettled_and_timed_out_calls_as_possibly_billed(tmp_path: Path) -> None:
    timed_out = sent("t", chunk_index=5, status="failed", possibly_billed_attempts=2, possibly_billed_usd=2 * PRICE_USD)
    with LedgerWriter(tmp_path, "night1", journal=False) as writer:
        writer.append(settled(sent("a")))
        writer.append(timed_out)
    dead_journal(tmp_path, [("sent", sent("u", chunk_index=9))])
    total = summarize(load_calls(tmp_path)).iloc[-1]
    assert total["calls"] == 3 and total["failed"] == 1
    assert total["outcome_unknown"] == 1 and total["possibly_billed_calls"] == 2
    assert total["possibly_billed_usd"] == pytest.approx(3 * PRICE_USD)
    assert total["cost_usd"] == pytest.approx(PRICE_USD)  # only what surely was paid
    _, text = build_report(tmp_path, ReportOptions(by="run"))
    assert "possibly billed" in text and f"2 (${3 * PRICE_USD:.4f})" in text
    assert "1 with outcome unknown, possibly billed" in text and "1 timed out or cut off" in text


def test_a_long_journal_is_replaced_after_a_flush_by_what_parquet_lacks(tmp_path: Path) -> None:
    with LedgerWriter(tmp_path, "night1", flush_interval_s=LONG_INTERVAL_S, journal_rotate_bytes=1) as writer:
        writer.intend(sent("a"))
        writer.append(settled(sent("b")))
        first = writer.journal_path
        writer.flush()  # b is in Parquet now; only a's write-ahead record still needs the journal
        assert writer.journal_path != first and first is not None and not first.exists()
        (contents,) = read_journals(tmp_path)
        assert [(r.record_id, r.status) for r in contents.records] == [("a", "unknown")]
        assert len(load_calls(tmp_path)) == 2
    assert not journal_paths(tmp_path) and len(read_ledger(tmp_path)) == 2


def test_a_new_journal_is_never_seen_unlocked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two Dask workers opening writers on one ledger at once: the second folds journals whose lock is free, so a
    # journal listed between its creation and its lock would be taken for a dead run's (and its lock refused).
    import voxbatch.ledger.journal as journal_module

    real_flock = journal_module.fcntl.flock  # type: ignore[union-attr]
    listed_at_lock: list[list[Path]] = []

    def flock(fd: int, op: int) -> None:
        listed_at_lock.append(journal_module.journal_paths(tmp_path))
        real_flock(fd, op)

    monkeypatch.setattr(journal_module.fcntl, "flock", flock)
    journal = journal_module.CallJournal(tmp_path, "run-a")
    try:
        assert listed_at_lock == [[]]  # not yet visible when it was locked
        assert journal_module.journal_paths(tmp_path) == [journal.path]  # visible, and locked, right after
        assert fold_dead_journals(tmp_path) == 0  # a live journal is never folded
    finally:
        journal.close(remove=True)
