"""Voices chosen with care, from the command: a dry run names a bad voice's row, column and valid choices without
starting any server; ``voxbatch voices`` lists what the embedded server offers; the speech options are checked."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flows.cli import app
from voxbatch.audio.pcm import to_wav
from voxbatch.server.catalog import KOKORO_VOICES
from voxbatch.server.runner import LocalServer

KOKORO = "hexgrad/Kokoro-82M"


@pytest.fixture
def no_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """No audio server may start, and a flow run would fail (nothing listens at the Prefect API)."""
    import voxbatch.server.runner as runner

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("a dry run started the embedded audio server")

    monkeypatch.setattr(runner.LocalServer, "__enter__", no_server)


def test_a_dry_run_names_a_bad_voice_with_the_valid_choices(tmp_path: Path, no_servers: None) -> None:
    manifest = tmp_path / "books.csv"
    manifest.write_text(
        "id,text,model,voice\n"
        'first,"One short sentence.",,\n'
        'misvoiced,"Another sentence.",rime-labs/rime-mist-v2,af_heart\n'
        'cast,"A third sentence.",cartesia/sonic-2,a0e99841-438c-4a64-b679-ae501e7d6091\n'
    )
    result = CliRunner().invoke(app, ["tts", str(manifest), "--out", str(tmp_path / "out"), "--dry-run"])
    assert result.exit_code == 1, result.output
    assert "nothing was called" in result.output and re.search(r"first\s+1\s+0\s+19 chars", result.output)
    assert re.search(r"cast\s+1\s+0\s+17 chars", result.output)  # Cartesia takes any voice id
    assert (
        "bad row: row 3 (id 'misvoiced'), column 'voice': 'af_heart' is not a voice of rime-labs/rime-mist-v2; "
        "choose one of: cove, lagoon, mari, moon, moraine, peak, summit, talon, thunder, tundra … (1 more)"
    ) in result.output
    assert not re.search(r"misvoiced\s+\d", result.output)  # not priced: nothing of it will be paid


def test_a_dry_run_checks_the_speech_options_and_stt_models(tmp_path: Path, no_servers: None) -> None:
    manifest = tmp_path / "books.csv"
    manifest.write_text('id,text\nfirst,"One short sentence."\n')
    told = CliRunner().invoke(
        app, ["tts", str(manifest), "--out", str(tmp_path / "out"), "--dry-run", "--sample-rate", "44100"]
    )
    assert told.exit_code == 1
    assert (
        f"bad row: row 2 (id 'first'), column 'sample_rate': 44100 Hz is not a rate {KOKORO} answers at; "
        "choose one of: 24000"
    ) in told.output
    options = ["--model", "cartesia/sonic-2", "--sample-rate", "44100", "--transport", "websocket"]
    cartesia = CliRunner().invoke(app, ["tts", str(manifest), "--out", str(tmp_path / "c"), "--dry-run", *options])
    assert cartesia.exit_code == 0, cartesia.output
    bad = CliRunner().invoke(app, ["tts", str(manifest), "--dry-run", "--transport", "pigeon"])
    assert bad.exit_code == 2 and "--transport must be one of rest, sse, websocket; got 'pigeon'" in bad.output

    (tmp_path / "clip.wav").write_bytes(_silence_wav())
    (tmp_path / "talks.csv").write_text("audio_path,model\nclip.wav,openai/whisper-large-v3-turbo\n")
    stt = CliRunner().invoke(app, ["stt", str(tmp_path / "talks.csv"), "--out", str(tmp_path / "t"), "--dry-run"])
    assert stt.exit_code == 1, stt.output
    assert (
        "bad row: row 2 (id 'clip'), column 'model': 'openai/whisper-large-v3-turbo' is not a speech-to-text model "
        "the embedded local server serves; choose one of: openai/whisper-large-v3, nvidia/parakeet-tdt-0.6b-v3"
    ) in stt.output


def test_voices_lists_the_embedded_servers_models_and_voices() -> None:
    table = CliRunner().invoke(app, ["voices"])
    assert table.exit_code == 0, table.output
    assert "models and voices of the embedded local server" in table.stdout
    assert re.search(rf"{KOKORO}\s+tts\s+24000\s+af_heart\s+54: af_heart, af_alloy", table.stdout)
    assert re.search(r"cartesia/sonic-2\s+tts\s+44100\s+friendly sidekick\s+10: .*\(and any voice id\)", table.stdout)
    assert re.search(r"openai/whisper-large-v3\s+stt", table.stdout)
    assert "embedded local audio server" in table.output  # said on stderr, as every run says it

    one = CliRunner().invoke(app, ["voices", "--model", KOKORO])
    assert one.exit_code == 0, one.output
    lines = one.stdout.splitlines()
    assert lines[0] == (
        f"{KOKORO}: a text-to-speech model of the embedded local server; speaks at 24000 Hz (may be asked for 24000)"
    )
    assert "af_heart  (default)" in lines and set(KOKORO_VOICES) <= {line.split()[0] for line in lines[1:]}

    as_json = CliRunner().invoke(app, ["voices", "--as", "json", "--model", "cartesia/sonic-2"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert list(data["tts"]) == ["cartesia/sonic-2"] and data["stt"] == []
    entry = data["tts"]["cartesia/sonic-2"]
    assert entry["native_sample_rate_hz"] == 44100 and entry["any_voice"] and "newsman" in entry["voices"]

    unknown = CliRunner().invoke(app, ["voices", "--model", "openai/whisper-large-v3-turbo"])
    assert unknown.exit_code == 1 and "is not a model the embedded local server serves" in unknown.output


def _silence_wav(seconds: float = 1.0, rate_hz: int = 16000) -> bytes:
    return to_wav(np.zeros(int(seconds * rate_hz), dtype=np.int16), rate_hz)


def test_voices_asks_the_server_given_by_url(make_server: Callable[..., LocalServer]) -> None:
    server = make_server(api_key=None)
    listed = CliRunner().invoke(app, ["voices", "--base-url", server.origin, "--model", "rime-labs/rime-mist-v2"])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith(f"rime-labs/rime-mist-v2: a text-to-speech model of {server.origin}/v1;")
    assert "cove  (default)" in listed.stdout.splitlines()
    assert server.stats.count("/v1/voices") == server.stats.count("/v1/models") == 1
    assert "embedded" not in listed.output  # no server of its own was started
    gone = CliRunner().invoke(app, ["voices", "--base-url", "http://127.0.0.1:9"])
    assert gone.exit_code == 1 and gone.output.startswith("could not list the models and voices: ")
    assert len(gone.output.strip().splitlines()) == 1
