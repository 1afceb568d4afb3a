"""The chunk cache: a chunk's optional loudness statistics belong to the audio they were measured on."""

from __future__ import annotations

from pathlib import Path

from voxbatch.cache import ChunkCache


def test_levels_are_found_with_their_chunk_and_dropped_when_its_audio_is_written_again(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path)
    chunk = cache.put("ab" * 32, b"\x00\x01" * 10, sample_rate_hz=24000, encoding="pcm_s16le", duration_s=0.1)
    assert chunk.levels_path is None
    with_levels = cache.put_levels(chunk, b"levels")
    assert with_levels.levels_path is not None and with_levels.levels_path.read_bytes() == b"levels"
    found = cache.get(chunk.key)
    assert found is not None and found.levels_path == with_levels.levels_path
    cache.put(chunk.key, b"\x00\x02" * 10, sample_rate_hz=24000, encoding="pcm_s16le", duration_s=0.1)
    again = cache.get(chunk.key)
    assert again is not None and again.levels_path is None and not with_levels.levels_path.exists()
