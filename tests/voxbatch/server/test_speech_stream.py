"""``POST /v1/audio/speech`` with ``stream: true``: server-sent events over a real socket."""

from __future__ import annotations

import base64
import json
import re
import string

import httpx
import numpy as np
from httpx_sse import connect_sse

from tests.voxbatch.server.tts_helpers import (
    AUTH,
    KOKORO,
    SONIC,
    b64_pcm,
    s16,
    speech,
    sse_data,
    sse_events,
)

SENTENCE = "The quick brown fox jumps over the lazy dog."
TWO_SENTENCES = "Hello world. How are you today?"
DELTA = "conversation.item.audio_output.delta"
WORDS = "conversation.item.word_timestamps"


def stream(server, **body):  # type: ignore[no-untyped-def]
    resp = speech(server, stream=True, response_format="raw", **body)
    assert resp.status_code == 200, resp.text
    return resp


def input_words(text: str) -> list[str]:
    return [w.strip(string.punctuation) for w in text.split()]


def test_stream_is_sse_of_conversation_deltas_ending_in_done(server) -> None:
    resp = stream(server, model=KOKORO, voice="af_heart", input=SENTENCE)
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers.get("cache-control") == "no-cache"
    lines = resp.text.split("\n")
    assert not [line for line in lines if line.startswith("event:")]
    # Each event is one data line followed by a blank line.
    assert resp.text.endswith("data: [DONE]\n\n")
    assert all(chunk.startswith("data: ") for chunk in resp.text.strip().split("\n\n"))
    events, done = sse_events(resp.text)
    assert done
    assert len(events) >= 2
    item_ids = set()
    for event in events:
        assert set(event) == {"type", "item_id", "delta"}
        assert event["type"] == DELTA
        assert re.fullmatch(r"tts_\d+", event["item_id"])
        item_ids.add(event["item_id"])
        assert len(base64.b64decode(event["delta"], validate=True)) % 2 == 0
    assert len(item_ids) == 1


def test_each_stream_gets_a_new_item_id(server) -> None:
    first, _ = sse_events(stream(server, model=KOKORO, voice="af_heart", input="Hi.").text)
    second, _ = sse_events(stream(server, model=KOKORO, voice="af_heart", input="Hi.").text)
    assert first[0]["item_id"] != second[0]["item_id"]


def test_stream_deltas_add_up_to_the_non_streamed_answer(server) -> None:
    events, _ = sse_events(stream(server, model=KOKORO, voice="af_heart", input=SENTENCE).text)
    streamed = s16(b64_pcm(events))
    whole = s16(speech(server, model=KOKORO, voice="af_heart", input=SENTENCE, response_format="raw").content)
    assert np.array_equal(streamed, whole)
    assert np.std(streamed) > 0


def test_multi_sentence_stream_keeps_the_pauses_between_sentences(server) -> None:
    text = "One. Two. Three."
    events, _ = sse_events(stream(server, model=KOKORO, voice="af_heart", input=text).text)
    streamed = s16(b64_pcm(events))
    whole = s16(speech(server, model=KOKORO, voice="af_heart", input=text, response_format="raw").content)
    assert np.array_equal(streamed, whole)


def test_stream_honours_encoding_and_rate_for_cartesia(server) -> None:
    body = {"model": SONIC, "voice": "newsman", "input": "Hi there.", "sample_rate": 16000}
    events, done = sse_events(stream(server, response_encoding="pcm_f32le", **body).text)
    assert done
    values = np.frombuffer(b64_pcm(events), dtype="<f4")
    assert values.min() >= -1.0 and values.max() <= 1.0
    whole = speech(server, response_format="raw", response_encoding="pcm_f32le", **body).content
    assert b64_pcm(events) == whole


def test_stream_delta_size_is_a_quarter_second(server) -> None:
    events, _ = sse_events(stream(server, model=KOKORO, voice="af_heart", input=SENTENCE).text)
    sizes = [len(base64.b64decode(e["delta"])) for e in events]
    assert all(size == 24000 // 4 * 2 for size in sizes[:-1])
    assert 0 < sizes[-1] <= 24000 // 4 * 2


def test_a_standard_sse_client_reads_the_stream(server) -> None:
    body = {
        "model": KOKORO,
        "voice": "af_heart",
        "input": TWO_SENTENCES,
        "stream": True,
        "response_format": "raw",
    }
    data: list[str] = []
    with (
        httpx.Client(timeout=30) as client,
        connect_sse(client, "POST", f"{server.base_url}/audio/speech", json=body, headers=AUTH) as source,
    ):
        assert source.response.status_code == 200
        for sse in source.iter_sse():
            assert sse.event == "message"
            data.append(sse.data)
    assert data[-1] == "[DONE]"
    events = [json.loads(d) for d in data[:-1]]
    assert events and all(e["type"] == DELTA for e in events)
    assert len(b64_pcm(events)) > 24000  # more than half a second of 24 kHz s16le


def test_no_word_timestamps_without_alignment(server) -> None:
    events, _ = sse_events(stream(server, model=KOKORO, voice="af_heart", input=TWO_SENTENCES).text)
    assert not [e for e in events if e["type"] == WORDS]


def test_alignment_word_adds_word_timestamps(server) -> None:
    events, done = sse_events(
        stream(server, model=KOKORO, voice="af_heart", input=TWO_SENTENCES, alignment="word").text
    )
    assert done
    word_events = [e for e in events if e["type"] == WORDS]
    assert word_events
    item_id = events[0]["item_id"]
    words: list[str] = []
    starts: list[float] = []
    ends: list[float] = []
    for event in word_events:
        assert event["item_id"] == item_id
        assert len(event["words"]) == len(event["start_seconds"]) == len(event["end_seconds"])
        words += event["words"]
        starts += event["start_seconds"]
        ends += event["end_seconds"]
    assert words == input_words(TWO_SENTENCES)
    duration = len(b64_pcm(events)) / 2 / 24000
    assert starts == sorted(starts) and ends == sorted(ends)
    assert all(0 <= s < e <= duration + 0.002 for s, e in zip(starts, ends, strict=True))
    # The second sentence's words come after the first sentence's audio.
    assert starts[2] >= ends[1]


def test_word_timestamps_follow_the_audio_they_describe(server) -> None:
    """Each sentence's word_timestamps event is sent after that sentence's deltas."""
    events, _ = sse_events(stream(server, model=KOKORO, voice="af_heart", input=TWO_SENTENCES, alignment="word").text)
    kinds = [e["type"] for e in events]
    first_words = kinds.index(WORDS)
    heard = len(b64_pcm(events[:first_words])) / 2 / 24000
    assert events[first_words]["end_seconds"][-1] <= heard + 0.002


def test_legacy_stream_shape(make_server) -> None:
    legacy = make_server(stream_shape="legacy")
    resp = stream(legacy, model=KOKORO, voice="af_heart", input=SENTENCE)
    payloads = sse_data(resp.text)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert chunks
    for chunk in chunks:
        assert chunk == {"object": "audio.tts.chunk", "model": KOKORO, "b64": chunk["b64"]}
    whole = speech(legacy, model=KOKORO, voice="af_heart", input=SENTENCE, response_format="raw").content
    assert b64_pcm(chunks, key="b64") == whole


def test_stream_validation_errors_come_before_the_stream(server) -> None:
    resp = speech(server, model=KOKORO, voice="nobody", input="Hi.", stream=True, response_format="raw")
    assert resp.status_code == 400
    assert resp.headers["content-type"].startswith("application/json")
