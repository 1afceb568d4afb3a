"""Publishing a flow run's summary as Prefect artifacts: a table (one row per item) and markdown totals.

Artifacts belong to the flow run they are created in; outside a flow run this does nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.context import FlowRunContext

from voxbatch.run.report import RunReport
from voxbatch.run.summary import summary_markdown, summary_rows


async def publish_summary(report: RunReport, *, key: str, title: str, logger: Any = None) -> None:
    """``<key>-items`` (table) and ``<key>-summary`` (markdown) for this flow run; a Prefect API hiccup here is
    logged, never allowed to fail a run whose work is done."""
    if FlowRunContext.get() is None:
        return
    try:
        await _publish(report, key=key, title=title)
    except Exception as exc:
        (logger or logging.getLogger(__name__)).warning("run summary artifacts not written: %s", exc)


async def _publish(report: RunReport, *, key: str, title: str) -> None:
    await acreate_table_artifact(
        table=summary_rows(report),
        key=f"{key}-items",
        description=f"{title}: status, chunks, audio seconds, cost, wall time and error per item",
    )
    await acreate_markdown_artifact(
        markdown=summary_markdown(report, title), key=f"{key}-summary", description=f"{title}: totals and problems"
    )
