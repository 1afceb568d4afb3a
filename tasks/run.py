"""Handing a pipeline to the run kernel from inside a flow: the Prefect side of every run.

A flow loads its rows and builds its pipeline, then calls :func:`run_pipeline`, which adds what only Prefect has
(the run logger, task runs or a Dask cluster for the steps, the progress, summary, chart and audit artifacts, Secret
blocks) and leaves the item lifecycle to :class:`voxbatch.run.kernel.Kernel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.runtime import flow_run

from tasks.artifacts.audit import publish_audits
from tasks.artifacts.charts import publish_charts
from tasks.artifacts.progress import publish_progress
from tasks.artifacts.summary import publish_summary
from tasks.quiet_logs import quiet_prefect_services
from tasks.scale.dask import ScaleOut, steps_for
from tasks.secrets import secret_value
from tasks.steps import TaskSteps
from voxbatch.run.kernel import Kernel, Pipeline
from voxbatch.run.progress import RunProgress
from voxbatch.run.progress_bar import TerminalBar
from voxbatch.run.report import RunReport
from voxbatch.run.run_name import bad_rows, run_title
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
    """Run (or, with ``dry_run``, plan and price) every row of ``source`` (the manifest, folder or file the rows
    came from) through the kernel; the flow run is named after it and its rows first."""
    current_stop().rearm()  # Prefect's flow engine installs its own SIGTERM handler for the run; ours comes first
    quiet_prefect_services()  # no "EventsWorker - Still processing items" as the run ends
    await _name_the_run(run_title(pipeline.flow, source, len(rows), bad_rows(row_errors), dry_run))
    logger = get_run_logger()
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
        notice=logger.info,  # the embedded server without a key is the expected default, not a problem
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
        if (spec or RunSpec()).charts_on():
            await publish_charts(report, key=pipeline.flow, title=title, out_dir=pipeline.out_dir, logger=logger)
        await publish_audits(report, logger=logger)  # books only: each book's audit report, a table per book
    return report


def flow_run_name() -> str:
    """A flow run's first name (the flows' ``flow_run_name``): the flow and what it reads, e.g.
    ``audiobook: books.csv``; :func:`run_pipeline` adds the counts once the rows are read."""
    parameters = flow_run.parameters
    source = parameters.get("manifest") or parameters.get("source") or ""
    return run_title(str(flow_run.flow_name), str(source), dry_run=bool(parameters.get("dry_run")))


async def _name_the_run(title: str) -> None:
    """Rename the flow run (in the API, and in this process's logs from here on); a name is never worth a failure."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    try:
        async with get_client() as client:
            await client.set_flow_run_name(context.flow_run.id, title)
    except Exception as exc:  # the run itself will say if the API is gone
        get_run_logger().debug("could not rename the flow run to %r: %s", title, exc)
        return
    context.flow_run.name = title
