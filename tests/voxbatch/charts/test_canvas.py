"""Charts inline in markdown: a data URI that decodes to the very PNG, alt text escaped; and charts never load
pyplot (no global backend or figure list)."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

from tests.conftest import REPO_ROOT
from voxbatch.charts.canvas import data_uri, markdown_image, message_figure, png_bytes


def test_a_markdown_image_carries_its_png() -> None:
    png = png_bytes(message_figure("hello", 2.0, 1.0))
    markdown = markdown_image(png, "spend [per day]")
    match = re.fullmatch(r"!\[(.*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert match is not None and match.group(1) == "spend \\[per day\\]"
    assert base64.b64decode(match.group(2)) == png
    assert data_uri(png).startswith("data:image/png;base64,")


def test_drawing_a_chart_never_imports_pyplot() -> None:
    code = (
        "import sys; from voxbatch.charts.canvas import message_figure, png_bytes; "
        "before = 'matplotlib' in sys.modules; png_bytes(message_figure('x', 1.0, 1.0)); "
        "print(before, 'matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.split() == ["False", "False"]  # matplotlib only on first use, and never pyplot
