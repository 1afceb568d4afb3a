"""Client fixtures: fast retry policies, clients bound to local servers, the real transport over a mock network."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from voxbatch.client.options import ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.client.wire import WireTransport

FAST_RETRY = RetryPolicy(max_attempts=10, deadline_s=60, backoff_base_s=0.01, backoff_cap_s=0.05)


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return FAST_RETRY


def options_for(server: object, key: str, **kwargs: object) -> ClientOptions:
    """Client options for a LocalServer, given as a bare host the way Together's SDK 3.x takes it."""
    kwargs.setdefault("retry", FAST_RETRY)
    return ClientOptions(api_key=key, base_url=server.origin, **kwargs)  # type: ignore[attr-defined, arg-type]


def mock_wire(
    options: ClientOptions, handler: Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]
) -> WireTransport:
    """The real transport with httpx's network replaced by ``handler``: requests spelled and answers read for real."""
    return WireTransport(options, http_transport=httpx.MockTransport(handler))
