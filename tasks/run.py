"""Handing a pipeline to the run kernel from inside a flow: the Prefect side of every run.

A flow loads its rows and builds its pipeline, then calls :func:`run_pipeline`, which adds what only Prefect has
(the run logger, task runs or a Dask cluster for the steps, the progress, summary and audit artifacts, Secret
blocks) and leaves the item lifecycle to :class:`voxbatch.run.kernel.Kernel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import get_run_logger
from prefect.runtime import flow_run

from tasks.artifacts.audit import publish_audits
from tasks.artifacts.progress import publish_progress
from tasks.artifacts.summary import publish_summary
from tasks.scale.dask import ScaleOut, steps_for
from tasks.secrets import secret_value
from tasks.steps import TaskSteps
from voxbatch.run.kernel import Kernel, Pipeline
from voxbatch.run.progress import RunProgress
from voxbatch.run.progress_bar import TerminalBar
from voxbatch.run.report import RunReport
from voxbatch.run.shutdown import current_stop
from voxbatch.run.spec import RunSpec

SUMMARY_TITLES = {"audiobook": "Audiobook run", "transcripts": "Transcript run"}


async def run_pipeline(
    pipeline: Pipeline[Any, Any, Any],
    rows: Sequence[Any],
    row_errors: Sequence[object],
    *,
    source: str,
    spec: RunSpec | None = None,
    dry_run: bool = False,
    max_cost_usd: float | None = None,
    scale_out: ScaleOut | None = None,
) -> RunReport:
    """Run (or, with ``dry_run``, plan and price) every row of ``source`` through the kernel."""
    logger = get_run_logger()
    current_stop().rearm()  # Prefect's flow engine installs its own SIGTERM handler for the run; ours comes first
    for error in row_errors:
        logger.error("%s: %s (row skipped)", source, error)
    errors = [str(e) for e in row_errors]
    kernel = Kernel(
        pipeline,
        spec or RunSpec(),
        pipeline.out_dir,
        steps_for=steps_for(scale_out),
        logger=logger,
        resolve_secret=secret_value,
        notice=logger.warning,
    )
    if dry_run:
        report = await kernel.dry_run(rows, errors, TaskSteps())
    else:
        kernel.progress = RunProgress([TerminalBar.for_stream(label=pipeline.flow)])
        async with publish_progress(kernel.progress, title=pipeline.flow):
            report = await kernel.run(rows, errors, max_cost_usd)
    report.budget_usd = max_cost_usd
    report.flow_run_id = str(flow_run.id) if flow_run.id else None
    if not dry_run:
        title = SUMMARY_TITLES.get(pipeline.flow, pipeline.flow)
        await publish_summary(report, key=pipeline.flow, title=title, logger=logger)
        await publish_audits(report, logger=logger)  # books only: each book's audit report, a table per book
    return report
