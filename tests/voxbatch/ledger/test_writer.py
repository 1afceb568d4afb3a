"""LedgerWriter and read_ledger on real files: layout, atomicity, periodic flushes, threads, failures."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.voxbatch.ledger.record_factory import make_record as base_record
from voxbatch.ledger.record import CallRecord
from voxbatch.ledger.schema import LEDGER_SCHEMA
from voxbatch.ledger.writer import LedgerWriter, read_ledger

DAY1 = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC)
LONG_INTERVAL_S = 3600.0  # for tests that must see no timer flush
POLL_LIMIT_S = 10.0


def make_record(**overrides: object) -> CallRecord:
    return base_record(**{"run_id": "r", "started_at": DAY1, **overrides})


def parquet_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def hidden_files(root: Path) -> list[Path]:
    return list(root.rglob(".*"))


def wait_for(condition: Callable[[], bool]) -> bool:
    """Poll until ``condition`` holds; only a generous limit against hanging, no upper bound on timing."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_round_trip_of_null_and_full_records(tmp_path: Path) -> None:
    full = make_record(
        item_id="ch01",
        chunk_index=3,
        model="hexgrad/Kokoro-82M",
        voice="af_heart",
        input_chars=1234,
        audio_seconds=61.25,
        bytes=2_940_000,
        attempts=2,
        retry_wait_s=1.5,
        http_status=200,
        error="HTTPStatusError: 503",
        request_id="req-abc",
        ttfb_s=0.125,
        cost_usd=0.004936,
        cached=True,
        kind="item",
        chunks=7,
        possibly_billed_attempts=1,
        possibly_billed_usd=0.002468,
        record_id="rec-1",
        purpose="repeat:short",
    )
    empty = make_record(item_id="ch02")
    with LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S) as writer:
        writer.append(full)
        writer.append(empty)
    df = read_ledger(tmp_path).sort_values("item_id").reset_index(drop=True)
    assert list(df.columns) == [*LEDGER_SCHEMA.names, "date"]
    assert len(df) == 2
    row = df.iloc[0]
    for name in LEDGER_SCHEMA.names:
        assert row[name] == getattr(full, name), name
    nulls = df.iloc[1]
    for name in (
        "chunk_index",
        "model",
        "voice",
        "input_chars",
        "audio_seconds",
        "bytes",
        "http_status",
        "error",
        "chunks",
        "purpose",
    ):
        assert pd.isna(nulls[name]), name
    assert nulls["cost_usd"] is None or pd.isna(nulls["cost_usd"])
    assert str(df["started_at"].dt.tz) == "UTC"
    assert df["date"].tolist() == ["2026-03-01", "2026-03-01"]


def test_records_of_two_dates_go_to_two_partitions_one_file_each(tmp_path: Path) -> None:
    with LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S) as writer:
        writer.append(make_record(started_at=DAY1))
        writer.append(make_record(started_at=DAY2))
        writer.append(make_record(started_at=DAY2 + timedelta(hours=1)))
        last = writer.flush()
        assert writer.files_written == [
            tmp_path / "date=2026-03-01" / "run-r-00001.parquet",
            tmp_path / "date=2026-03-02" / "run-r-00001.parquet",
        ]
        assert last == tmp_path / "date=2026-03-02" / "run-r-00001.parquet"
    assert [p.relative_to(tmp_path).as_posix() for p in parquet_files(tmp_path)] == [
        "date=2026-03-01/run-r-00001.parquet",
        "date=2026-03-02/run-r-00001.parquet",
    ]
    assert pq.read_table(tmp_path / "date=2026-03-02" / "run-r-00001.parquet").num_rows == 2
    assert pq.read_schema(tmp_path / "date=2026-03-01" / "run-r-00001.parquet").equals(LEDGER_SCHEMA)


def test_partition_uses_the_utc_date(tmp_path: Path) -> None:
    late_evening_new_york = datetime(2026, 3, 1, 22, 0, tzinfo=timezone(timedelta(hours=-5)))  # 03:00 UTC, 2 March
    with LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S) as writer:
        writer.append(make_record(started_at=late_evening_new_york))
    assert [p.parent.name for p in parquet_files(tmp_path)] == ["date=2026-03-02"]


def test_one_file_per_flush_with_increasing_seq(tmp_path: Path) -> None:
    writer = LedgerWriter(tmp_path, "run.A_1", flush_interval_s=LONG_INTERVAL_S)
    paths = []
    for i in range(3):
        writer.append(make_record(run_id="run.A_1", chunk_index=i))
        writer.append(make_record(run_id="run.A_1", chunk_index=i + 100))
        paths.append(writer.flush())
    assert writer.flush() is None  # nothing buffered: no empty file
    writer.close()
    assert [p.name for p in paths if p] == [
        "run-run.A_1-00001.parquet",
        "run-run.A_1-00002.parquet",
        "run-run.A_1-00003.parquet",
    ]
    assert parquet_files(tmp_path) == paths
    assert len(read_ledger(tmp_path)) == 6


def test_failed_write_leaves_no_file_keeps_rows_and_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_write(table: object, where: object, *args: object, **kwargs: object) -> None:
        where.write(b"PAR1 partial garbage")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    writer = LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S)
    for i in range(5):
        writer.append(make_record(chunk_index=i))
    monkeypatch.setattr(pq, "write_table", broken_write)
    with pytest.raises(OSError, match="No space left"):
        writer.flush()
    assert parquet_files(tmp_path) == []
    assert hidden_files(tmp_path) == []
    assert writer.buffered == 5

    monkeypatch.undo()
    writer.append(make_record(chunk_index=5))
    written = writer.flush()
    writer.close()
    assert written is not None and written.exists()
    assert hidden_files(tmp_path) == []
    assert sorted(read_ledger(tmp_path)["chunk_index"].tolist()) == [0, 1, 2, 3, 4, 5]


def test_background_failure_is_logged_and_raised_from_the_next_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    def broken_write(*args: object, **kwargs: object) -> None:
        attempts.append(1)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(pq, "write_table", broken_write)
    caplog.set_level(logging.ERROR, logger="voxbatch.ledger.writer")
    writer = LedgerWriter(tmp_path, "r", flush_interval_s=0.05)
    try:
        writer.append(make_record(chunk_index=0))
        # The error is stored before it is logged, so once logged the next call must raise it.
        assert wait_for(lambda: len(attempts) >= 1 and "ledger flush for run 'r' failed" in caplog.text)
        with pytest.raises(OSError, match="Input/output error"):
            writer.append(make_record(chunk_index=1))  # rejected: the caller learns of the failure
        assert parquet_files(tmp_path) == []
        assert hidden_files(tmp_path) == []
        monkeypatch.undo()
    finally:
        try:
            writer.close()
        except OSError:
            pass  # a retry may have failed again before undo: reported by close, rows still written below
    writer.close()  # idempotent
    assert read_ledger(tmp_path)["chunk_index"].tolist() == [0]


def test_rows_survive_a_transient_background_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = threading.Event()

    def broken_once(*args: object, **kwargs: object) -> None:
        monkeypatch.undo()  # only the first write fails
        failed.set()
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(pq, "write_table", broken_once)
    writer = LedgerWriter(tmp_path, "r", flush_interval_s=0.05)
    writer.append(make_record())
    assert wait_for(failed.is_set)
    # Either the timer's retry or close's final flush writes the row; a pending error still surfaces.
    try:
        writer.close()
    except OSError:
        pass
    assert len(read_ledger(tmp_path)) == 1


def test_periodic_flush_without_explicit_flush(tmp_path: Path) -> None:
    writer = LedgerWriter(tmp_path, "r", flush_interval_s=0.05)
    try:
        writer.append(make_record())
        assert wait_for(lambda: len(parquet_files(tmp_path)) == 1)
        assert writer.buffered == 0
        writer.append(make_record(chunk_index=1))
        assert wait_for(lambda: len(parquet_files(tmp_path)) == 2)
    finally:
        writer.close()
    assert [p.name for p in parquet_files(tmp_path)] == ["run-r-00001.parquet", "run-r-00002.parquet"]


def test_flush_rows_triggers_a_flush(tmp_path: Path) -> None:
    writer = LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S, flush_rows=10)
    try:
        for i in range(9):
            writer.append(make_record(chunk_index=i))
        time.sleep(0.2)
        assert parquet_files(tmp_path) == []  # below the threshold and long before the timer
        writer.append(make_record(chunk_index=9))
        assert wait_for(lambda: len(parquet_files(tmp_path)) == 1)
    finally:
        writer.close()
    assert pq.read_table(parquet_files(tmp_path)[0]).num_rows == 10


def test_concurrent_appends_land_exactly_once(tmp_path: Path) -> None:
    threads_n, per_thread = 8, 200
    writer = LedgerWriter(tmp_path, "r", flush_interval_s=0.01, flush_rows=50)
    start = threading.Barrier(threads_n)

    def work(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            writer.append(make_record(item_id=f"t{t}", chunk_index=i, started_at=DAY1 if i % 2 else DAY2))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    writer.close()
    df = read_ledger(tmp_path)
    keys = list(zip(df["item_id"], df["chunk_index"], strict=True))
    assert len(keys) == threads_n * per_thread
    assert set(keys) == {(f"t{t}", i) for t in range(threads_n) for i in range(per_thread)}
    assert hidden_files(tmp_path) == []
    assert len(writer.files_written) == len(parquet_files(tmp_path))


def test_append_from_asyncio_tasks(tmp_path: Path) -> None:
    async def main(writer: LedgerWriter) -> None:
        async def one(i: int) -> None:
            await asyncio.sleep(0)
            writer.append(make_record(chunk_index=i))

        await asyncio.gather(*(one(i) for i in range(50)))

    with LedgerWriter(tmp_path, "r", flush_interval_s=0.01) as writer:
        asyncio.run(main(writer))
    assert sorted(read_ledger(tmp_path)["chunk_index"].tolist()) == list(range(50))


def test_two_runs_share_a_root_without_clashing(tmp_path: Path) -> None:
    with (
        LedgerWriter(tmp_path, "alpha", flush_interval_s=LONG_INTERVAL_S) as a,
        LedgerWriter(tmp_path, "beta", flush_interval_s=LONG_INTERVAL_S) as b,
    ):
        for i in range(3):
            a.append(make_record(run_id="alpha", chunk_index=i))
            b.append(make_record(run_id="beta", chunk_index=i))
        a.flush()
        b.flush()
        a.append(make_record(run_id="alpha", chunk_index=3))
    assert [p.name for p in parquet_files(tmp_path)] == [
        "run-alpha-00001.parquet",
        "run-alpha-00002.parquet",
        "run-beta-00001.parquet",
    ]
    assert len(read_ledger(tmp_path)) == 7
    alpha = read_ledger(tmp_path, run_id="alpha")
    assert set(alpha["run_id"]) == {"alpha"}
    assert sorted(alpha["chunk_index"].tolist()) == [0, 1, 2, 3]
    assert len(read_ledger(tmp_path, run_id="beta")) == 3
    assert read_ledger(tmp_path, run_id="gamma").empty


def test_resumed_run_continues_seq_and_never_overwrites(tmp_path: Path) -> None:
    with LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S) as first:
        first.append(make_record(chunk_index=0))
    with LedgerWriter(tmp_path, "r-2", flush_interval_s=LONG_INTERVAL_S) as other:  # a prefix-sharing run id
        other.append(make_record(run_id="r-2"))
    with LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S) as second:
        second.append(make_record(chunk_index=1))
    assert [p.name for p in parquet_files(tmp_path)] == [
        "run-r-00001.parquet",
        "run-r-00002.parquet",
        "run-r-2-00001.parquet",
    ]
    assert sorted(read_ledger(tmp_path, run_id="r")["chunk_index"].tolist()) == [0, 1]


@pytest.mark.parametrize("root_kind", ["missing", "empty"])
def test_empty_or_missing_root_gives_empty_frame_with_columns(tmp_path: Path, root_kind: str) -> None:
    root = tmp_path / "ledger"
    if root_kind == "empty":
        root.mkdir()
    df = read_ledger(root)
    assert df.empty
    assert list(df.columns) == [*LEDGER_SCHEMA.names, "date"]
    assert read_ledger(root, run_id="x").empty


@pytest.mark.parametrize("bad", ["", "a/b", "../up", "a b", "é", "x" * 201, "a\\b", "run*"])
def test_unsafe_run_id_is_rejected(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="run_id"):
        LedgerWriter(tmp_path, bad)


def test_naive_record_is_rejected_at_append(tmp_path: Path) -> None:
    with LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S) as writer:
        with pytest.raises(ValueError, match="timezone-aware"):
            writer.append(make_record(started_at=datetime(2026, 3, 1, 12, 0)))
        assert writer.buffered == 0


def test_invalid_record_is_rejected_at_append(tmp_path: Path) -> None:
    with LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S) as writer:
        with pytest.raises(ValueError, match="must not be None"):
            writer.append(make_record(provider=None))
        with pytest.raises((TypeError, ValueError)):  # pyarrow: ArrowInvalid / ArrowTypeError
            writer.append(make_record(chunk_index="three"))
        assert writer.buffered == 0
        writer.append(make_record())
    assert len(read_ledger(tmp_path)) == 1


def test_record_of_another_run_is_rejected(tmp_path: Path) -> None:
    with LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S) as writer:
        with pytest.raises(ValueError, match="run 'other'"):
            writer.append(make_record(run_id="other"))
        assert writer.buffered == 0


def test_close_is_idempotent_and_append_after_close_fails(tmp_path: Path) -> None:
    writer = LedgerWriter(tmp_path, "r", flush_interval_s=0.05)
    writer.append(make_record())
    writer.close()
    writer.close()
    assert not [t for t in threading.enumerate() if t.name == "ledger-flush-r"]
    with pytest.raises(RuntimeError, match="closed"):
        writer.append(make_record())
    assert len(parquet_files(tmp_path)) == 1


def test_unclosed_writer_does_not_keep_the_interpreter_alive_and_flushes_at_exit(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        from datetime import UTC, datetime
        from pathlib import Path
        from voxbatch.ledger.record import CallRecord
        from voxbatch.ledger.writer import LedgerWriter

        writer = LedgerWriter(Path({str(tmp_path)!r}), "exit", flush_interval_s=3600)
        writer.append(CallRecord("exit", "audiobook", None, None, "together", "speech", None, None, "rest",
                                 None, None, None, 1, 0.0, None, "ok", None, None, datetime.now(UTC), None,
                                 0.1, None, False))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert len(read_ledger(tmp_path, run_id="exit")) == 1


@pytest.mark.parametrize(
    ("interval", "rows"), [(0.0, 10), (-1.0, 10), (float("inf"), 10), (float("nan"), 10), (1.0, 0)]
)
def test_bad_flush_settings_are_rejected(tmp_path: Path, interval: float, rows: int) -> None:
    with pytest.raises(ValueError, match="flush_"):
        LedgerWriter(tmp_path, "r", flush_interval_s=interval, flush_rows=rows)


def test_writers_of_one_run_in_several_processes_keep_their_files_apart(tmp_path: Path) -> None:
    with (
        LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S) as main,
        LedgerWriter(tmp_path, "r", flush_interval_s=LONG_INTERVAL_S, file_tag="123-ab") as worker,
    ):
        main.append(make_record(run_id="r", item_id="a"))
        worker.append(make_record(run_id="r", item_id="b"))
    names = sorted(p.name for p in tmp_path.rglob("*.parquet"))
    assert names == ["run-r-00001.parquet", "run-r.123-ab-00001.parquet"]
    assert sorted(read_ledger(tmp_path, run_id="r")["item_id"]) == ["a", "b"]
