"""Chunk loudness statistics kept in the cache: the same meter, hence the same gain, as reading the audio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voxbatch.audio import stitch
from voxbatch.audio.chunk_levels import BLOCK_SAMPLES, ChunkLevels, ChunkLevelsError, measure_pcm_file, read_levels
from voxbatch.audio.loudness import LevelMeter, from_dbfs, normalizing_gain
from voxbatch.audio.stitch import Piece, StitchOptions

RATE = 24000
FADE = stitch.fade_samples(StitchOptions().fade_ms, RATE)


def chunk(path: Path, n_samples: int, seed: int, level: float = 3000.0) -> Path:
    rng = np.random.default_rng(seed)
    samples = np.clip(np.rint(rng.normal(0, level, n_samples)), -32768, 32767).astype("<i2")
    path.write_bytes(samples.tobytes())
    return path


def pieces(folder: Path, with_levels: bool) -> list[Piece]:
    lengths = [2 * BLOCK_SAMPLES + 12345, 300, 7, BLOCK_SAMPLES, 40000]  # several blocks, shorter than two fades...
    out = []
    for i, n in enumerate(lengths):
        path = chunk(folder / f"{i}.pcm", n, seed=i, level=1000.0 * (i + 1))
        levels = None
        if with_levels:
            levels = path.with_suffix(".levels")
            levels.write_bytes(measure_pcm_file(path, FADE).to_bytes())
        out.append(Piece(path, "paragraph" if i % 2 else "sentence", 0, f"chunk {i}", "One", levels_path=levels))
    return out


def assert_same_meter(a: LevelMeter, b: LevelMeter) -> None:
    assert a.samples == b.samples
    assert a.sum_squares == b.sum_squares  # bit for bit: the block sums are added in the same order
    assert a.peak == b.peak
    assert a.histogram is not None and b.histogram is not None
    assert np.array_equal(a.histogram, b.histogram)


def test_stored_levels_measure_the_book_exactly_as_its_audio_does(tmp_path: Path) -> None:
    opts = StitchOptions()
    read = stitch._measure(stitch._plan(pieces(tmp_path, with_levels=False), opts), FADE)
    stored = stitch._measure(stitch._plan(pieces(tmp_path, with_levels=True), opts), FADE)
    assert_same_meter(read, stored)
    target, limit = from_dbfs(opts.target_rms_dbfs), from_dbfs(opts.peak_ceiling_dbfs) - 1
    assert normalizing_gain(read, target, limit) == normalizing_gain(stored, target, limit)


def test_with_levels_the_measuring_pass_reads_no_audio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = stitch._plan(pieces(tmp_path, with_levels=True), StitchOptions())

    def no_reading(*args: object) -> None:
        raise AssertionError("the measuring pass read a chunk's audio")

    monkeypatch.setattr(stitch, "_chunk_blocks", no_reading)
    assert stitch._measure(plan, FADE).samples == plan.total


def test_levels_of_another_fade_or_length_or_unreadable_ones_are_not_used(tmp_path: Path) -> None:
    (tmp_path / "read").mkdir()
    (tmp_path / "stored").mkdir()
    expected = stitch._measure(stitch._plan(pieces(tmp_path / "read", with_levels=False), StitchOptions()), FADE)
    book = pieces(tmp_path / "stored", with_levels=True)
    paths = [piece.levels_path for piece in book]
    assert all(paths)
    other_fade, other_length, broken = paths[0], paths[1], paths[3]
    assert other_fade and other_length and broken
    other_fade.write_bytes(measure_pcm_file(book[0].pcm_path, FADE + 1).to_bytes())
    other_length.write_bytes(measure_pcm_file(book[2].pcm_path, FADE).to_bytes())
    broken.write_bytes(b"not levels")
    levels = read_levels(other_fade)
    assert not levels.fits(levels.n_samples, FADE) and levels.fits(levels.n_samples, FADE + 1)
    assert_same_meter(stitch._measure(stitch._plan(book, StitchOptions()), FADE), expected)


def test_levels_survive_a_round_trip_and_refuse_garbage(tmp_path: Path) -> None:
    path = chunk(tmp_path / "c.pcm", BLOCK_SAMPLES + 10, seed=3)
    levels = measure_pcm_file(path, FADE)
    again = ChunkLevels.from_bytes(levels.to_bytes())
    assert (again.fade_samples, again.n_samples, again.block_sum_squares, again.peak) == (
        levels.fade_samples,
        levels.n_samples,
        levels.block_sum_squares,
        levels.peak,
    )
    assert np.array_equal(again.levels, levels.levels) and np.array_equal(again.counts, levels.counts)
    assert len(again.block_sum_squares) == 2 and int(again.counts.sum()) == BLOCK_SAMPLES + 10
    with pytest.raises(ChunkLevelsError):
        ChunkLevels.from_bytes(levels.to_bytes()[:50])
    with pytest.raises(ChunkLevelsError):
        read_levels(tmp_path / "missing.levels")


def test_every_cut_or_padded_levels_file_is_refused(tmp_path: Path) -> None:
    data = measure_pcm_file(chunk(tmp_path / "c.pcm", BLOCK_SAMPLES + 10, seed=4), FADE).to_bytes()
    for end in range(len(data)):
        with pytest.raises(ChunkLevelsError):
            ChunkLevels.from_bytes(data[:end])
    with pytest.raises(ChunkLevelsError):
        ChunkLevels.from_bytes(data + b"\0")


def test_levels_of_the_first_format_are_measured_again(tmp_path: Path) -> None:
    """Version 1 kept levels as .npz: a cache written then is read as unusable, so its chunks' audio is read."""
    path = chunk(tmp_path / "c.pcm", 5000, seed=5)
    levels = measure_pcm_file(path, FADE)
    old = tmp_path / "c.levels"
    with old.open("wb") as out:
        np.savez(out, header=np.array([1, FADE, 5000], dtype=np.int64), peak=np.array([levels.peak]))
    with pytest.raises(ChunkLevelsError, match="not a levels file"):
        read_levels(old)


def test_reading_levels_parses_no_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Books are assembled side by side in threads, and ``ast.parse`` in two threads at once can fail on CPython
    3.11 (python/cpython#106905): ``np.load`` of an .npz parses its headers so, and it failed a book here."""
    import ast

    data = measure_pcm_file(chunk(tmp_path / "c.pcm", 5000, seed=6), FADE).to_bytes()

    parse, parsed = ast.parse, []

    def counted(*args: Any, **kwargs: Any) -> ast.AST:
        parsed.append(args)
        return parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", counted)
    levels = ChunkLevels.from_bytes(data)
    monkeypatch.undo()  # (pytest's own reports parse Python)
    assert levels.n_samples == 5000 and not parsed


def test_damaged_or_impossible_levels_are_refused(tmp_path: Path) -> None:
    import dataclasses

    levels = measure_pcm_file(chunk(tmp_path / "c.pcm", 5000, seed=7), FADE)
    data = levels.to_bytes()
    for at in (20, 60, len(data) - 10):  # header, a block sum, a count: the checksum no longer matches
        damaged = bytearray(data)
        damaged[at] ^= 0x01
        with pytest.raises(ChunkLevelsError, match="checksum"):
            ChunkLevels.from_bytes(bytes(damaged))
    counts = levels.counts.copy()
    counts[0], counts[1] = counts[0] + counts[1] + 5, -5  # the same total, one count negative
    impossible = [
        dataclasses.replace(levels, counts=counts),
        dataclasses.replace(levels, levels=levels.levels[::-1].copy(), counts=levels.counts[::-1].copy()),
        dataclasses.replace(levels, peak=float("nan")),
        dataclasses.replace(levels, block_sum_squares=(-1.0,)),
        dataclasses.replace(levels, fade_samples=-1),
    ]
    for bad in impossible:  # written with a valid checksum, still refused
        with pytest.raises(ChunkLevelsError, match="inconsistent"):
            ChunkLevels.from_bytes(bad.to_bytes())
