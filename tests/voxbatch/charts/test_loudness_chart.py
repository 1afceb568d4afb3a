"""A book's loudness chart: RMS and peak lines from the series (silence at the floor), the target and ceiling,
chapter lines and numbers, hours for a long book, and a real PNG. Asserted on the Figure's artists."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.image import imread

from voxbatch.audio.loudness import to_dbfs
from voxbatch.audio.loudness_series import LoudnessSeries
from voxbatch.charts.canvas import DPI, PNG_SIGNATURE
from voxbatch.charts.loudness_chart import (
    CHAPTER_LABEL,
    FLOOR_DBFS,
    HEIGHT_IN,
    MAX_POINTS,
    WIDTH_IN,
    loudness_figure,
    loudness_png,
    write_loudness_chart,
)

SQUARES = (1000.0**2, 0.0, 3000.0**2, 2000.0**2)  # one silent second
PEAKS = (4000.0, 0.0, 9000.0, 7000.0)
SERIES = LoudnessSeries(1.0, SQUARES, PEAKS, (("One", 0.0), ("Two", 2.0)), -20.0, -3.0)


def test_the_lines_are_the_series() -> None:
    figure = loudness_figure(SERIES, "Book (book): level along the book")
    (axes,) = figure.axes
    lines = {line.get_label(): line for line in axes.get_lines()}
    rms, peak = lines["RMS per 1 s"], lines["peak per 1 s"]
    expected = [max(to_dbfs(v**0.5), FLOOR_DBFS) for v in SQUARES]
    assert np.allclose(rms.get_ydata(), expected) and rms.get_ydata()[1] == FLOOR_DBFS  # silence at the floor
    assert np.allclose(peak.get_ydata(), [max(to_dbfs(v), FLOOR_DBFS) for v in PEAKS])
    assert np.allclose(rms.get_xdata(), [0.5, 1.5, 2.5, 3.5])  # window centres, in seconds for a short book
    assert lines["target RMS"].get_ydata()[0] == -20.0 and lines["peak ceiling"].get_ydata()[0] == -3.0
    chapter_lines = [line for line in axes.get_lines() if line.get_label() == CHAPTER_LABEL]
    assert [line.get_xdata()[0] for line in chapter_lines] == [2.0]  # chapter 2's start; chapter 1 is at 0
    assert [t.get_text() for t in axes.texts] == ["1", "2"]
    assert axes.get_xlabel().startswith("seconds") and axes.get_ylim() == (FLOOR_DBFS, 0.0)
    assert figure.get_suptitle() == "Book (book): level along the book"


def test_a_long_book_is_binned_and_drawn_in_hours_a_shorter_one_in_minutes() -> None:
    seconds = 3 * 3600
    series = LoudnessSeries(1.0, (1e6,) * seconds, (1e4,) * seconds)
    (axes,) = loudness_figure(series, "long").axes
    rms = next(line for line in axes.get_lines() if line.get_label().startswith("RMS"))
    assert len(rms.get_xdata()) <= MAX_POINTS and rms.get_label() == "RMS per 9 s"
    assert axes.get_xlabel() == "hours" and axes.get_xlim() == (0.0, 3.0)
    assert not any(line.get_label() in ("target RMS", "peak ceiling") for line in axes.get_lines())  # not normalized
    (axes,) = loudness_figure(LoudnessSeries(1.0, (1e6,) * 600, (1e4,) * 600), "ten minutes").axes
    assert axes.get_xlabel() == "minutes" and axes.get_xlim() == (0.0, 10.0)


def test_the_png_is_a_real_image(tmp_path: Path) -> None:
    path = write_loudness_chart(SERIES, tmp_path / "book.loudness.png", "Book")
    png = path.read_bytes()
    assert png.startswith(PNG_SIGNATURE) and png == loudness_png(SERIES, "Book")
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (HEIGHT_IN * DPI, WIDTH_IN * DPI) and pixels.std() > 0
    empty = loudness_png(LoudnessSeries(1.0, (), ()), "nothing")
    assert empty.startswith(PNG_SIGNATURE)
