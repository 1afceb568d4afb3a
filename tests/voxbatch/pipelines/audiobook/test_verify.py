"""Every chunk checked as it is made: a cut answer is asked for again (once without an audit, up to twice with
one), every repeat is a paid call recorded as such, and a chunk still bad is flagged; all on the in-memory fake."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from tests.voxbatch.client.conftest import FAST_RETRY
from tests.voxbatch.pipelines.audiobook.reading_fake import ReadingFake
from voxbatch.audit.options import NO_AUDIT, parse_audit
from voxbatch.audit.verdict import PROVIDER_RULES
from voxbatch.cache import ChunkCache
from voxbatch.client.client import SpeechClient
from voxbatch.client.fake_transport import FAKE_CHARS_PER_S
from voxbatch.client.options import ClientOptions
from voxbatch.ledger.record import CallRecord
from voxbatch.manifest.tts import BookRow
from voxbatch.pipelines.audiobook.plan import BookPlan, plan_book
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome, synthesize_batch
from voxbatch.pipelines.audiobook.verify import ChunkChecks

OPTIONS = ClientOptions(api_key="k", retry=FAST_RETRY)  # a provider's address: the provider's hearing rules
FIRST = (
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do. "
    "Once or twice she had peeped into the book her sister was reading, but it had no pictures in it."
)
SECOND = (
    "So she was considering in her own mind, as well as she could, for the hot day made her feel very sleepy and "
    "stupid, whether the pleasure of making a daisy-chain would be worth the trouble of getting up and picking the "
    "daisies, when suddenly a White Rabbit with pink eyes ran close by her. There was nothing so very remarkable "
    "in that."
)
ROW = BookRow(
    2, "book", f"{FIRST}\n\n{SECOND}", False, "Book", None, "hexgrad/Kokoro-82M", "af_heart", None, "wav", None
)


def _plan() -> BookPlan:
    plan = plan_book(replace(ROW, model="hexgrad/Kokoro-82M"), "endpoint")
    assert [job.chunk.spoken for job in plan.jobs] == [FIRST, SECOND]
    return plan


async def _run(fake: ReadingFake, cache: ChunkCache, audit: str, ledger: list[CallRecord]) -> list[ChunkOutcome]:
    async with SpeechClient(OPTIONS, transport=fake.transport, ledger=ledger.append) as client:
        checks = ChunkChecks.for_run(client, cache, parse_audit(audit))
        return await synthesize_batch(client, cache, _plan().jobs, each=checks.chunk)


def _purposes(ledger: list[CallRecord]) -> list[tuple[str, int | None, str | None]]:
    return sorted(
        ((r.endpoint, r.chunk_index, r.purpose) for r in ledger if r.status != "cached"),
        key=lambda t: (t[0], t[1] or 0, t[2] or ""),
    )


def test_a_cut_answer_is_asked_for_once_more_and_the_repeat_is_paid_and_marked(tmp_path: Path) -> None:
    fake, ledger, cache = ReadingFake({FIRST: [0.4]}), [], ChunkCache(tmp_path)
    first, second = asyncio.run(_run(fake, cache, "off", ledger))
    assert fake.speech_texts().count(FIRST) == 2 and fake.speech_texts().count(SECOND) == 1
    assert first.check is not None and first.check.attempts == 2 and first.check.repeats == ("short",)
    assert first.check.problem is None and first.check.hearing is None
    assert first.chunk is not None and first.chunk.duration_s > 0.9 * first.check.expected_s  # the whole answer
    assert second.check is not None and second.check.repeats == () and second.check.attempts == 1
    assert _purposes(ledger) == [("speech", 0, None), ("speech", 0, "repeat:short"), ("speech", 1, None)]
    repeat = next(r for r in ledger if r.purpose == "repeat:short")
    assert repeat.status == "ok" and repeat.cost_usd is not None and repeat.cost_usd > 0  # paid, and said so
    cached = cache.get(_plan().jobs[0].key)
    assert cached is not None and cached.duration_s == first.chunk.duration_s  # the cache keeps the good one


def test_a_repeat_cut_short_too_flags_the_chunk_and_keeps_the_longer_answer(tmp_path: Path) -> None:
    fake, ledger, cache = ReadingFake({FIRST: [0.45, 0.3]}), [], ChunkCache(tmp_path)
    first, _ = asyncio.run(_run(fake, cache, "off", ledger))
    assert fake.speech_texts().count(FIRST) == 2  # without an audit: one repeat only
    assert first.check is not None and first.check.flagged and "of audio where its text takes" in first.check.problem
    assert first.chunk is not None and first.chunk.duration_s == first.check.duration_s
    kept = cache.get(_plan().jobs[0].key)
    assert kept is not None and kept.duration_s == pytest.approx(0.45 * len(FIRST) / FAKE_CHARS_PER_S, abs=0.01)

    # The next run finds the bad chunk in the cache: it is asked for again (once), and this time it comes whole.
    again = asyncio.run(_run(fake, cache, "off", ledger := []))
    assert again[0].check is not None and not again[0].check.flagged and again[0].check.attempts == 1
    assert again[0].from_cache and again[1].check is not None and again[1].check.attempts == 0
    assert _purposes(ledger) == [("speech", 0, "repeat:short")]


def test_the_audit_hears_every_chunk_and_repeats_one_heard_too_little(tmp_path: Path) -> None:
    fake, ledger, cache = ReadingFake(deaf={SECOND}), [], ChunkCache(tmp_path)
    first, second = asyncio.run(_run(fake, cache, "on", ledger))
    assert first.check is not None and first.check.hearing is not None and first.check.hearing.coverage == 1.0
    assert first.check.rules == PROVIDER_RULES and first.check.heard_by == "openai/whisper-large-v3"
    assert second.check is not None and second.check.repeats == ("unheard", "unheard")  # two repeats at most
    assert second.check.flagged and "words heard" in second.check.problem
    assert second.check.hearing is not None and len(second.check.hearing.unheard_sentences) == 2
    assert fake.speech_texts().count(SECOND) == 3 and fake.transcriptions() == 4
    assert _purposes(ledger).count(("transcriptions", 1, "audit")) == 3
    assert _purposes(ledger).count(("speech", 1, "repeat:unheard")) == 2


def test_a_cut_answer_is_not_heard_before_its_repeat(tmp_path: Path) -> None:
    fake, ledger, cache = ReadingFake({FIRST: [0.4]}), [], ChunkCache(tmp_path)
    first, _ = asyncio.run(_run(fake, cache, "on", ledger))
    assert first.check is not None and first.check.repeats == ("short",) and not first.check.flagged
    assert first.check.hearing is not None and first.check.hearing.coverage == 1.0
    assert _purposes(ledger).count(("transcriptions", 0, "audit")) == 1  # the repeat only: the cut one was not paid
    # What was heard is kept with the chunk: a rerun hears nothing again.
    rerun: list[CallRecord] = []
    again = asyncio.run(_run(fake, cache, "on", rerun))
    assert all(o.from_cache and o.check is not None and o.check.hearing is not None for o in again)
    assert _purposes(rerun) == []


def test_a_hearing_that_fails_flags_the_chunk_without_repeating_it(tmp_path: Path) -> None:
    fake, ledger, cache = ReadingFake(), [], ChunkCache(tmp_path)
    fake.stt_fails = True
    first, _ = asyncio.run(_run(fake, cache, "on", ledger))
    assert first.check is not None and first.check.flagged and first.check.problem.startswith("could not be heard")
    assert first.check.repeats == () and fake.speech_texts().count(FIRST) == 1
    assert first.chunk is not None  # the book still has its audio


def test_no_audit_is_the_default_and_checks_durations_only(tmp_path: Path) -> None:
    fake = ReadingFake()
    outcomes = asyncio.run(_run(fake, ChunkCache(tmp_path), "off", []))
    assert NO_AUDIT.repeats == 1 and fake.transcriptions() == 0
    assert all(o.check is not None and o.check.hearing is None and not o.check.flagged for o in outcomes)
