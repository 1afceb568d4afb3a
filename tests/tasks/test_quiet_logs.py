"""Prefect's drain warning is filtered out of a run's output; everything else its services log still shows."""

from __future__ import annotations

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


def test_the_services_log_under_these_names() -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    assert {EventsWorker.__name__, APILogWorker.__name__} == set(PREFECT_QUEUE_SERVICES)
