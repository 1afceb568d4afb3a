"""Publishing a flow run's charts as Prefect markdown artifacts: ``<key>-charts`` (the ledger over the last 30 days)
and ``<key>-loudness`` (each book's level along its length); see :mod:`voxbatch.run.charts` for what they hold and
why the images travel inline as ``data:`` URIs.

Artifacts belong to the flow run they are created in; outside a flow run this does nothing.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from prefect.artifacts import acreate_markdown_artifact
from prefect.context import FlowRunContext

from voxbatch.run.charts import run_chart_docs
from voxbatch.run.report import RunReport


async def publish_charts(report: RunReport, *, key: str, title: str, out_dir: Path, logger: Any = None) -> None:
    """Draw the run's charts (off the event loop) and publish them; a chart or Prefect API problem is logged, never
    allowed to fail a run whose work is done."""
    if FlowRunContext.get() is None:
        return
    try:
        docs = await asyncio.to_thread(run_chart_docs, report, title, out_dir)
        for doc in docs:
            await acreate_markdown_artifact(markdown=doc.markdown, key=f"{key}-{doc.name}", description=doc.description)
    except Exception as exc:
        (logger or logging.getLogger(__name__)).warning("run chart artifacts not written: %s", exc)
