"""Publishing the run's charts, offline: nothing outside a flow run, one markdown artifact per document keyed
``<flow>-<name>``, and a chart that fails is a warning, never a failed run. (End to end, on a Prefect server:
tests/flows/test_cost_control.py.)"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from tasks.artifacts import charts as chart_artifacts
from tasks.artifacts.charts import publish_charts
from voxbatch.run.charts import ChartDoc
from voxbatch.run.report import RunReport

LOGGER = logging.getLogger("test-chart-artifacts")


def _publish(tmp_path: Path) -> None:
    asyncio.run(publish_charts(RunReport("audiobook"), key="audiobook", title="Audiobook run", out_dir=tmp_path,
                               logger=LOGGER))  # fmt: skip


def test_outside_a_flow_run_nothing_is_drawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object) -> list[ChartDoc]:
        raise AssertionError("drawn outside a flow run")

    monkeypatch.setattr(chart_artifacts, "run_chart_docs", never)
    _publish(tmp_path)


def test_each_document_is_a_markdown_artifact_and_a_failure_only_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    published: list[dict[str, Any]] = []

    async def create(**kwargs: Any) -> None:
        published.append(kwargs)

    docs = [ChartDoc("charts", "# one", "d1"), ChartDoc("loudness", "# two", "d2")]
    monkeypatch.setattr(chart_artifacts.FlowRunContext, "get", staticmethod(lambda: object()))
    monkeypatch.setattr(chart_artifacts, "acreate_markdown_artifact", create)
    monkeypatch.setattr(chart_artifacts, "run_chart_docs", lambda report, title, out_dir: docs)
    _publish(tmp_path)
    assert published == [
        {"markdown": "# one", "key": "audiobook-charts", "description": "d1"},
        {"markdown": "# two", "key": "audiobook-loudness", "description": "d2"},
    ]

    def broken(*args: object) -> list[ChartDoc]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(chart_artifacts, "run_chart_docs", broken)
    with caplog.at_level(logging.WARNING, logger=LOGGER.name):
        _publish(tmp_path)
    assert "run chart artifacts not written" in caplog.text and "No space left" in caplog.text
