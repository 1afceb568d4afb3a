"""Nightly runs: both flows as deployments on a cron schedule, served from one long-running process.

``voxbatch schedule`` builds the two deployments (audiobooks from a manifest, transcripts from a manifest or
folder) with a cron schedule (02:00 by default) in a time zone, and serves them: the process waits for their
scheduled runs and runs each in a subprocess. Schedules need a real Prefect server (the embedded one runs
no scheduler); teams with a work pool use ``prefect.yaml`` and ``prefect deploy`` instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.audiobook import audiobook_flow
from flows.transcripts import transcript_flow
from voxbatch.defaults import DEFAULT_AUDIOBOOK_OUT_DIR, DEFAULT_TRANSCRIPT_OUT_DIR, NIGHTLY_CRON, NIGHTLY_TIMEZONE
from voxbatch.run.spec import RunSpec

AUDIOBOOK_DEPLOYMENT = "nightly-audiobooks"
TRANSCRIPT_DEPLOYMENT = "nightly-transcripts"


@dataclass(frozen=True)
class NightlyPlan:
    """What runs every night, when, and with which provider settings."""

    tts_manifest: str | None = None
    stt_source: str | None = None
    audiobook_out: str = DEFAULT_AUDIOBOOK_OUT_DIR
    transcript_out: str = DEFAULT_TRANSCRIPT_OUT_DIR
    cron: str = NIGHTLY_CRON
    timezone: str = NIGHTLY_TIMEZONE
    spec: RunSpec = field(default_factory=RunSpec)
    max_cost_usd: float | None = None

    def __post_init__(self) -> None:
        if not self.tts_manifest and not self.stt_source:
            raise ValueError("give a manifest to synthesize, a source to transcribe, or both")


def _spec(plan: NightlyPlan) -> dict[str, Any]:
    return {k: v for k, v in asdict(plan.spec).items() if v is not None}


def build_deployments(plan: NightlyPlan) -> list[RunnerDeployment]:
    """The deployments the plan asks for, each with its cron schedule and JSON parameters."""
    schedule = Cron(plan.cron, timezone=plan.timezone, slug="nightly")
    deployments: list[RunnerDeployment] = []
    if plan.tts_manifest:
        parameters: dict[str, Any] = {
            "manifest": plan.tts_manifest,
            "out_dir": plan.audiobook_out,
            "spec": _spec(plan),
        }
        if plan.max_cost_usd is not None:
            parameters["max_cost_usd"] = plan.max_cost_usd
        deployment = audiobook_flow.to_deployment(
            AUDIOBOOK_DEPLOYMENT, schedules=[schedule], parameters=parameters, tags=["voxbatch", "nightly"]
        )
        deployments.append(cast(RunnerDeployment, deployment))  # outside an event loop it is not a coroutine
    if plan.stt_source:
        parameters = {"source": plan.stt_source, "out_dir": plan.transcript_out, "spec": _spec(plan)}
        if plan.max_cost_usd is not None:
            parameters["max_cost_usd"] = plan.max_cost_usd
        deployment = transcript_flow.to_deployment(
            TRANSCRIPT_DEPLOYMENT, schedules=[schedule], parameters=parameters, tags=["voxbatch", "nightly"]
        )
        deployments.append(cast(RunnerDeployment, deployment))  # outside an event loop it is not a coroutine
    return deployments


def serve_nightly(plan: NightlyPlan) -> None:
    """Register the deployments and run their scheduled runs until interrupted."""
    serve(*build_deployments(plan), print_starting_message=True)
