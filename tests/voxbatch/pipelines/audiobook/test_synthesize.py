"""Chunk synthesis against the local server: each answer is in the cache before the call's outcome reaches the
ledger (so a kill between the two never pays for it again), and a re-run answers everything from the cache."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import TEST_API_KEY
from tests.voxbatch.client.conftest import options_for
from voxbatch.cache import ChunkCache
from voxbatch.client.client import SpeechClient
from voxbatch.ledger.record import CallRecord
from voxbatch.manifest.tts import BookDefaults, load_tts_manifest
from voxbatch.pipelines.audiobook.plan import plan_book
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome, synthesize_batch
from voxbatch.server.runner import LocalServer


def test_every_answer_is_cached_before_its_outcome_is_recorded(server: LocalServer, tmp_path: Path) -> None:
    (tmp_path / "book.md").write_text("\n\n".join(f"# Part {n}\n\nThe sentence of part {n}." for n in range(1, 4)))
    (tmp_path / "books.csv").write_text("id,text_path\nbook,book.md\n")
    (row,), errors = load_tts_manifest(tmp_path / "books.csv", BookDefaults())
    assert not errors
    book = plan_book(row, server.origin)
    cache = ChunkCache(tmp_path / "cache")
    keys = {job.chunk.index: job.key for job in book.jobs}
    seen: list[tuple[str, bool]] = []

    def ledger(rec: CallRecord) -> None:
        assert rec.chunk_index is not None
        seen.append((rec.status, cache.get(keys[rec.chunk_index]) is not None))

    async def run() -> list[ChunkOutcome]:
        async with SpeechClient(options_for(server, TEST_API_KEY), ledger=ledger) as client:
            return await synthesize_batch(client, cache, book.jobs)

    outcomes = asyncio.run(run())
    assert len(outcomes) == len(book.jobs) == 6 and all(o.error is None and not o.from_cache for o in outcomes)
    assert seen == [("ok", True)] * 6  # cached first, recorded second
    again = asyncio.run(run())
    assert all(o.from_cache for o in again) and seen[6:] == [("cached", True)] * 6


def test_every_chunk_keeps_its_loudness_statistics(server: LocalServer, tmp_path: Path) -> None:
    """Measured when it is cached, or when a chunk cached without them (an older version) is met again."""
    (tmp_path / "book.md").write_text("# Part\n\nThe first sentence. The second one.")
    (tmp_path / "books.csv").write_text("id,text_path\nbook,book.md\n")
    (row,), _ = load_tts_manifest(tmp_path / "books.csv", BookDefaults())
    book = plan_book(row, server.origin)
    cache = ChunkCache(tmp_path / "cache")

    async def run() -> list[ChunkOutcome]:
        async with SpeechClient(options_for(server, TEST_API_KEY)) as client:
            return await synthesize_batch(client, cache, book.jobs)

    fresh = asyncio.run(run())
    paths = [o.chunk.levels_path for o in fresh if o.chunk is not None]
    assert len(paths) == len(book.jobs) and all(p is not None and p.is_file() for p in paths)
    for path in paths:
        assert path is not None
        path.unlink()
    again = asyncio.run(run())
    assert all(o.from_cache and o.chunk is not None and o.chunk.levels_path for o in again)
    assert all(p is not None and p.is_file() for p in paths)


def test_a_cached_chunk_gets_levels_when_it_has_none_or_only_an_older_versions(tmp_path: Path) -> None:
    import numpy as np

    from voxbatch.audio.chunk_levels import ChunkLevelsError, read_levels

    def levels_current(path: Path) -> bool:
        try:
            read_levels(path)
        except ChunkLevelsError:
            return False
        return True

    from voxbatch.pipelines.audiobook.synthesize import with_levels

    cache = ChunkCache(tmp_path)
    samples = (np.arange(4800) % 200 - 100).astype("<i2").tobytes()
    chunk = cache.put("cd" * 32, samples, sample_rate_hz=24000, encoding="pcm_s16le", duration_s=0.2)
    measured = asyncio.run(with_levels(cache, chunk))
    assert measured.levels_path is not None and levels_current(measured.levels_path)
    assert read_levels(measured.levels_path).n_samples == 4800
    assert asyncio.run(with_levels(cache, measured)) == measured  # current ones are kept

    old = cache.put_levels(measured, b"PK\x03\x04 an .npz of version 1")
    assert old.levels_path is not None and not levels_current(old.levels_path)
    again = asyncio.run(with_levels(cache, old))
    assert again.levels_path is not None and read_levels(again.levels_path).n_samples == 4800
    damaged = bytearray(again.levels_path.read_bytes())
    damaged[60] ^= 0xFF  # a block sum
    cache.put_levels(again, bytes(damaged))
    repaired = asyncio.run(with_levels(cache, again))
    assert repaired.levels_path is not None and levels_current(repaired.levels_path)
