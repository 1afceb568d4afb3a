"""The run's limiter: told a rate, it paces at it; told nothing, it learns the provider's limit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tasks.run_resources import RunSettings, run_resources
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.run.shutdown import StopGate


async def _limiter(tmp_path: Path, settings: RunSettings) -> AsyncRateLimiter:
    async with run_resources("tts", tmp_path, settings, "chars", notice=lambda _: None) as res:
        gate = res.client.limiter
    assert isinstance(gate, StopGate)  # the run's stop wraps the limiter
    limiter = gate.inner
    assert isinstance(limiter, AsyncRateLimiter)
    return limiter


@pytest.mark.parametrize(("rpm", "learns"), [(None, True), (600.0, False)])
def test_a_run_learns_the_limit_unless_given_one(tmp_path: Path, rpm: float | None, learns: bool) -> None:
    settings = RunSettings(base_url="http://127.0.0.1:9/v1", requests_per_minute=rpm, max_in_flight=16)
    limiter = asyncio.run(_limiter(tmp_path, settings))
    assert limiter.limits.learn is learns
    assert limiter.limits.max_in_flight == 16
    assert limiter.current_rpm == rpm  # told nothing: no pace until the provider's answers say one
    assert limiter.holds_rate_limited_retries  # either way a 429's retry queues in the limiter
