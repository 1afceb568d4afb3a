"""A caller who leaves stops its decode: a long transcription closed part way (raw socket; client timeout).

Count-based: the server's own counters say the decode was cancelled (not finished), the request was
never billed, no work is in progress and every recognizer worker is back in the pool. The waits are
hang guards on events, never timing asserts.
"""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from tests.conftest import TEST_API_KEY
from tests.voxbatch.server.raw_upload import TRANSCRIPTIONS, send_transcription
from voxbatch.audio import ffmpeg, pcm
from voxbatch.client.call_options import TranscriptionOptions
from voxbatch.client.client import SpeechClient
from voxbatch.client.errors import APITimeoutError
from voxbatch.client.options import ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.server import recognizer
from voxbatch.server.runner import LocalServer

pytestmark = pytest.mark.slow

HANG_GUARD_S = 300.0  # only reached if cancellation is broken
REPEATS = 30  # ~5.5 minutes of speech: ~160 CPU-s to decode in full; a cancelled decode costs a few
ATTEMPTS = 2
TOO_SHORT_S = 2.0  # far too short for minutes of speech; long enough that the decode has usually begun
ENDING_S = 8.4  # jfk.flac from here on: "... what you can do for your country" (2.6 s, a fraction of the decode)
CLIENT_REPEATS = 12  # ~2 minutes of speech (4 MB): ~65 CPU-s to decode in full


def test_a_caller_who_leaves_stops_its_decode(make_server, jfk_flac: bytes) -> None:  # type: ignore[no-untyped-def]
    srv: LocalServer = make_server()
    speech = ffmpeg.decode_to_pcm(jfk_flac, 16000)
    long_wav = pcm.to_wav(np.concatenate([speech] * REPEATS), 16000)

    sock = send_transcription(srv, long_wav, "long.wav")
    try:
        assert srv.stats.wait_until(lambda s: s.in_progress(TRANSCRIPTIONS) == 1, HANG_GUARD_S), "decode never began"
    finally:
        sock.close()  # the caller leaves without its answer

    assert srv.stats.wait_until(
        lambda s: s.cancelled(TRANSCRIPTIONS) == 1 and s.in_progress() == 0 and s.count(TRANSCRIPTIONS) == 1,
        HANG_GUARD_S,
    ), srv.stats.snapshot()
    assert srv.stats.count(TRANSCRIPTIONS, 499) == 1  # counted as "client closed request", never answered
    assert srv.stats.snapshot()["audio_seconds_billed"] == 0.0
    assert recognizer.shared_pool().busy == 0  # the worker stopped and went back to the pool

    # The stopped worker is still in step with the server: the next request is answered normally, with its own words.
    ending = pcm.to_wav(speech[round(ENDING_S * 16000) :], 16000)
    answer = httpx.post(
        f"{srv.base_url}/audio/transcriptions",
        headers={"Authorization": f"Bearer {TEST_API_KEY}"},
        files={"file": ("ending.wav", ending)},
        data={"model": "openai/whisper-large-v3"},
        timeout=HANG_GUARD_S,
    )
    assert answer.status_code == 200, answer.text
    assert "country" in answer.json()["text"]
    assert srv.stats.cancelled(TRANSCRIPTIONS) == 1 and srv.stats.in_progress() == 0


def test_a_client_that_times_out_leaves_no_decode_behind(make_server, jfk_flac: bytes) -> None:  # type: ignore[no-untyped-def]
    """The original failure: every timed-out attempt left a full decode running. Now each one is stopped.

    Whether an attempt times out before or during its decode depends on the machine; either way nothing is
    left running, nothing is answered or billed, and every decode that was told to stop did.
    """
    srv: LocalServer = make_server()
    speech = ffmpeg.decode_to_pcm(jfk_flac, 16000)
    long_wav = pcm.to_wav(np.concatenate([speech] * CLIENT_REPEATS), 16000)
    options = ClientOptions(
        api_key=TEST_API_KEY,
        base_url=srv.base_url,
        retry=RetryPolicy(max_attempts=ATTEMPTS, backoff_base_s=0.01, backoff_cap_s=0.05),
        timeouts=CallTimeouts(override_s=TOO_SHORT_S),  # minutes of speech cannot decode in this
    )

    async def go() -> None:
        async with SpeechClient(options) as client:
            await client.transcribe(long_wav, TranscriptionOptions(audio_seconds=len(speech) * CLIENT_REPEATS / 16000))

    with pytest.raises(APITimeoutError, match="set by --timeout-s"):
        asyncio.run(go())
    assert srv.stats.wait_until(lambda s: s.count(TRANSCRIPTIONS) == ATTEMPTS and s.in_progress() == 0, HANG_GUARD_S), (
        srv.stats.snapshot()
    )
    assert srv.stats.count(TRANSCRIPTIONS, 200) == 0 and srv.stats.snapshot()["audio_seconds_billed"] == 0.0
    assert srv.stats.cancelled(TRANSCRIPTIONS) == srv.stats.stops_asked(TRANSCRIPTIONS)
    assert recognizer.shared_pool().busy == 0
