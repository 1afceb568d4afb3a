"""Prefect's drain warning is filtered out of a run's output; everything else its services log still shows."""

from __future__ import annotations

import importlib
import logging

import pytest

from tasks.quiet_logs import PREFECT_QUEUE_SERVICES, quiet_prefect_services


@pytest.mark.parametrize("name", PREFECT_QUEUE_SERVICES)
def test_only_the_drain_warning_is_dropped(name: str, caplog: pytest.LogCaptureFixture) -> None:
    quiet_prefect_services()
    quiet_prefect_services()  # twice: still one filter
    logger = logging.getLogger(name)
    assert len(logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger=name):
        logger.warning("Still processing items: 4 items remaining...")
        logger.error("Service %r failed to process item %r", name, "x")
    assert [r.getMessage() for r in caplog.records if r.name == name] == [
        f"Service '{name}' failed to process item 'x'"
    ]


def test_every_queue_service_of_prefect_is_quieted() -> None:
    """Every kind of Prefect queue service defined in the modules a run uses (the events and logs workers, the
    concurrency slots) logs under one of these names: a service added there by a newer Prefect shows up here (the
    shared limit's slot service once slipped through, on Dask workers)."""
    for module in ("prefect.events.worker", "prefect.logging.handlers", "prefect.concurrency.services"):
        importlib.import_module(module)  # where Prefect defines its queue services
    importlib.import_module("prefect.concurrency.v1.services")
    from prefect._internal.concurrency.services import _QueueServiceBase

    def concrete(cls: type) -> set[str]:
        found: set[str] = set()
        subclasses: list[type] = cls.__subclasses__()
        for sub in subclasses:
            if sub.__module__.startswith("prefect.") and not sub.__module__.startswith("prefect._internal"):
                found.add(sub.__name__)
            found |= concrete(sub)
        return found

    assert concrete(_QueueServiceBase) == set(PREFECT_QUEUE_SERVICES)
