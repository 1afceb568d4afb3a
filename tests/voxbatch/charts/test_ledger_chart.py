"""The ledger's charts: the figure holds the trends' series (bars per model, p50/p95 and failure lines, period
ticks, the footnote), and its PNG is a real image. Asserted on the Figure's artists, never on pixels."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from voxbatch.charts.canvas import DPI, PNG_SIGNATURE
from voxbatch.charts.ledger_chart import HEIGHT_IN, MAX_TICK_LABELS, WIDTH_IN, ledger_figure, ledger_png, ledger_title
from voxbatch.ledger.trends import NO_TRENDS, LedgerTrends, ModelSpend

NAN = math.nan
TRENDS = LedgerTrends(
    period="day",
    periods=("2026-03-01", "2026-03-02", "2026-03-03"),
    spend=(ModelSpend("hexgrad/Kokoro-82M", (0.5, 0.0, 0.75)), ModelSpend("openai/whisper-large-v3", (1.0, 0.0, 0.0))),
    calls=(3, 0, 3),
    failed=(1, 0, 0),
    failure_rate=(1 / 3, NAN, 0.0),
    latency_p50_s=(3.0, NAN, 3.0),
    latency_p95_s=(4.8, NAN, 3.9),
    cost_unknown_calls=1,
)


def _same(actual: object, expected: tuple[float, ...]) -> bool:
    return bool(np.allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), equal_nan=True))


def test_the_figure_draws_every_series() -> None:
    figure = ledger_figure(TRENDS, "Ledger out/ledger")
    spend, latency, failures = figure.axes
    assert figure.get_suptitle() == "Ledger out/ledger"
    assert spend.get_title(loc="left").startswith("Spend per day")
    assert latency.get_title(loc="left").startswith("Call latency per day")
    assert failures.get_title(loc="left").startswith("Failed calls per day")

    bars = {c.get_label(): [p.get_height() for p in c] for c in spend.containers}
    assert bars == {"hexgrad/Kokoro-82M": [0.5, 0.0, 0.75], "openai/whisper-large-v3": [1.0, 0.0, 0.0]}
    whisper = spend.containers[1]
    assert [p.get_y() for p in whisper] == [0.5, 0.0, 0.75]  # stacked on Kokoro's bars
    assert [t.get_text() for t in spend.get_legend().get_texts()] == [s.model for s in TRENDS.spend]

    lines = {line.get_label(): line.get_ydata() for line in latency.get_lines()}
    assert set(lines) == {"p50", "p95"}
    assert _same(lines["p50"], TRENDS.latency_p50_s) and _same(lines["p95"], TRENDS.latency_p95_s)
    (rate,) = failures.get_lines()
    assert _same(rate.get_ydata(), (100 / 3, NAN, 0.0))

    assert [t.get_text() for t in failures.get_xticklabels()] == list(TRENDS.periods)
    assert "lower bound" in failures.get_xlabel()  # a call had no known price


def test_hours_many_periods_and_no_spend() -> None:
    hours = tuple(f"2026-03-05 {h:02d}:00" for h in range(24))
    zeros = (0,) * 24
    trends = LedgerTrends("hour", hours, (), zeros, zeros, (0.0,) * 24, (1.0,) * 24, (2.0,) * 24)
    figure = ledger_figure(trends, "t")
    spend, _, failures = figure.axes
    labels = [t.get_text() for t in failures.get_xticklabels()]
    assert labels[0] == "2026-03-05 00:00" and labels[2] == "02:00"  # the date once, then the hours
    assert 0 < sum(bool(label) for label in labels) <= MAX_TICK_LABELS
    assert spend.containers == [] and any(t.get_text() == "no known spend" for t in spend.texts)
    assert failures.get_xlabel() == ""  # no footnote


def test_no_calls_give_a_chart_that_says_so() -> None:
    figure = ledger_figure(NO_TRENDS, "Ledger out/ledger")
    (axes,) = figure.axes
    assert [t.get_text() for t in axes.texts] == ["no calls in this period"]
    assert ledger_png(NO_TRENDS, "t").startswith(PNG_SIGNATURE)


@pytest.mark.parametrize("trends", [TRENDS, NO_TRENDS])
def test_the_png_is_a_real_image(trends: LedgerTrends) -> None:
    png = ledger_png(trends, "Ledger out/ledger")
    assert png.startswith(PNG_SIGNATURE) and 2_000 < len(png) < 200_000
    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape[1] == WIDTH_IN * DPI and 150 <= pixels.shape[0] <= HEIGHT_IN * DPI
    assert pixels.shape[2] in (3, 4) and pixels.std() > 0  # colour, and not a blank canvas
    assert ledger_png(trends, "Ledger out/ledger") == png  # no timestamp inside: the same chart, the same bytes


def test_the_title_names_the_ledger_and_its_period() -> None:
    root = Path("/srv/voxbatch/out/ledger")
    assert ledger_title(root, TRENDS) == "Ledger out/ledger: 2026-03-01 to 2026-03-03 (UTC)"
    one = LedgerTrends("hour", ("2026-03-05 09:00",), (), (1,), (0,), (0.0,), (1.0,), (1.0,))
    assert ledger_title(root, one) == "Ledger out/ledger: 2026-03-05 09:00 (UTC)"
    assert ledger_title(root, NO_TRENDS) == "Ledger out/ledger"
