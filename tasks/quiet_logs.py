"""Prefect's own plumbing, kept out of a run's output: as a run ends, Prefect's queue services (events and logs
sent to the API, and slots of a shared limit being acquired) drain and warn ``Still processing items: 4 items
remaining...`` every few seconds. Nothing is wrong and nothing is lost; the line only alarms. Everything else those
services log still shows. Each process that runs a flow or its task runs (a Dask worker) filters its own."""

from __future__ import annotations

import logging

PREFECT_QUEUE_SERVICES = (  # their loggers are named after their classes
    "EventsWorker",
    "APILogWorker",
    "ConcurrencySlotAcquisitionService",  # a shared limit's slots (--limit-name)
    "ConcurrencySlotAcquisitionWithLeaseService",
)
DRAIN_MESSAGE_START = "Still processing items"


class _DrainChatter(logging.Filter):
    """Drops only the drain warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(DRAIN_MESSAGE_START)


def quiet_prefect_services() -> None:
    """Filter the drain warning out of Prefect's queue-service loggers (idempotent)."""
    for name in PREFECT_QUEUE_SERVICES:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DrainChatter) for f in logger.filters):
            logger.addFilter(_DrainChatter())
