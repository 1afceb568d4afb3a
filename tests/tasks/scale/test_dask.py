"""ClusterSteps without a cluster: what it counts for the summary's Dask line (units sent, worker processes that
answered, workers connected when the first unit went out). Real clusters: tests/flows/test_scale_out.py."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from tasks.scale.dask import DEFAULT_LOCAL_WORKERS, ClusterSteps, ScaleOut, UnitBatch
from voxbatch.run.report import WorkerUse


class FakeRunner:
    """Answers every unit from the next of ``pids``; its client knows ``workers`` workers (or fails to say)."""

    def __init__(self, pids: list[int], workers: int | None) -> None:
        self.pids, self.workers, self.submitted = iter(pids), workers, 0

    @property
    def client(self) -> Any:
        def nthreads() -> dict[str, int]:
            if self.workers is None:
                raise OSError("scheduler gone")
            return {f"tcp://w{n}": 4 for n in range(self.workers)}

        return SimpleNamespace(nthreads=nthreads)

    def submit(self, task: object, parameters: dict[str, Any]) -> Any:
        self.submitted += 1
        batch = UnitBatch(outcomes=[parameters["label"]], records=(), pid=next(self.pids))
        return SimpleNamespace(result=lambda: batch)


PIPELINE: Any = SimpleNamespace(work_label=lambda work: f"unit-{work}")
CONTEXT: Any = SimpleNamespace(tally=SimpleNamespace(observe=lambda record: None))


def _run(runner: FakeRunner, units: int, expected: int | None) -> WorkerUse:
    steps = ClusterSteps(runner, spec=Any, on_lost=None, expected_workers=expected)  # type: ignore[arg-type]

    async def all_units() -> list[list[Any]]:
        return await asyncio.gather(*(steps.execute(PIPELINE, CONTEXT, n, "book") for n in range(units)))

    assert asyncio.run(all_units()) == [[f"unit-{n}"] for n in range(units)]
    return steps.worker_use


@pytest.mark.parametrize(
    ("pids", "workers", "expected", "use"),
    [
        ([11, 12, 11, 12], 2, 2, WorkerUse(used=2, units=4, cluster=2, expected=2)),
        ([11], 2, 2, WorkerUse(used=1, units=1, cluster=2, expected=2)),  # one unit for two workers
        ([7, 7, 7], 1, None, WorkerUse(used=1, units=3, cluster=1, expected=None)),  # an existing one-worker cluster
        ([7, 8], None, 2, WorkerUse(used=2, units=2, cluster=None, expected=2)),  # the scheduler could not be asked
    ],
)
def test_the_units_and_workers_a_run_used_are_counted(
    pids: list[int], workers: int | None, expected: int | None, use: WorkerUse
) -> None:
    assert _run(FakeRunner(pids, workers), len(pids), expected) == use


def test_a_local_cluster_expects_its_workers_and_an_address_expects_none() -> None:
    assert ScaleOut(workers=3).expected_workers == 3
    assert ScaleOut().expected_workers == DEFAULT_LOCAL_WORKERS
    assert ScaleOut(address="tcp://127.0.0.1:8786").expected_workers is None
