"""A run's context, opened from its spec: in the run's own process and, from the opened spec, in any worker."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.run.context import open_run
from voxbatch.run.shutdown import StopGate
from voxbatch.run.spec import RunSpec
from voxbatch.server.recognizer import DEFAULT_WORKERS


def _quiet(_: str) -> None:
    return None


async def _limiter(tmp_path: Path, spec: RunSpec) -> AsyncRateLimiter:
    async with open_run(spec, flow="tts", unit="chars", out_dir=tmp_path, notice=_quiet) as ctx:
        gate = ctx.client.limiter
    assert isinstance(gate, StopGate)  # the run's stop wraps the limiter
    limiter = gate.inner
    assert isinstance(limiter, AsyncRateLimiter)
    return limiter


@pytest.mark.parametrize(("rpm", "learns"), [(None, True), (600.0, False)])
def test_a_run_learns_the_limit_unless_given_one(tmp_path: Path, rpm: float | None, learns: bool) -> None:
    spec = RunSpec(base_url="http://127.0.0.1:9/v1", requests_per_minute=rpm, max_in_flight=16)
    limiter = asyncio.run(_limiter(tmp_path, spec))
    assert limiter.limits.learn is learns
    assert limiter.limits.max_in_flight == 16
    assert limiter.current_rpm == rpm  # told nothing: no pace until the provider's answers say one
    assert limiter.holds_rate_limited_retries  # either way a 429's retry queues in the limiter


def test_the_flow_and_every_worker_use_the_given_timeout(tmp_path: Path) -> None:
    async def go() -> None:
        spec = RunSpec(timeout_s=42.5, max_in_flight=16)
        async with open_run(spec, flow="transcripts", unit="audio_s", out_dir=tmp_path, notice=_quiet) as ctx:
            assert ctx.client.options.timeouts.for_work(600.0, "audio_s") == 42.5
            assert ctx.spec.max_in_flight == DEFAULT_WORKERS  # the embedded server's decoders
            assert ctx.spec.timeout_s == 42.5
            async with open_run(ctx.spec) as worker:
                assert worker.client.options.timeouts.for_work(600.0, "audio_s") == 42.5

    asyncio.run(go())


def test_without_the_option_the_embedded_server_gets_its_own_allowance(tmp_path: Path) -> None:
    async def go() -> None:
        async with open_run(RunSpec(), flow="transcripts", unit="audio_s", out_dir=tmp_path, notice=_quiet) as ctx:
            assert ctx.client.options.timeouts == CallTimeouts().on_embedded_server()
            async with open_run(ctx.spec) as worker:
                assert worker.client.options.timeouts == CallTimeouts().on_embedded_server()

    asyncio.run(go())


def test_a_worker_opens_the_same_run_without_a_server_and_keeps_its_records_apart(tmp_path: Path) -> None:
    async def go() -> None:
        async with open_run(RunSpec(), flow="audiobook", unit="chars", out_dir=tmp_path, notice=_quiet) as ctx:
            spec = ctx.spec
            assert (
                spec.is_open and spec.key_source == "embedded" and spec.run_id and spec.run_id.startswith("audiobook-")
            )
            assert spec.base_url == ctx.endpoint.options.base_url  # the server this process started
            assert Path(spec.cache_dir or "").is_absolute() and Path(spec.ledger_dir or "").is_absolute()
            async with open_run(spec) as worker:
                assert worker.run_id == ctx.run_id and worker.endpoint.embedded
                assert worker.client.options.base_url == ctx.endpoint.options.base_url
                assert worker.cache.root == ctx.cache.root and worker.records == []
                voices = await worker.client.voices()  # a real call over the run's server, from the "worker"
                assert voices

    asyncio.run(go())


def test_a_key_never_travels_in_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", "sk-never-in-the-spec")

    async def go() -> None:
        spec = RunSpec(base_url="http://127.0.0.1:9/v1")
        async with open_run(spec, flow="tts", unit="chars", out_dir=tmp_path, notice=_quiet) as ctx:
            assert ctx.spec.key_source == "env"
            assert "sk-never" not in repr(ctx.spec)
            assert ctx.client.options.api_key == os.environ["TOGETHER_API_KEY"]

    asyncio.run(go())
