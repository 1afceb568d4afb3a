"""The per-attempt timeout rule (floor, scaling, override) and what a too-slow answer becomes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.voxbatch.client.conftest import mock_wire
from voxbatch.client.call_options import SpeechOptions, TranscriptionOptions
from voxbatch.client.client import SpeechClient
from voxbatch.client.errors import APITimeoutError
from voxbatch.client.fake_transport import FakeTransport, Reply
from voxbatch.client.options import ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.client.timeouts import (
    FLOOR_S,
    SPEECH_S_PER_CHAR,
    TRANSCRIPTION_S_PER_AUDIO_S,
    UNKNOWN_AUDIO_TIMEOUT_S,
    CallTimeouts,
)
from voxbatch.engines.sphinx import SPHINX_CPU_S_PER_SPEECH_S
from voxbatch.pipelines.transcript.split import EMBEDDED_SPLIT, SplitOptions
from voxbatch.run.endpoint import embedded_in_flight
from voxbatch.server import recognizer

ONE_ATTEMPT = RetryPolicy(max_attempts=1)
HANG_GUARD_S = 60.0  # only ever reached if the timeout under test never fires


def test_work_of_nothing_gets_the_floor() -> None:
    rule = CallTimeouts()
    assert rule.for_work(0, "chars") == FLOOR_S
    assert rule.for_work(1, "chars") == pytest.approx(FLOOR_S + SPEECH_S_PER_CHAR)


def test_timeouts_grow_with_the_work() -> None:
    rule = CallTimeouts()
    assert rule.for_work(4096, "chars") == pytest.approx(FLOOR_S + 4096 * SPEECH_S_PER_CHAR)
    assert rule.for_work(600, "audio_s") == pytest.approx(FLOOR_S + 600 * TRANSCRIPTION_S_PER_AUDIO_S)
    assert rule.for_work(1860, "audio_s") > rule.for_work(600, "audio_s") > rule.for_work(60, "audio_s")


def test_audio_of_unknown_length_gets_the_unknown_allowance() -> None:
    assert CallTimeouts().for_work(0, "audio_s") == UNKNOWN_AUDIO_TIMEOUT_S


def test_the_override_replaces_the_rule() -> None:
    rule = CallTimeouts(override_s=7.5)
    assert rule.for_work(0, "chars") == rule.for_work(10_000, "audio_s") == 7.5
    assert "--timeout-s" in rule.describe(10_000, "audio_s")


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_override_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        CallTimeouts(override_s=bad)


def test_the_embedded_recognizer_finishes_well_inside_its_timeout() -> None:
    """Any chunk the embedded server is sent, all speech, decodes in at most a tenth of its allowance, so it
    finishes on a machine whose cores are shared ten ways (measured: 4.1 s per audio second at load 10-11)."""
    embedded = CallTimeouts().on_embedded_server()
    for audio_s in (1.0, 10.0, EMBEDDED_SPLIT.target_chunk_s, EMBEDDED_SPLIT.max_chunk_s, SplitOptions().max_chunk_s):
        assert 10 * SPHINX_CPU_S_PER_SPEECH_S * audio_s <= embedded.for_work(audio_s, "audio_s")
    assert embedded.for_work(100, "chars") == CallTimeouts().for_work(100, "chars")  # speech is fast there
    assert CallTimeouts(override_s=5).on_embedded_server().for_work(600, "audio_s") == 5  # the user still wins


def test_the_embedded_server_gets_no_more_transcriptions_than_it_has_decoders() -> None:
    assert embedded_in_flight(16, "audio_s") == recognizer.DEFAULT_WORKERS
    assert embedded_in_flight(1, "audio_s") == 1
    assert embedded_in_flight(16, "chars") == 16  # espeak-ng answers in milliseconds: no queue to fear


def _never_answering() -> FakeTransport:
    return FakeTransport(respond=lambda _: Reply(fault="hang"))  # the answer never comes


def test_a_too_slow_answer_becomes_a_clear_timeout_error() -> None:
    fake = _never_answering()
    options = ClientOptions(
        api_key="k", base_url="http://127.0.0.1:9", retry=ONE_ATTEMPT, timeouts=CallTimeouts(override_s=0.05)
    )

    async def go() -> None:
        async with asyncio.timeout(HANG_GUARD_S), SpeechClient(options, transport=fake) as client:
            await client.speak("Hello there.", SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart"))

    with pytest.raises(APITimeoutError) as info:
        asyncio.run(go())
    assert str(info.value) == "no complete answer within 0.05 s (set by --timeout-s)"
    assert len(fake.received) == 1


def test_the_rule_names_the_work_when_an_attempt_runs_out() -> None:
    options = ClientOptions(
        api_key="k", base_url="http://127.0.0.1:9", retry=ONE_ATTEMPT, timeouts=CallTimeouts(floor_s=0.05)
    )

    async def go() -> None:
        async with asyncio.timeout(HANG_GUARD_S), SpeechClient(options, transport=_never_answering()) as client:
            await client.transcribe(b"RIFF", TranscriptionOptions(audio_seconds=0.0001))

    with pytest.raises(APITimeoutError, match=r"of audio; raise it with --timeout-s"):
        asyncio.run(go())


def test_each_request_carries_its_own_timeouts() -> None:
    """httpx hears the attempt's allowance (read waits as long, plus a margin), not a fixed 60 s."""
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"text": "hi", "duration": 120.0, "segments": []})

    async def go() -> None:
        options = ClientOptions(api_key="k", base_url="http://127.0.0.1:9", retry=ONE_ATTEMPT)
        async with SpeechClient(options, transport=mock_wire(options, handler)) as client:
            await client.transcribe(b"RIFF", TranscriptionOptions(audio_seconds=120.0))

    asyncio.run(go())
    timeout = seen[0].extensions["timeout"]
    allowed_s = FLOOR_S + 120.0 * TRANSCRIPTION_S_PER_AUDIO_S
    assert timeout["pool"] == pytest.approx(allowed_s)
    assert timeout["read"] > allowed_s
