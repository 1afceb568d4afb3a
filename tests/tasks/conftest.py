"""Fixtures for Prefect-backed tasks: one temporary Prefect server (``prefect_test_harness``) per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

HARNESS_STARTUP_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def prefect_api_url() -> Iterator[str]:
    """A temporary Prefect server with its own SQLite database; yields its API URL (about 17 s to start).

    Module-scoped and opt-in, so only tests that need a server pay for it. If a session-wide harness is ever
    added in ``tests/conftest.py``, make this fixture return that one instead: harnesses must not be nested.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=HARNESS_STARTUP_TIMEOUT_S):
        url = PREFECT_API_URL.value()
        assert url, "the harness sets PREFECT_API_URL"
        yield str(url)
