"""The dry run prices the audit: one transcription of every chunk not yet heard by the audit's model."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.audit.options import parse_audit
from voxbatch.audit.pace import expected_s
from voxbatch.cache import ChunkCache
from voxbatch.manifest.tts import BookRow
from voxbatch.pipelines.audiobook.estimate import book_estimate
from voxbatch.pipelines.audiobook.plan import plan_book
from voxbatch.pricing import load_price_table
from voxbatch.run.estimate import estimate_report, estimate_text
from voxbatch.run.spec import RunSpec

TEXT = " ".join(f"Sentence number {n} is here." for n in range(60))
ROW = BookRow(2, "b", TEXT, False, "B", None, "hexgrad/Kokoro-82M", "af_heart", None, "mp3", None)
WHISPER = "openai/whisper-large-v3"


def test_an_audit_on_the_endpoint_adds_a_priced_transcription_per_chunk(tmp_path: Path) -> None:
    plan, cache, prices = plan_book(ROW, "embedded"), ChunkCache(tmp_path), load_price_table()
    speech = book_estimate(plan, cache, prices)
    for free in ("off", "free"):
        assert book_estimate(plan, cache, prices, parse_audit(free)) == speech  # nothing more to pay
    audited = book_estimate(plan, cache, prices, parse_audit("on"))
    seconds = [expected_s(job.speech.model, len(job.chunk.spoken)) for job in plan.jobs]
    hearing = sum(prices.cost_usd(WHISPER, audio_seconds=s) or 0.0 for s in seconds)
    assert audited.audit_requests == len(plan.jobs) and audited.requests == 2 * len(plan.jobs)
    assert audited.audit_cost_usd == pytest.approx(hearing) and hearing > 0
    assert audited.cost_usd == pytest.approx((speech.cost_usd or 0.0) + hearing)

    # A chunk already paid for and heard by the same model costs nothing more; one heard by another does.
    first, second = plan.jobs[0], plan.jobs[1]
    kept = cache.put(first.key, b"\0\0" * 48000, sample_rate_hz=24000, encoding="pcm_s16le", duration_s=2.0)
    cache.note_heard(kept, WHISPER, (("sentence", 0.1, 0.5),))
    other = cache.put(second.key, b"\0\0" * 48000, sample_rate_hz=24000, encoding="pcm_s16le", duration_s=2.0)
    cache.note_heard(other, "embedded-pocketsphinx", ())
    again = book_estimate(plan, cache, prices, parse_audit("on"))
    assert again.cached_chunks == 2 and again.audit_requests == len(plan.jobs) - 1

    report = estimate_report([audited], RunSpec())
    assert report.audit_requests == len(plan.jobs) and report.items["b"].audit_cost_usd == audited.audit_cost_usd
    text = estimate_text(report)
    assert f"of which the audit: {len(plan.jobs)} transcriptions, ${hearing:.4f}" in text
    assert "of which the audit" not in estimate_text(estimate_report([speech], RunSpec()))


def test_an_unknown_transcription_price_stays_unknown(tmp_path: Path) -> None:
    audited = book_estimate(plan_book(ROW, "embedded"), ChunkCache(tmp_path), load_price_table(), parse_audit("x/y"))
    assert audited.audit_cost_usd is None and audited.cost_usd is None
