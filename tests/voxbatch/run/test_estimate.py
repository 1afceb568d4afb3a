"""Dry-run estimates: only uncached chunks count, and wall time is the slowest bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.cache import ChunkCache
from voxbatch.manifest.tts import BookRow
from voxbatch.pipelines.audiobook.pipeline import book_estimate
from voxbatch.pipelines.audiobook.plan import plan_book
from voxbatch.pricing import load_price_table
from voxbatch.run.estimate import ItemEstimate, estimate_report, estimate_text, wall_time_s
from voxbatch.run.spec import RunSpec

TEXT = " ".join(f"Sentence number {n} is here." for n in range(60)) + "\n\n" + "Another paragraph follows it."


def _book(model: str = "hexgrad/Kokoro-82M") -> BookRow:
    return BookRow(2, "b", TEXT, False, "B", None, model, "af_heart", None, "mp3", None)


def test_a_book_costs_its_uncached_characters(tmp_path: Path) -> None:
    plan = plan_book(_book(), "embedded")
    cache = ChunkCache(tmp_path)
    prices = load_price_table()
    full = book_estimate(plan, cache, prices)
    chars = sum(len(j.chunk.spoken) for j in plan.jobs)
    assert (full.chunks, full.cached_chunks, full.units) == (len(plan.jobs), 0, chars)
    assert full.cost_usd == pytest.approx(chars * 4.0 / 1e6)
    first = plan.jobs[0]
    cache.put(first.key, b"\0\0" * 10, sample_rate_hz=24000, encoding="pcm_s16le", duration_s=0.0)
    rest = book_estimate(plan, cache, prices)
    assert rest.cached_chunks == 1 and rest.requests == len(plan.jobs) - 1
    assert rest.units == chars - len(first.chunk.spoken)


def test_unknown_prices_stay_unknown(tmp_path: Path) -> None:
    estimate = book_estimate(
        plan_book(_book("minimax/speech-2.8-turbo"), "embedded"), ChunkCache(tmp_path), load_price_table()
    )
    assert estimate.cost_usd is None
    assert estimate_report([estimate], RunSpec()).cost_usd is None


def _estimate(requests: int, units: float, latency_s: float) -> ItemEstimate:
    return ItemEstimate("x", "m", "chars", requests, 0, units, 0.0, latency_s * requests, latency_s)


def test_wall_time_is_the_slowest_of_the_bounds() -> None:
    work = [_estimate(120, 60_000, 2.0)]
    assert wall_time_s(work, RunSpec(max_in_flight=4)) == pytest.approx(60.0)  # 240 s of calls, 4 at a time
    assert wall_time_s(work, RunSpec(requests_per_minute=60, max_in_flight=4)) == pytest.approx(120.0)
    assert wall_time_s(work, RunSpec(units_per_minute=10_000, max_in_flight=4)) == pytest.approx(360.0)
    assert wall_time_s([_estimate(1, 10, 5.0)], RunSpec(max_in_flight=16)) == pytest.approx(5.0)  # one slow call
    assert wall_time_s([], RunSpec()) == 0.0


def test_report_and_text() -> None:
    report = estimate_report([_estimate(3, 300, 1.0)], RunSpec(requests_per_minute=60), finished=["done"])
    assert report.requests == 3 and report.cost_usd == 0.0 and report.wall_s == pytest.approx(3.0)
    assert report.items["done"].finished and report.items["x"].requests == 3
    text = estimate_text(report)
    assert "nothing was called" in text and "finished: will be skipped" in text and "60 requests per minute" in text


def test_the_text_word_for_word() -> None:
    one = estimate_report([_estimate(1, 19, 1.0)], RunSpec(max_in_flight=16), finished=["done"])
    assert estimate_text(one).splitlines() == [
        "dry run: nothing was called",
        "item                         chunks cached             size       cost      wall",
        "x                                 1      0         19 chars    $0.0000      1.0s",
        "done" + " " * 51 + "finished: will be skipped",
        "total: 1 request, 19 chars, $0.0000, about 1.0 s (no rate limit set; 16 in flight; assumed call latencies)",
    ]
    many = estimate_text(estimate_report([_estimate(3, 300, 1.0)], RunSpec(requests_per_minute=60)))
    assert many.splitlines()[-1].startswith(
        "total: 3 requests, 300 chars, $0.0000, about 3.0 s (60 requests per minute"
    )
