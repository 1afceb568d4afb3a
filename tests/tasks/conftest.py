"""Fixtures for Prefect-backed tasks: they share the session's temporary Prefect server."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def prefect_api_url(prefect_harness: str) -> str:
    """The session's temporary Prefect server (see ``prefect_harness`` in tests/conftest.py)."""
    return prefect_harness
