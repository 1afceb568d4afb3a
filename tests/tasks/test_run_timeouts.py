"""``--timeout-s`` from the command line to every client: the flow's own and each Dask worker's."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from flows.run_command import run_settings
from tasks.run_resources import RunSettings, run_resources
from tasks.scale_out import worker_resources
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.server.recognizer import DEFAULT_WORKERS


def test_the_option_reaches_therun_settings() -> None:
    settings = run_settings(None, None, None, 16, None, None, None, None, 42.5)
    assert settings.timeout_s == 42.5
    assert run_settings(None, None, None, 16, None, None, None, None).timeout_s is None  # it follows the work


def test_a_bad_timeout_is_a_usage_error(tmp_path: Path) -> None:
    for command in ("stt", "tts"):
        result = CliRunner().invoke(app, [command, str(tmp_path), "--timeout-s", "0"])
        assert result.exit_code == 2, result.output
        assert "--timeout-s must be a number greater than 0" in result.output


def test_the_flow_and_every_worker_use_the_given_timeout(tmp_path: Path) -> None:
    async def go() -> None:
        settings = RunSettings(timeout_s=42.5, max_in_flight=16)
        async with run_resources("transcripts", tmp_path, settings, "audio_s", notice=lambda _: None) as res:
            assert res.client.options.timeouts.for_work(600.0, "audio_s") == 42.5
            assert res.settings.max_in_flight == DEFAULT_WORKERS  # the embedded server's decoders
            spec = res.worker_spec(None)
            assert spec.timeout_s == 42.5
            async with worker_resources(spec) as worker:
                assert worker.client.options.timeouts.for_work(600.0, "audio_s") == 42.5

    asyncio.run(go())


def test_without_the_option_the_embedded_server_gets_its_own_allowance(tmp_path: Path) -> None:
    async def go() -> None:
        async with run_resources("transcripts", tmp_path, RunSettings(), "audio_s", notice=lambda _: None) as res:
            assert res.client.options.timeouts == CallTimeouts().on_embedded_server()
            async with worker_resources(res.worker_spec(None)) as worker:
                assert worker.client.options.timeouts == CallTimeouts().on_embedded_server()

    asyncio.run(go())
