"""The life of one ``voxbatch tts|stt`` run in this process: its stop (SIGINT/SIGTERM), the Prefect API it
needs, running the flow, and what a stopped run prints. Only the ``voxbatch`` process itself (``main``) takes
over signals and starts its own Prefect API; callers that drive ``app`` in-process keep their own."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer

from voxbatch.environment import API_KEY_ENV, BASE_URL_ENV, DEFAULT_PREFECT_STARTUP_TIMEOUT_S, STOP_GRACE_ENV

if TYPE_CHECKING:
    from voxbatch.run.report import RunReport

EXIT_FAILED = 1  # a bad row or a failed item
EXIT_BUDGET = 3  # nothing failed, but the budget cap left items for a later run
PREFECT_STARTUP_TIMEOUT_S = DEFAULT_PREFECT_STARTUP_TIMEOUT_S
LONGER_STARTUP_TIMEOUT_S = 300


@dataclass
class _State:
    standalone: bool = False  # this process is the `voxbatch` command and owns its Prefect API server


state = _State()


def fail(message: str) -> None:
    """One line on stderr and exit 1 (for failures around the run, where a traceback helps nobody)."""
    typer.echo(message, err=True)
    raise typer.Exit(code=EXIT_FAILED)


def prepare_run(module: str, flow_name: str, spec: Any = None) -> Callable[..., Coroutine[Any, Any, RunReport]]:
    """Arm the stop (from here on SIGINT/SIGTERM stop the run gracefully), make sure a Prefect API will answer,
    and import the flow (which imports Prefect) while it starts. Then says when ``spec`` runs on the embedded
    server (the flow logs it too, at INFO, which the command does not show unless asked)."""
    import importlib

    _arm_stop()
    prefect_ready = _prefect_api()
    flow = getattr(importlib.import_module(module), flow_name)
    prefect_ready()
    if spec is not None and spec.embedded:  # once the run will go ahead: a failure to start is one line alone
        typer.echo(embedded_notice(), err=True)
    return cast("Callable[..., Coroutine[Any, Any, RunReport]]", flow)


def embedded_notice() -> str:
    """What a run on the embedded server says first: it is the expected default, and how to use Together instead."""
    return (
        f"voxbatch: no {API_KEY_ENV} set; using the embedded local audio server "
        f"(set {API_KEY_ENV} to run on Together AI, or {BASE_URL_ENV} for another server)"
    )


def _prefect_api() -> Callable[[], None]:
    """Make sure the flows will reach a Prefect API; returns what to call (once flows are imported) to wait for it.

    With an API configured (PREFECT_API_URL or a Prefect profile): check it answers. Without one, the command
    starts the embedded API itself in its own session (see :mod:`voxbatch.run.prefect_server`), so a terminal's
    Ctrl-C reaches only this process, and waits up to PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS for it.
    Only in the ``voxbatch`` process itself (``main``); embedded callers keep Prefect's own behaviour.
    """
    if not state.standalone:
        return lambda: None
    import os

    from voxbatch.run.prefect_config import may_configure_api, prefect_home
    from voxbatch.run.prefect_server import PrefectServerError, check_reachable, start_embedded_prefect_server
    from voxbatch.run.shutdown import current_stop, exit_code, signal_name

    early = None  # started before Prefect is imported (~1 CPU-s), when no setting can name another API
    if not may_configure_api(os.environ, Path.cwd()):
        early = started = start_embedded_prefect_server(prefect_home(os.environ))
        current_stop().at_abort(lambda: started.stop(wait_s=0))  # a second signal exits at once: stop it first

    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    current = get_current_settings()
    if early is not None and (current.api.url or early.home.resolve() != Path(current.home).expanduser().resolve()):
        early.stop(wait_s=0)  # Prefect says otherwise after all (see voxbatch.run.prefect_config): not this one
        early = None
    if current.api.url:
        try:
            check_reachable(current.api.url)
        except PrefectServerError as exc:
            fail(
                f"cannot reach the Prefect API at {current.api.url} ({exc}); start that server, "
                "or unset PREFECT_API_URL to have voxbatch start a local one"
            )
        return lambda: None
    timeout_s = current.server.ephemeral.startup_timeout_seconds
    server = early or start_embedded_prefect_server(current.home)
    if early is None:
        current_stop().at_abort(lambda: server.stop(wait_s=0))  # a second signal exits at once: stop it first
    os.environ["PREFECT_API_URL"] = server.api_url  # for Prefect here and for any worker process
    refresh_global_settings_context()

    def wait() -> None:
        stop = current_stop()
        try:
            server.wait_healthy(timeout_s, give_up=lambda: stop.requested)
        except PrefectServerError as exc:
            server.stop()
            if stop.requested:  # Ctrl-C while Prefect was starting: nothing was sent
                typer.echo(f"stopped by {signal_name(stop.signum or 0)} before the run started", err=True)
                raise typer.Exit(code=exit_code(stop.signum or 0)) from exc
            fail(
                f"could not start Prefect's local API server within {timeout_s} s ({exc}); set "
                f"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS={max(LONGER_STARTUP_TIMEOUT_S, 2 * timeout_s)} "
                "to wait longer, or PREFECT_API_URL=http://127.0.0.1:4200/api to use a running "
                "`prefect server start`"
            )

    return wait


def _resume_command() -> str:
    """The command line that continues this run."""
    import shlex
    import sys

    return shlex.join(["voxbatch", *sys.argv[1:]])


def _arm_stop() -> Any:
    """A fresh stop for this run; in the ``voxbatch`` process, SIGINT and SIGTERM are routed to it from now on.

    First signal: no new call, item or assembly starts; calls in flight get up to the grace period; every answer
    is cached and the ledger flushed as the flow ends; ``_finish`` then prints how to resume and exits 128 + N.
    Second signal: exit at once (ledger flushed, Prefect server stopped first), no traceback. Embedded callers
    (tests driving ``app``) keep their own signal handling.
    """
    import os

    from voxbatch.run.shutdown import STOP_GRACE_S, RunStop, activate, install_early

    try:
        grace_s = float(os.environ.get(STOP_GRACE_ENV) or STOP_GRACE_S)
    except ValueError:
        grace_s = STOP_GRACE_S
    stop = activate(RunStop(grace_s=max(grace_s, 0.0)))
    if state.standalone:
        install_early(_on_signal)  # until the run's event loop takes over (see run_flow)
    return stop


def _on_signal(signum: int) -> None:
    """SIGINT/SIGTERM: the first stops the run gracefully, a second exits at once."""
    import os
    import sys

    from voxbatch.run.shutdown import current_stop, exit_code, signal_name

    stop = current_stop()
    if stop.request(signum) == 1:
        typer.echo(
            f"\n{signal_name(signum)}: stopping: no new calls; waiting up to {stop.grace_s:g} s for the "
            f"{stop.in_flight} in flight to finish (send it again to stop at once)",
            err=True,
        )
        return
    typer.echo(
        f"{signal_name(signum)} again: stopped at once; calls in flight were abandoned and may be billed. "
        f"To continue: {_resume_command()}",
        err=True,
    )
    stop.abort()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code(stop.signum or signum))


def run_flow(flow_call: Callable[[], Coroutine[Any, Any, RunReport]]) -> RunReport:
    """Run one flow under this run's stop (see ``_arm_stop``), with any failure to reach Prefect as one line."""
    import asyncio

    from voxbatch.run.prefect_server import prefect_unreachable
    from voxbatch.run.shutdown import current_stop

    async def run() -> RunReport:
        if state.standalone:
            current_stop().install(asyncio.get_running_loop(), _on_signal)
        return await flow_call()

    try:
        return asyncio.run(run())
    except Exception as exc:
        if (lost := prefect_unreachable(exc)) is None:
            raise
        fail(
            f"lost the Prefect API ({lost}); check PREFECT_API_URL, or set "
            f"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS={LONGER_STARTUP_TIMEOUT_S} on a slow machine"
        )
        raise  # not reached


def finish_stopped(report: RunReport) -> None:
    """What a stopped run did and the exact command that continues it; exit 130 (SIGINT) or 143 (SIGTERM)."""
    from voxbatch.plural import counted
    from voxbatch.run.report import FINISHED_STATUSES
    from voxbatch.run.shutdown import current_stop, exit_code, signal_name
    from voxbatch.run.summary import summary_text

    stop = current_stop()
    items = report.items
    if items and not report.dry_run:
        typer.echo(summary_text(report))
    finished = sum(r.status in FINISHED_STATUSES for r in items.values())
    failed = sum(r.status == "failed" for r in items.values())
    left = len(items) - finished - failed
    where = f"; ledger: {report.ledger}" if report.ledger else ""
    typer.echo(
        f"stopped by {signal_name(stop.signum) if stop.signum else 'request'}: {counted(finished, 'item')} finished, "
        f"{left} stopped, {failed} failed; every answer received is saved{where}",
        err=True,
    )
    typer.echo(f"to continue (answered calls are not sent again): {_resume_command()}", err=True)
    raise typer.Exit(code=exit_code(stop.signum) if stop.signum else EXIT_FAILED)


def run_spec(
    base_url: str | None,
    rpm: float | None,
    units_per_minute: float | None,
    max_in_flight: int,
    cache_dir: Path | None,
    ledger_dir: Path | None,
    api_key_secret: str | None,
    limit_name: str | None,
    timeout_s: float | None = None,
) -> Any:
    """The run's specification (connection, pacing, storage) from the command's options."""
    from voxbatch.run.spec import RunSpec

    if timeout_s is not None and not 0 < timeout_s < float("inf"):
        raise typer.BadParameter(f"must be a positive number of seconds, not {timeout_s:g}", param_hint="--timeout-s")
    return RunSpec(
        base_url=base_url,
        requests_per_minute=rpm,
        units_per_minute=units_per_minute,
        max_in_flight=max_in_flight,
        cache_dir=str(cache_dir) if cache_dir else None,
        ledger_dir=str(ledger_dir) if ledger_dir else None,
        api_key_secret=api_key_secret,
        limit_name=limit_name,
        timeout_s=timeout_s,
    )


def dry_run(pipeline: Any, rows: list[Any], row_errors: list[Any], spec: Any) -> RunReport:
    """The dry run in this process: the kernel's item lifecycle with execution switched off. Nothing is called and
    no server of any kind (audio, Prefect) is started; the flows' ``dry_run`` does the same inside a flow run."""
    import asyncio

    from voxbatch.run.kernel import Kernel

    kernel = Kernel(pipeline, spec, pipeline.out_dir)
    return asyncio.run(kernel.dry_run(rows, [str(e) for e in row_errors]))


def finish(report: RunReport) -> None:
    """Print the run's summary (or the dry run's estimate) and exit non-zero when cron should notice."""
    from voxbatch.run.estimate import estimate_text
    from voxbatch.run.shutdown import current_stop
    from voxbatch.run.summary import run_failed, summary_text

    if current_stop().requested:
        finish_stopped(report)
    if report.estimate is not None:
        typer.echo(estimate_text(report.estimate))
        for line in report.row_errors:
            typer.echo(f"bad row: {line}", err=True)
        raise typer.Exit(code=EXIT_FAILED if report.row_errors else 0)
    typer.echo(summary_text(report))  # with the Dask worker processes that ran it, if any
    if run_failed(report):
        raise typer.Exit(code=EXIT_FAILED)
    if any(r.status == "skipped_budget" for r in report.items.values()):
        typer.echo("stopped by the budget cap: run again (with a larger --max-cost-usd) to continue", err=True)
        raise typer.Exit(code=EXIT_BUDGET)
