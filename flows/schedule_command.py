"""``voxbatch schedule``: both flows served on a nightly cron from this process (see :mod:`flows.schedule`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli_checks import check_numbers
from flows.run_command import EXIT_FAILED
from flows.run_options import ApiKeySecretOption, BaseUrlOption, MaxCostOption, MaxInFlightOption
from voxbatch.defaults import (
    DEFAULT_AUDIOBOOK_OUT_DIR,
    DEFAULT_TRANSCRIPT_OUT_DIR,
    MAX_IN_FLIGHT,
    NIGHTLY_CRON,
    NIGHTLY_TIMEZONE,
)
from voxbatch.environment import PREFECT_API_URL_ENV


def schedule(
    tts_manifest: Annotated[Path | None, typer.Option(help="Audiobook manifest to synthesize every night.")] = None,
    stt_source: Annotated[
        Path | None, typer.Option(help="Transcript manifest or folder to transcribe every night.")
    ] = None,
    audiobook_out: Annotated[Path, typer.Option(help="Where the audiobooks go.")] = Path(DEFAULT_AUDIOBOOK_OUT_DIR),
    transcript_out: Annotated[Path, typer.Option(help="Where the transcripts go.")] = Path(DEFAULT_TRANSCRIPT_OUT_DIR),
    cron: Annotated[str, typer.Option(help="When, as a cron expression (default 02:00 every night).")] = NIGHTLY_CRON,
    timezone: Annotated[str, typer.Option(help="The cron's IANA time zone, e.g. Europe/Berlin.")] = NIGHTLY_TIMEZONE,
    base_url: BaseUrlOption = None,
    rpm: Annotated[float | None, typer.Option(help="Requests per minute (shared by Dask workers).")] = None,
    max_in_flight: MaxInFlightOption = MAX_IN_FLIGHT,
    max_cost_usd: MaxCostOption = None,
    api_key_secret: ApiKeySecretOption = None,
    start_server: Annotated[
        bool, typer.Option(help="Start a local `prefect server start` (SQLite) when no PREFECT_API_URL is set.")
    ] = False,
    server_port: Annotated[int, typer.Option(help="Port of the server --start-server starts.")] = 4200,
) -> None:
    """Serve both flows on a nightly schedule from this process (needs a real Prefect server)."""
    import os

    check_numbers({"--rpm": rpm}, {"--max-cost-usd": max_cost_usd}, whole={"--max-in-flight": max_in_flight})

    from voxbatch.run.prefect_server import PrefectServerError, start_local_prefect_server

    if not os.environ.get(PREFECT_API_URL_ENV):
        if not start_server:
            typer.echo(
                "voxbatch schedule needs a real Prefect server: schedules do not run on the embedded one.\n"
                "Start one with `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api,\n"
                "or run `voxbatch schedule --start-server ...` to have one started for you.",
                err=True,
            )
            raise typer.Exit(code=EXIT_FAILED)
        try:
            url = start_local_prefect_server(port=server_port)
        except PrefectServerError as exc:
            typer.echo(f"could not start a Prefect server: {exc}", err=True)
            raise typer.Exit(code=EXIT_FAILED) from exc
        os.environ[PREFECT_API_URL_ENV] = url
        typer.echo(f"started a local Prefect server: {url}", err=True)

    from flows.schedule import NightlyPlan, serve_nightly
    from voxbatch.run.spec import RunSpec

    try:
        plan = NightlyPlan(
            tts_manifest=str(tts_manifest.resolve()) if tts_manifest else None,
            stt_source=str(stt_source.resolve()) if stt_source else None,
            audiobook_out=str(audiobook_out.resolve()),
            transcript_out=str(transcript_out.resolve()),
            cron=cron,
            timezone=timezone,
            spec=RunSpec(
                base_url=base_url, requests_per_minute=rpm, max_in_flight=max_in_flight, api_key_secret=api_key_secret
            ),
            max_cost_usd=max_cost_usd,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    serve_nightly(plan)
