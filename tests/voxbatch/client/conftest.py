"""Client fixtures: fast retry policies and clients bound to local servers."""

from __future__ import annotations

import pytest

from voxbatch.client.options import ClientOptions
from voxbatch.client.retry import RetryPolicy

FAST_RETRY = RetryPolicy(max_attempts=10, deadline_s=60, backoff_base_s=0.01, backoff_cap_s=0.05)


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return FAST_RETRY


def options_for(server: object, key: str, **kwargs: object) -> ClientOptions:
    """Client options for a LocalServer, given as a bare host the way Together's SDK 3.x takes it."""
    kwargs.setdefault("retry", FAST_RETRY)
    return ClientOptions(api_key=key, base_url=server.origin, **kwargs)  # type: ignore[attr-defined, arg-type]
