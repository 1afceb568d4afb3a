"""Task runs are named per item: what Prefect's UI lists says which book or recording each one was for."""

from __future__ import annotations

from typing import Any

import pytest
from prefect._internal.engine import resolve_custom_task_run_name

from tasks.scale.dask import execute_on_worker
from tasks.steps import assemble_item, execute_unit, plan_item


@pytest.mark.parametrize(
    ("task", "parameters", "name"),
    [
        (plan_item, {"item_id": "alice"}, "plan-alice"),
        (execute_unit, {"label": "synthesize-alice-chapter-3"}, "synthesize-alice-chapter-3"),
        (execute_on_worker, {"label": "transcribe-jfk"}, "transcribe-jfk"),
        (assemble_item, {"item_id": "alice"}, "assemble-alice"),
    ],
)
def test_task_run_names_carry_the_item(task: Any, parameters: dict[str, str], name: str) -> None:
    assert resolve_custom_task_run_name(task, parameters) == name
