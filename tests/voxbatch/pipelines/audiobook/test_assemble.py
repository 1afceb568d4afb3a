"""A manuscript's own cover is embedded when the row names none, and a new cover rebuilds the book."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.voxbatch.manuscript.factory import png_bytes
from voxbatch.manifest.tts import BookRow
from voxbatch.manuscript.book import Cover
from voxbatch.pipelines.audiobook.assemble import build_key, cover_file, stitch_options
from voxbatch.pipelines.audiobook.plan import plan_book

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
