"""The same speech request answers the same PCM, byte for byte, whatever the server spoke or stopped before it.

REST, SSE and WebSocket answers of one sentence are the same samples too. Histories are made by count (a
cancel event that reads as set from its N-th check, one per audio block), never by timing.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from tests.voxbatch.server.tts_helpers import (
    KOKORO,
    b64_pcm,
    item_pcm,
    recv_item,
    recv_json,
    run,
    send_json,
    speech,
    sse_events,
    ws_connect,
)
from voxbatch.engines.espeak import SynthesisCancelled
from voxbatch.server.catalog import TTS_MODELS, resolve_voice
from voxbatch.server.synthesis import render, speak

TEXT = "One sentence, and a short one."
STOP_BURST = "Hello world"  # ends in a stop burst: it once made the next Klatt synthesis 64 samples longer
LONG = "It was the best of times, it was the worst of times. " * 10  # many blocks of audio
VOICE = "af_heart"
OTHER_VOICES = ("am_adam", "bf_emma", VOICE)
RATE_HZ = 24000


class _SetFromCheck(threading.Event):
    """A cancel event that reads as set from its ``check``-th check on (the synthesis checks once per block)."""

    def __init__(self, check: int) -> None:
        super().__init__()
        self._checks_left = check

    def is_set(self) -> bool:
        self._checks_left -= 1
        return self._checks_left <= 0


@pytest.mark.parametrize("check", [2, 3, 5])
def test_a_synthesis_stopped_part_way_changes_no_later_answer(check: int) -> None:
    voice = resolve_voice(TTS_MODELS[KOKORO], VOICE)
    reference = render(speak(TEXT, voice), RATE_HZ, "pcm_s16le")
    with pytest.raises(SynthesisCancelled, match="stopped"):  # stopped part way, not before it began
        speak(LONG, voice, cancel=_SetFromCheck(check))
    again = render(speak(TEXT, voice), RATE_HZ, "pcm_s16le")
    assert np.array_equal(again.pcm, reference.pcm) and again.words == reference.words


def _rest(server: Any, voice: str, text: str) -> bytes:
    resp = speech(server, model=KOKORO, voice=voice, input=text, response_format="raw")
    assert resp.status_code == 200, resp.text
    return resp.content


def _sse(server: Any, voice: str, text: str) -> bytes:
    resp = speech(server, model=KOKORO, voice=voice, input=text, response_format="raw", stream=True)
    assert resp.status_code == 200, resp.text
    events, done = sse_events(resp.text)
    assert done
    return b64_pcm(events)


def _websocket(server: Any, voice: str, text: str) -> bytes:
    async def scenario() -> bytes:
        async with ws_connect(server, model=KOKORO, voice=voice) as ws:
            assert (await recv_json(ws))["type"] == "session.created"
            await send_json(ws, type="input_text_buffer.append", text=text)
            await recv_json(ws)  # the text was received
            await send_json(ws, type="input_text_buffer.commit")
            return item_pcm(await recv_item(ws))

    return run(scenario())


def test_every_transport_answers_the_same_pcm_whatever_came_before(server) -> None:  # type: ignore[no-untyped-def]
    reference = _rest(server, VOICE, TEXT)
    for other in OTHER_VOICES:
        for transport in (_rest, _sse, _websocket):
            _rest(server, other, STOP_BURST)
            assert transport(server, VOICE, TEXT) == reference, (other, transport.__name__)
