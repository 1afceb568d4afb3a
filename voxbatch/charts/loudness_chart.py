"""A book's loudness along its length: RMS and peak per window (dBFS), the levels it was normalized to, and its
chapter starts, drawn from a :class:`~voxbatch.audio.loudness_series.LoudnessSeries`.

A long book is binned to at most :data:`MAX_POINTS` points (a 10-hour book: one point per 30 s) and its axis is in
hours (minutes, or seconds for a very short one); silence is drawn at :data:`FLOOR_DBFS`, so the pauses between
chapters show as dips to the floor. Chapters are numbered along the top.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voxbatch.audio.loudness_series import LoudnessSeries
from voxbatch.charts.canvas import FONT_SIZE_PT, message_figure, new_figure, png_bytes, write_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN = 10.0, 3.4
MAX_POINTS = 1200
FLOOR_DBFS = -60.0  # anything quieter (silence is -inf) is drawn here
HOURS_AFTER_S = 2 * 3600.0  # a longer book's axis is in hours
MINUTES_AFTER_S = 120.0  # a longer one's in minutes, a shorter one's in seconds
MAX_CHAPTER_LABELS = 60  # more chapters: their lines are drawn, not their numbers
SECONDS_PER = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0}
CHAPTER_LABEL = "_chapter start"  # a leading underscore keeps it out of the legend


def loudness_figure(series: LoudnessSeries, title: str) -> Figure:
    """The book's RMS and peak per window over time, with its target and ceiling and its chapter starts."""
    if not series.mean_square:
        return message_figure("no audio", WIDTH_IN, HEIGHT_IN, title)
    shown = series.binned(MAX_POINTS)
    duration_s = len(series.mean_square) * series.window_s
    unit = "hours" if duration_s > HOURS_AFTER_S else "minutes" if duration_s > MINUTES_AFTER_S else "seconds"
    scale = SECONDS_PER[unit]
    centres = (np.asarray(shown.starts_s) + shown.window_s / 2) / scale
    window = f"{shown.window_s:g} s"

    figure = new_figure(WIDTH_IN, HEIGHT_IN)
    axes = figure.add_subplot()
    peak = np.maximum(np.asarray(shown.peak_dbfs), FLOOR_DBFS)
    rms = np.maximum(np.asarray(shown.rms_dbfs), FLOOR_DBFS)
    axes.plot(centres, peak, linewidth=0.6, color="tab:gray", alpha=0.7, label=f"peak per {window}")
    axes.plot(centres, rms, linewidth=1.0, color="tab:blue", label=f"RMS per {window}")
    if series.target_rms_dbfs is not None:
        axes.axhline(series.target_rms_dbfs, linestyle="--", linewidth=0.8, color="tab:green", label="target RMS")
    if series.peak_ceiling_dbfs is not None:
        axes.axhline(series.peak_ceiling_dbfs, linestyle=":", linewidth=0.8, color="tab:red", label="peak ceiling")
    for number, (_, start_s) in enumerate(series.chapters, start=1):
        if number > 1:
            axes.axvline(start_s / scale, color="0.75", linewidth=0.6, zorder=0, label=CHAPTER_LABEL)
        if len(series.chapters) <= MAX_CHAPTER_LABELS:
            axes.text(
                start_s / scale,
                1.01,
                str(number),
                transform=axes.get_xaxis_transform(),
                fontsize=FONT_SIZE_PT - 2,
                ha="left",
                va="bottom",
                color="0.35",
            )
    axes.set_xlim(0, duration_s / scale)
    axes.set_ylim(FLOOR_DBFS, 0)
    axes.set_xlabel(unit + (" (chapters numbered along the top)" if series.chapters else ""))
    axes.set_ylabel("dBFS")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=FONT_SIZE_PT)
    figure.suptitle(title)
    return figure


def loudness_png(series: LoudnessSeries, title: str) -> bytes:
    """:func:`loudness_figure` as PNG bytes."""
    return png_bytes(loudness_figure(series, title))


def write_loudness_chart(series: LoudnessSeries, path: Path, title: str) -> Path:
    """Draw the chart into ``path`` (atomically)."""
    return write_png(loudness_figure(series, title), path)
