"""RunProgress: counts, fraction, ETA and throttling on a fake clock; listener isolation; the terminal bar."""

from __future__ import annotations

import logging
import threading

import pytest

from tests.voxbatch.ledger.record_factory import make_record
from voxbatch.run.progress import (
    MAX_UNFINISHED_FRACTION,
    ProgressSnapshot,
    RunProgress,
    format_duration,
    format_spend,
)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A listener that keeps everything it hears."""

    def __init__(self) -> None:
        self.updates: list[ProgressSnapshot] = []
        self.closes: list[ProgressSnapshot] = []

    def update(self, snap: ProgressSnapshot) -> None:
        self.updates.append(snap)

    def close(self, snap: ProgressSnapshot) -> None:
        self.closes.append(snap)


class Broken(Recorder):
    """A listener whose update always raises."""

    def update(self, snap: ProgressSnapshot) -> None:
        super().update(snap)
        raise RuntimeError("listener bug")


def snap(**overrides: object) -> ProgressSnapshot:
    values: dict[str, object] = {
        "items_done": 0,
        "items_total": 0,
        "chunks_done": 0,
        "chunks_total": 0,
        "spent_usd": 0.0,
        "elapsed_s": 0.0,
        "eta_s": None,
    }
    values.update(overrides)
    return ProgressSnapshot(**values)  # type: ignore[arg-type]


def test_counts_spend_and_summary() -> None:
    clock = FakeClock()
    progress = RunProgress(clock=clock)
    progress.add_items(2)
    progress.add_chunks(3, item_id="a")
    progress.add_chunks(2, item_id="b")
    progress.chunk_done(cost_usd=0.01, cached=False, item_id="a")
    progress.chunk_done(cost_usd=0.0, cached=True, item_id="a")
    progress.chunk_done(cost_usd=None, cached=False, item_id="a")  # price unknown: counted, not summed
    progress.chunk_done(cost_usd=0.0, cached=False, failed=True, item_id="b")
    progress.chunk_done(cost_usd=None, cached=False, failed=True, item_id="b")  # not billed: not "unknown"
    progress.item_done(failed=True, item_id="b")
    clock.now += 12.5

    s = progress.snapshot()
    assert (s.items_done, s.items_total, s.items_failed, s.items_planned) == (1, 2, 1, 2)
    assert (s.chunks_done, s.chunks_total, s.chunks_cached, s.chunks_failed) == (5, 5, 1, 2)
    assert s.spent_usd == pytest.approx(0.01)
    assert s.cost_unknown == 1
    assert s.elapsed_s == pytest.approx(12.5)
    assert not s.finished
    assert s.summary() == ("items 1/2 (1 failed) · chunks 5/5 (1 cached, 2 failed) · $0.0100 (+1 unpriced) · ETA 0:00")


@pytest.mark.parametrize(
    ("fields", "fraction"),
    [
        ({}, 0.0),  # nothing planned yet: not "done"
        ({"items_total": 4, "items_done": 1}, 0.25),  # no chunks: by items
        ({"items_total": 1, "chunks_total": 8, "chunks_done": 2}, 0.25),  # by chunks
        ({"items_total": 1, "chunks_total": 8, "chunks_done": 8}, MAX_UNFINISHED_FRACTION),  # item still assembling
        ({"items_total": 1, "items_done": 1, "chunks_total": 8, "chunks_done": 8}, 1.0),
        # 1 of 4 files planned with 10 chunks: the other 3 are expected to have 10 each
        ({"items_total": 4, "items_planned": 1, "chunks_total": 10, "chunks_done": 5}, 5 / 40),
        # an item that failed before planning was named when done: it is planned, with no chunks
        ({"items_total": 2, "items_done": 1, "items_planned": 2, "chunks_total": 10, "chunks_done": 5}, 0.5),
        # never more unplanned items than items not done: 1 of 3 planned, 2 done, so at most 1 is still unread
        ({"items_total": 3, "items_done": 2, "items_planned": 1, "chunks_total": 10, "chunks_done": 5}, 5 / 20),
    ],
)
def test_fraction(fields: dict[str, object], fraction: float) -> None:
    assert snap(**fields).fraction == pytest.approx(fraction)


def test_an_empty_run_is_finished_but_shows_no_progress() -> None:
    s = snap()
    assert s.finished
    assert s.fraction == 0.0


def test_eta_from_requested_chunks_only() -> None:
    clock = FakeClock()
    progress = RunProgress(clock=clock)
    progress.add_items(1)
    progress.add_chunks(20, item_id="a")
    for _ in range(5):
        progress.chunk_done(cost_usd=0.0, cached=True)  # instant: no throughput sample
    assert progress.snapshot().eta_s is None
    for _ in range(3):  # one requested chunk per 2 s
        clock.now += 2.0
        progress.chunk_done(cost_usd=0.001, cached=False)
    # 2 intervals over 4 s: 0.5 chunks/s; 12 chunks left
    assert progress.snapshot().eta_s == pytest.approx(24.0)
    clock.now += 4.0  # a stall: the measured rate drops, the ETA grows
    assert progress.snapshot().eta_s == pytest.approx(12 * 8.0 / 2)


def test_eta_needs_samples_and_is_zero_when_finished() -> None:
    clock = FakeClock()
    progress = RunProgress(clock=clock)
    progress.add_items(1)
    assert progress.snapshot().eta_s is None  # an item to do, no chunk known yet
    progress.add_chunks(2)
    progress.chunk_done(cost_usd=0.0, cached=False)
    clock.now += 1
    assert progress.snapshot().eta_s is None
    progress.chunk_done(cost_usd=0.0, cached=False)
    progress.item_done()
    assert progress.snapshot().eta_s == 0.0


def test_listeners_are_throttled_ticked_and_closed_once() -> None:
    clock = FakeClock()
    rec = Recorder()
    progress = RunProgress([rec], clock=clock, min_interval_s=0.5)
    progress.add_items(1)  # first change: told at once
    progress.add_chunks(3)
    clock.now += 0.2
    progress.chunk_done(cost_usd=0.0, cached=False)
    assert len(rec.updates) == 1
    clock.now += 0.4  # 0.6 s since the last update
    progress.chunk_done(cost_usd=0.0, cached=False)
    assert len(rec.updates) == 2
    assert rec.updates[-1].chunks_done == 2
    progress.tick()  # too soon
    clock.now += 0.5
    progress.tick()  # time alone moved on: the listener hears again
    assert len(rec.updates) == 3
    progress.close()
    progress.close()
    assert len(rec.closes) == 1
    assert rec.closes[0].chunks_done == 2
    clock.now += 10
    progress.chunk_done(cost_usd=0.0, cached=False)  # still counted, nobody told
    assert len(rec.updates) == 3
    assert progress.snapshot().chunks_done == 3
    assert progress.snapshot().elapsed_s == pytest.approx(1.1)  # frozen at close


def test_a_failing_listener_is_dropped_and_the_others_go_on(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    broken, good = Broken(), Recorder()
    progress = RunProgress([broken, good], clock=clock, min_interval_s=0)
    with caplog.at_level(logging.WARNING, logger="voxbatch.run.progress"):
        progress.add_items(1)
        progress.item_done()
        progress.close()
    assert len(broken.updates) == 1
    assert broken.closes == []
    assert len(good.updates) == 2
    assert len(good.closes) == 1
    assert "it gets no more updates" in caplog.text


def test_a_finished_item_writes_off_its_unreported_chunks_once() -> None:
    progress = RunProgress()
    progress.add_items(3)
    progress.add_chunks(4, item_id="broke-off")  # decoding stopped after 1 chunk: 3 never report
    progress.add_chunks(2, item_id="ok")
    assert progress.snapshot().fraction == pytest.approx(0.0)
    progress.chunk_done(cost_usd=0.0, cached=False, item_id="broke-off")
    progress.item_done(failed=True, item_id="broke-off")
    progress.item_done(failed=True, item_id="broke-off")  # counted once (e.g. item_done and observe both told)
    s = progress.snapshot()
    assert (s.chunks_done, s.chunks_total, s.chunks_dropped, s.items_done, s.items_failed) == (1, 3, 3, 1, 1)
    assert "3 not run" in s.summary()
    progress.chunk_done(cost_usd=0.0, cached=False, item_id="broke-off")  # late after all: it ran
    assert (progress.snapshot().chunks_total, progress.snapshot().chunks_dropped) == (4, 2)
    progress.item_done(item_id="skipped")  # no chunks: nothing to drop
    progress.chunk_done(cost_usd=0.0, cached=True, item_id="ok")
    progress.chunk_done(cost_usd=0.0, cached=True, item_id="ok")
    progress.item_done(item_id="ok")
    s = progress.close()
    assert s.finished and s.fraction == 1.0
    assert (s.items_done, s.items_planned) == (3, 3)


def test_unplanned_items_are_estimated_from_the_planned_ones() -> None:
    progress = RunProgress()
    progress.add_items(4)
    progress.add_chunks(10, item_id="first")
    for _ in range(5):
        progress.chunk_done(cost_usd=0.0, cached=False, item_id="first")
    s = progress.snapshot()
    assert s.chunks_expected == pytest.approx(40)
    assert s.fraction == pytest.approx(5 / 40)
    progress.item_done(item_id="second", failed=True)  # failed before planning: no chunks expected from it
    assert progress.snapshot().chunks_expected == pytest.approx(10 + 2 * 10 / 2)


def test_observe_counts_chunk_calls_and_items() -> None:
    progress = RunProgress()
    progress.add_items(2)
    progress.add_chunks(4)
    progress.observe(make_record(cost_usd=0.002))
    progress.observe(make_record(status="cached", cached=True, cost_usd=0.0, transport="cache"))
    progress.observe(make_record(status="failed", cost_usd=0.0, error="ServerError: boom"))
    progress.observe(make_record(endpoint="transcriptions", cost_usd=None))  # no price for the model
    progress.observe(make_record(endpoint="voices"))  # not a chunk
    progress.observe(make_record(kind="item", status="ok", item_id="a", transport="item"))
    progress.observe(make_record(kind="item", status="failed", item_id="b", transport="item"))
    progress.observe(make_record(kind="item", status="failed", item_id="b", transport="item"))  # once per item

    s = progress.snapshot()
    assert (s.chunks_done, s.chunks_cached, s.chunks_failed) == (4, 1, 1)
    assert s.spent_usd == pytest.approx(0.002)
    assert s.cost_unknown == 1
    assert (s.items_done, s.items_failed) == (2, 1)
    assert s.finished


def test_reports_from_many_threads_all_count() -> None:
    progress = RunProgress([Recorder()], min_interval_s=0)
    n_threads, per_thread = 8, 250
    progress.add_chunks(n_threads * per_thread)

    def work() -> None:
        for _ in range(per_thread):
            progress.chunk_done(cost_usd=0.001, cached=False)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = progress.close()
    assert s.chunks_done == n_threads * per_thread
    assert s.spent_usd == pytest.approx(n_threads * per_thread * 0.001)


def test_negative_counts_are_refused() -> None:
    progress = RunProgress()
    with pytest.raises(ValueError, match="n must be >= 0"):
        progress.add_items(-1)
    with pytest.raises(ValueError, match="n must be >= 0"):
        progress.add_chunks(-1, item_id="a")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "--:--"), (0, "0:00"), (42.4, "0:42"), (185, "3:05"), (3725, "1:02:05"), (-3, "0:00")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_spend() -> None:
    assert format_spend(0.01234, 0) == "$0.0123"
    assert format_spend(12.345, 3) == "$12.35 (+3 unpriced)"


def test_chunks_reported_before_their_item_is_planned_still_count_for_it() -> None:
    progress = RunProgress()
    progress.add_items(1)
    progress.chunk_done(cost_usd=0.0, cached=True, item_id="a")  # e.g. a cache hit recorded while planning
    assert progress.snapshot().items_planned == 0
    progress.add_chunks(3, item_id="a")
    progress.chunk_done(cost_usd=0.0, cached=False, item_id="a")
    progress.item_done(item_id="a")
    s = progress.snapshot()
    assert (s.chunks_done, s.chunks_total, s.chunks_dropped, s.items_planned) == (2, 2, 1, 1)
    assert s.finished
