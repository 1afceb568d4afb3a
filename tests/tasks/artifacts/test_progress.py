"""The progress artifact: write throttling offline, then real async flows on the session's Prefect server."""

from __future__ import annotations

import asyncio
import inspect
import logging
import warnings
from typing import Any
from uuid import UUID, uuid4

import pytest
from prefect import flow
from prefect.artifacts import create_progress_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import Artifact
from prefect.context import FlowRunContext

from tasks.artifacts import progress as progress_artifact
from tasks.artifacts.progress import PrefectProgressArtifact, percent_of, publish_progress
from voxbatch.run.progress import ProgressSnapshot, RunProgress

LOGGER = logging.getLogger("test-progress-artifact")
MID_RUN_POLL_S = 0.05
MID_RUN_POLLS = 100  # 5 s at most for the pump's first writes


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeArtifactAPI:
    """Stands in for ``acreate_progress_artifact`` / ``aupdate_progress_artifact`` and records every write."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, float, str | None]] = []
        self.fail_next = 0
        self.artifact_id = uuid4()

    async def create(self, progress: float, key: str | None = None, description: str | None = None) -> UUID:
        self._maybe_fail()
        self.writes.append(("create", progress, description))
        return self.artifact_id

    async def update(self, artifact_id: UUID, progress: float, description: str | None = None) -> UUID:
        assert artifact_id == self.artifact_id
        self._maybe_fail()
        self.writes.append(("update", progress, description))
        return artifact_id

    def _maybe_fail(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("server down")


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> FakeArtifactAPI:
    api = FakeArtifactAPI()
    monkeypatch.setattr(progress_artifact, "acreate_progress_artifact", api.create)
    monkeypatch.setattr(progress_artifact, "aupdate_progress_artifact", api.update)
    return api


def snap(chunks_done: int, chunks_total: int = 4, items_done: int = 0, **more: Any) -> ProgressSnapshot:
    return ProgressSnapshot(
        items_done=items_done,
        items_total=1,
        chunks_done=chunks_done,
        chunks_total=chunks_total,
        spent_usd=0.0,
        elapsed_s=0.0,
        eta_s=None,
        **more,
    )


def test_percent_is_100_only_when_finished() -> None:
    assert percent_of(snap(1)) == 25.0
    assert percent_of(snap(4)) == 99.0  # every chunk done, the item still assembling
    assert percent_of(snap(4, items_done=1), final=True) == 100.0
    assert percent_of(snap(4, items_done=1, chunks_failed=2), final=True) == 100.0  # finished, not successful
    assert percent_of(snap(3), final=True) == 75.0
    assert percent_of(snap(1, chunks_total=3)) == 33.3


def test_writes_are_throttled_and_skip_unchanged_values(fake_api: FakeArtifactAPI) -> None:
    clock = FakeClock()
    listener = PrefectProgressArtifact("tiny", LOGGER, interval_s=2.0, clock=clock)

    async def scenario() -> list[bool]:
        wrote = [await listener.publish()]  # nothing to say yet
        listener.update(snap(1))
        wrote.append(await listener.publish())  # first write: creates
        listener.update(snap(2))
        clock.now = 1.0
        wrote.append(await listener.publish())  # too soon
        clock.now = 2.5
        wrote.append(await listener.publish())  # due
        clock.now = 5.0
        wrote.append(await listener.publish())  # due, but nothing changed
        listener.close(snap(3))
        wrote.append(await listener.publish())  # the final state is written at once
        return wrote

    assert asyncio.run(scenario()) == [False, True, False, True, False, True]
    assert [(kind, pct) for kind, pct, _ in fake_api.writes] == [("create", 25.0), ("update", 50.0), ("update", 75.0)]
    assert fake_api.writes[0][2] == "tiny: items 0/1 · chunks 1/4 · $0.0000 · ETA --:--"
    assert listener.artifact_id == fake_api.artifact_id


def test_a_failed_write_is_logged_once_and_retried(fake_api: FakeArtifactAPI, caplog: pytest.LogCaptureFixture) -> None:
    listener = PrefectProgressArtifact("tiny", LOGGER, interval_s=0.0, clock=FakeClock())
    fake_api.fail_next = 2

    async def scenario() -> list[bool]:
        listener.update(snap(1))
        return [await listener.publish(), await listener.publish(), await listener.publish()]

    with caplog.at_level(logging.DEBUG, logger=LOGGER.name):
        assert asyncio.run(scenario()) == [False, False, True]
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert "ConnectionError: server down" in warned[0].getMessage()
    assert [kind for kind, _, _ in fake_api.writes] == ["create"]


def test_outside_a_flow_run_nothing_is_written_and_nothing_fails(fake_api: FakeArtifactAPI) -> None:
    progress = RunProgress()

    async def scenario() -> PrefectProgressArtifact | None:
        async with publish_progress(progress, title="tiny", tick_s=0.01) as artifact:
            progress.add_items(1)
            progress.item_done()
            await asyncio.sleep(0.05)
        return artifact

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine never awaited", no Prefect deprecation warning
        assert asyncio.run(scenario()) is None
    assert progress.closed
    assert fake_api.writes == []


# --- on a real Prefect server -------------------------------------------------------------------------------------


async def _progress_artifacts(flow_run_id: UUID) -> list[Artifact]:
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return [a for a in found if a.type == "progress"]


@flow(name="progress-artifact-test")
async def tiny_flow(chunks: int, finish: int) -> dict[str, Any]:
    """One item of ``chunks`` chunks, ``finish`` of them done (one in a worker thread); the artifact read mid-run."""
    ctx = FlowRunContext.get()
    assert ctx is not None and ctx.flow_run is not None
    progress = RunProgress()
    async with publish_progress(progress, title="tiny", interval_s=0.05, tick_s=0.01) as artifact:
        assert artifact is not None
        progress.add_items(1)
        progress.add_chunks(chunks, item_id="only")
        await asyncio.to_thread(progress.chunk_done, cost_usd=0.25, cached=False)  # a worker thread reports
        for _ in range(finish - 1):
            progress.chunk_done(cost_usd=0.0, cached=True)
        expected = percent_of(progress.snapshot())
        for _ in range(MID_RUN_POLLS):  # the pump writes on its own while the run goes on
            await asyncio.sleep(MID_RUN_POLL_S)
            seen = await _progress_artifacts(ctx.flow_run.id)
            if seen and seen[0].data == expected:
                break
        mid_run = [a.data for a in await _progress_artifacts(ctx.flow_run.id)]
        if finish == chunks:
            progress.item_done()
    return {"flow_run_id": ctx.flow_run.id, "mid_run": mid_run}


def test_a_finished_run_ends_at_100_percent(prefect_api_url: str) -> None:
    result = asyncio.run(tiny_flow(chunks=4, finish=4))
    assert result["mid_run"] == [99.0]  # every chunk done, the item not yet
    artifacts = asyncio.run(_progress_artifacts(result["flow_run_id"]))
    assert len(artifacts) == 1
    (artifact,) = artifacts
    assert artifact.data == 100.0
    assert artifact.task_run_id is None  # the flow run's own artifact
    assert artifact.description == "tiny: items 1/1 · chunks 4/4 (3 cached) · $0.2500 · ETA 0:00"


def test_an_unfinished_run_ends_at_its_real_fraction(prefect_api_url: str) -> None:
    result = asyncio.run(tiny_flow(chunks=4, finish=3))
    assert result["mid_run"] == [75.0]
    (artifact,) = asyncio.run(_progress_artifacts(result["flow_run_id"]))
    assert artifact.data == 75.0
    assert artifact.description is not None
    assert artifact.description.startswith("tiny: items 0/1 · chunks 3/4 (2 cached) · $0.2500")


@flow(name="progress-artifact-sync-call")
async def sync_call_flow() -> list[bool]:
    """What Prefect's *sync* artifact function does in an async flow: on the loop and in a worker thread."""

    def call() -> bool:
        result: object = create_progress_artifact(progress=1.0)
        is_coroutine = inspect.iscoroutine(result)
        if is_coroutine:
            result.close()  # type: ignore[attr-defined]
        return is_coroutine

    return [call(), await asyncio.to_thread(call)]


def test_why_writes_are_async_on_the_loop(prefect_api_url: str) -> None:
    """Prefect's sync functions return an un-awaited coroutine in an async flow, even in a worker thread."""
    assert asyncio.run(sync_call_flow()) == [True, True]
