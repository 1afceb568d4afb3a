"""The one module of defaults: its values, and the command, flows, manifests, run settings and client using them."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flows.audiobook import audiobook_flow
from flows.cli import BYTES_PER_MB, app
from flows.schedule import NightlyPlan
from flows.transcripts import transcript_flow
from tests.conftest import REPO_ROOT
from voxbatch import defaults
from voxbatch.client.call_options import TranscriptionOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.manifest.stt import SttDefaults
from voxbatch.manifest.tts import BookDefaults
from voxbatch.pipelines.transcript.pipeline import TranscriptPipeline
from voxbatch.pipelines.transcript.prepare import PrepareOptions
from voxbatch.run.spec import RunSpec
from voxbatch.server.catalog import STT_MODELS, TTS_MODELS


def test_the_values() -> None:
    assert defaults.DEFAULT_TTS_MODEL == "hexgrad/Kokoro-82M"
    assert defaults.DEFAULT_TTS_VOICE == "af_heart"
    assert defaults.DEFAULT_STT_MODEL == "openai/whisper-large-v3"
    assert defaults.DEFAULT_AUDIO_FORMAT == "mp3"
    assert defaults.DEFAULT_TRANSCRIPT_FORMATS == "txt,srt,vtt,json"
    assert defaults.DEFAULT_AUDIOBOOK_OUT_DIR == "out/audiobooks"
    assert defaults.DEFAULT_TRANSCRIPT_OUT_DIR == "out/transcripts"
    assert (defaults.NIGHTLY_CRON, defaults.NIGHTLY_TIMEZONE) == ("0 2 * * *", "UTC")
    assert defaults.MAX_IN_FLIGHT == 16
    assert defaults.MAX_ATTEMPTS_PER_CALL == 6
    assert defaults.PROVIDER_UPLOAD_LIMIT_BYTES == 80 * 1024 * 1024


@pytest.mark.parametrize(
    ("model", "voice"),
    [
        ("hexgrad/Kokoro-82M", "af_heart"),  # as before
        ("canopylabs/orpheus-3b-0.1-ft", "tara"),
        ("cartesia/sonic-2", "friendly sidekick"),
        ("rime-labs/rime-arcana-v3", "albion"),
        ("minimax/speech-2.8-turbo", "English_CalmWoman"),
        ("kokoro", "af_heart"),  # a model we know no voices of: the default model's voice, as before
        ("tts-1", "af_heart"),
    ],
)
def test_default_voice_per_model(model: str, voice: str) -> None:
    assert defaults.default_voice(model) == voice


def test_every_catalog_model_has_a_default_voice_it_speaks() -> None:
    assert set(defaults.DEFAULT_VOICES) == set(TTS_MODELS)
    for model_id, model in TTS_MODELS.items():
        assert model.default_voice == defaults.default_voice(model_id)
        assert model.default_voice in model.voices
    assert defaults.DEFAULT_TTS_MODEL in TTS_MODELS and defaults.DEFAULT_STT_MODEL in STT_MODELS


def test_manifests_client_and_run_settings_read_the_module() -> None:
    assert BookDefaults().model == defaults.DEFAULT_TTS_MODEL
    assert BookDefaults().voice is None  # each row's model's voice
    assert BookDefaults().audio_format == defaults.DEFAULT_AUDIO_FORMAT
    assert SttDefaults().model == TranscriptionOptions().model == defaults.DEFAULT_STT_MODEL
    assert RetryPolicy().max_attempts == defaults.MAX_ATTEMPTS_PER_CALL
    spec = RunSpec()  # the one run specification: the flow's, the dry run's estimate and every worker's
    assert (spec.max_in_flight, spec.max_attempts) == (defaults.MAX_IN_FLIGHT, defaults.MAX_ATTEMPTS_PER_CALL)
    assert TranscriptPipeline(Path("o"), ("txt",)).max_upload_bytes == defaults.PROVIDER_UPLOAD_LIMIT_BYTES
    prepare = PrepareOptions(endpoint_id="e", download_dir=Path("d"), out_dir=Path("o"), formats=("txt",))
    assert prepare.max_upload_bytes == defaults.PROVIDER_UPLOAD_LIMIT_BYTES


def _parameter_defaults(fn: object) -> dict[str, object]:
    signature = inspect.signature(getattr(fn, "fn", fn))
    return {name: p.default for name, p in signature.parameters.items()}


def test_flows_read_the_module() -> None:
    audiobook = _parameter_defaults(audiobook_flow)
    assert audiobook["out_dir"] == defaults.DEFAULT_AUDIOBOOK_OUT_DIR
    assert audiobook["model"] == defaults.DEFAULT_TTS_MODEL
    assert audiobook["voice"] is None
    assert audiobook["audio_format"] == defaults.DEFAULT_AUDIO_FORMAT
    transcripts = _parameter_defaults(transcript_flow)
    assert transcripts["out_dir"] == defaults.DEFAULT_TRANSCRIPT_OUT_DIR
    assert transcripts["formats"] == defaults.DEFAULT_TRANSCRIPT_FORMATS
    assert transcripts["max_upload_bytes"] == defaults.PROVIDER_UPLOAD_LIMIT_BYTES
    plan = NightlyPlan(tts_manifest="m.csv")
    assert (plan.audiobook_out, plan.transcript_out) == (
        defaults.DEFAULT_AUDIOBOOK_OUT_DIR,
        defaults.DEFAULT_TRANSCRIPT_OUT_DIR,
    )
    assert (plan.cron, plan.timezone) == (defaults.NIGHTLY_CRON, defaults.NIGHTLY_TIMEZONE)


def _option_defaults(command: str) -> dict[str, object]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return {p.name: p.default for p in group.commands[command].params if p.name}


def test_command_options_read_the_module() -> None:
    tts = _option_defaults("tts")
    assert tts["out"] == Path(defaults.DEFAULT_AUDIOBOOK_OUT_DIR)
    assert (tts["model"], tts["voice"], tts["audio_format"]) == (defaults.DEFAULT_TTS_MODEL, None, "mp3")
    stt = _option_defaults("stt")
    assert stt["out"] == Path(defaults.DEFAULT_TRANSCRIPT_OUT_DIR)
    assert (stt["model"], stt["formats"]) == (defaults.DEFAULT_STT_MODEL, defaults.DEFAULT_TRANSCRIPT_FORMATS)
    assert stt["max_upload_mb"] * BYTES_PER_MB == defaults.PROVIDER_UPLOAD_LIMIT_BYTES  # type: ignore[operator]
    schedule = _option_defaults("schedule")
    assert (schedule["cron"], schedule["timezone"]) == (defaults.NIGHTLY_CRON, defaults.NIGHTLY_TIMEZONE)
    for command in (tts, stt, schedule):
        assert command["max_in_flight"] == defaults.MAX_IN_FLIGHT


def _help_line(command: str, option: str) -> str:
    result = CliRunner(env={"COLUMNS": "300"}).invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.output.splitlines() if re.search(rf"│ {option}\s", line)]
    return " ".join(line.strip("│ ").split())


@pytest.mark.parametrize(
    ("command", "option", "shown"),
    [
        ("tts", "--model", f"[default: {defaults.DEFAULT_TTS_MODEL}]"),
        ("tts", "--voice", f"{defaults.DEFAULT_TTS_VOICE} for {defaults.DEFAULT_TTS_MODEL}"),
        ("tts", "--format", f"[default: {defaults.DEFAULT_AUDIO_FORMAT}]"),
        ("tts", "--out", f"[default: {defaults.DEFAULT_AUDIOBOOK_OUT_DIR}]"),
        ("tts", "--max-in-flight", f"[default: {defaults.MAX_IN_FLIGHT}]"),
        ("stt", "--model", f"[default: {defaults.DEFAULT_STT_MODEL}]"),
        ("stt", "--format", f"[default: {defaults.DEFAULT_TRANSCRIPT_FORMATS}]"),
        ("stt", "--max-upload-mb", f"[default: {defaults.PROVIDER_UPLOAD_LIMIT_BYTES / BYTES_PER_MB}]"),
        ("stt", "--max-in-flight", f"[default: {defaults.MAX_IN_FLIGHT}]"),
        ("schedule", "--cron", f"[default: {defaults.NIGHTLY_CRON}]"),
    ],
)
def test_help_shows_the_modules_values(command: str, option: str, shown: str) -> None:
    assert shown in _help_line(command, option)


@pytest.mark.parametrize(
    "module", ["voxbatch.defaults", "voxbatch.pipelines.transcript.split_options", "voxbatch.audio.silence_options"]
)
def test_light_modules_import_only_the_standard_library(module: str) -> None:
    code = (
        "import sys; before = set(sys.modules); import importlib; importlib.import_module(sys.argv[1]); "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code, module], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    ).stdout.split()
    foreign = [m for m in loaded if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "voxbatch"]
    assert foreign == []
