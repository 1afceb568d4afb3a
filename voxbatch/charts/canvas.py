"""Where every chart is drawn: a matplotlib Figure on the Agg canvas, saved as PNG bytes, embedded as a data URI.

Only matplotlib's object API is used (no ``pyplot``): no global backend switch, no global figure list, so charts
can be drawn from worker threads. matplotlib is imported inside these functions, on first use.

A chart is saved as a palette PNG of :data:`PALETTE_COLORS` colours (Pillow's quantizer): a chart has a handful of
colours and their anti-aliased edges, so it looks the same as full colour at a third of the bytes (a 30-day ledger
chart: about 40 KB instead of 120 KB), which matters for the images carried inline in Prefect artifacts.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from voxbatch.atomic import write_bytes_atomic

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

DPI = 100  # 10 inches wide: 1000 px, readable in the Prefect UI and small as PNG (tens of KB)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PALETTE_COLORS = 128
FONT_SIZE_PT = 9


def new_figure(width_in: float, height_in: float) -> Figure:
    """An empty figure on its own Agg canvas, with constrained layout (labels never overlap)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def message_figure(message: str, width_in: float, height_in: float, title: str | None = None) -> Figure:
    """A figure that only says ``message`` (e.g. no calls in the period): a chart file is still a chart."""
    figure = new_figure(width_in, height_in)
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=FONT_SIZE_PT + 3, transform=axes.transAxes)
    if title:
        figure.suptitle(title)
    return figure


def png_bytes(figure: Figure) -> bytes:
    """The figure as a palette PNG (no timestamp or software in it: the same chart gives the same bytes)."""
    from PIL import Image

    canvas = cast("FigureCanvasAgg", figure.canvas)
    canvas.draw()
    pixels = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    buffer = io.BytesIO()
    pixels.quantize(colors=PALETTE_COLORS).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def write_png(figure: Figure, path: Path) -> Path:
    """Save the figure to ``path`` atomically (readers see the old chart or the new one, never half)."""
    return write_bytes_atomic(path, png_bytes(figure))


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...``: an image a markdown artifact carries itself (no URL to serve)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def markdown_image(png: bytes, alt: str) -> str:
    """The PNG as a markdown image with its bytes inline."""
    text = alt.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return f"![{text}]({data_uri(png)})"
