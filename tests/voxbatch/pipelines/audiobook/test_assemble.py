"""A manuscript's own cover is embedded when the row names none, and a new cover rebuilds the book; the loudness
chart is drawn beside the book when asked, never left stale, and a chart that fails does not fail the book."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.voxbatch.manuscript.factory import png_bytes
from voxbatch.cache import CachedChunk
from voxbatch.charts import loudness_chart
from voxbatch.charts.canvas import PNG_SIGNATURE
from voxbatch.manifest.tts import BookRow
from voxbatch.manuscript.book import Cover
from voxbatch.pipelines.audiobook.assemble import assemble_book, build_key, cover_file, stitch_options
from voxbatch.pipelines.audiobook.plan import BookPlan, plan_book
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome

ROW = BookRow(2, "book", "A short book.", False, "Book", None, "hexgrad/Kokoro-82M", "af_heart", None, "m4b", None)


def test_the_embedded_cover_is_written_beside_the_book(tmp_path: Path) -> None:
    plan = plan_book(replace(ROW, embedded_cover=Cover(png_bytes(), ".png")), "endpoint")
    path = cover_file(plan, tmp_path / "out")
    assert path == tmp_path / "out" / "book.cover.png" and path.read_bytes() == png_bytes()


def test_a_cover_path_wins_and_no_cover_is_none(tmp_path: Path) -> None:
    given = tmp_path / "mine.png"
    given.write_bytes(png_bytes(2, 2))
    with_both = replace(ROW, cover_path=given, embedded_cover=Cover(png_bytes(), ".png"))
    assert cover_file(plan_book(with_both, "endpoint"), tmp_path) == given
    assert cover_file(plan_book(ROW, "endpoint"), tmp_path) is None
    assert not (tmp_path / "book.cover.png").exists()


def test_a_different_embedded_cover_changes_the_build_key() -> None:
    plans = [
        plan_book(replace(ROW, embedded_cover=cover), "endpoint")
        for cover in (None, Cover(png_bytes(), ".png"), Cover(png_bytes(8, 8), ".png"))
    ]
    keys = {build_key(plan, stitch_options(plan)) for plan in plans}
    assert len(keys) == 3


def _outcomes(plan: BookPlan, folder: Path) -> list[ChunkOutcome]:
    """Every chunk as half a second of tone, as if from the cache."""
    rate = plan.sample_rate_hz
    tone = (np.sin(np.arange(rate // 2) / 5.0) * 3000).astype("<i2").tobytes()
    outcomes = []
    for job in plan.jobs:
        path = folder / f"chunk-{job.chunk.index}.pcm"
        path.write_bytes(tone)
        chunk = CachedChunk(job.key, path, rate, "pcm_s16le", 0.5, ())
        outcomes.append(ChunkOutcome(job.item_id, job.chunk.index, chunk, from_cache=True))
    return outcomes


def test_the_loudness_chart_is_drawn_beside_the_book_and_never_left_stale(tmp_path: Path) -> None:
    plan = plan_book(replace(ROW, audio_format="wav"), "endpoint")
    outcomes, out = _outcomes(plan, tmp_path), tmp_path / "out"
    built = assemble_book(plan, outcomes, out, loudness_chart=True)
    assert built.loudness_chart == out / "book.loudness.png" == built.outputs.loudness
    assert built.loudness_chart.read_bytes().startswith(PNG_SIGNATURE)
    rebuilt = assemble_book(plan, outcomes, out)  # charts off: the old chart would describe another build
    assert rebuilt.loudness_chart is None and not built.outputs.loudness.exists()


def test_a_chart_that_cannot_be_drawn_does_not_fail_the_book(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(loudness_chart, "write_loudness_chart", broken)
    plan = plan_book(replace(ROW, audio_format="wav"), "endpoint")
    with caplog.at_level(logging.WARNING):
        built = assemble_book(plan, _outcomes(plan, tmp_path), tmp_path / "out", loudness_chart=True)
    assert built.loudness_chart is None and built.outputs.audio.is_file() and built.outputs.build.is_file()
    assert "book book: loudness chart not written" in caplog.text and "No space left" in caplog.text
