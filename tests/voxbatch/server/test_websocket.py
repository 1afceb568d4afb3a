"""``/v1/audio/speech/websocket``: Together's realtime TTS session protocol over a real socket."""

from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect

from tests.conftest import TEST_API_KEY
from tests.voxbatch.server.tts_helpers import (
    KOKORO,
    ORPHEUS,
    SONIC,
    item_pcm,
    of_type,
    quiet,
    recv_close,
    recv_item,
    recv_json,
    run,
    s16,
    send_json,
    silence_server_errors,
    speech,
    spoken_words,
    ws_connect,
    ws_url,
)
from voxbatch.server.runner import LocalServer

APPEND = "input_text_buffer.append"
COMMIT = "input_text_buffer.commit"
CLEAR = "input_text_buffer.clear"
RECEIVED = "conversation.item.input_text.received"
DELTA = "conversation.item.audio_output.delta"
DONE = "conversation.item.audio_output.done"
WORDS = "conversation.item.word_timestamps"
FAILED = "conversation.item.tts.failed"


async def open_session(ws: Any) -> dict[str, Any]:
    created = await recv_json(ws)
    assert created["type"] == "session.created", created
    return created


async def spoken_item(server: LocalServer, text: str, **query: str) -> list[dict[str, Any]]:
    """The events of the one item a new session speaks for ``text`` (a complete sentence), opened with ``query``."""
    async with ws_connect(server, **query) as ws:
        await open_session(ws)
        await send_json(ws, type=APPEND, text=text)
        await recv_json(ws)
        return await recv_item(ws)


def test_session_created_first_with_model_and_voice_from_query(server) -> None:
    async def scenario() -> dict[str, Any]:
        async with ws_connect(server, model=ORPHEUS, voice="leo") as ws:
            return await recv_json(ws)

    created = run(scenario())
    assert created["type"] == "session.created"
    assert isinstance(created["event_id"], str) and created["event_id"]
    session = created["session"]
    assert session["object"] == "realtime.tts.session"
    assert session["modalities"] == ["text", "audio"]
    assert (session["model"], session["voice"]) == (ORPHEUS, "leo")
    assert isinstance(session["id"], str) and session["id"]


def test_default_model_is_kokoro(server) -> None:
    async def scenario() -> dict[str, Any]:
        async with ws_connect(server) as ws:
            return await open_session(ws)

    session = run(scenario())["session"]
    assert session["model"] == KOKORO
    assert session["voice"] in ("af_heart", "tara")


def test_append_commit_speaks_24k_s16le_deltas_then_done(server) -> None:
    text = "Good morning everyone"

    async def scenario() -> list[dict[str, Any]]:
        async with ws_connect(server, model=KOKORO, voice="af_bella") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text=text)
            received = await recv_json(ws)
            assert received["type"] == RECEIVED and received["text"] == text
            await send_json(ws, type=COMMIT)
            return await recv_item(ws)

    events = run(scenario())
    deltas = of_type(events, DELTA)
    assert deltas and all(re.fullmatch(r"tts_\d+", d["item_id"]) for d in deltas)
    assert {d["item_id"] for d in deltas} == {events[-1]["item_id"]}
    assert all(d["context_id"] == "default" for d in deltas)
    audio = s16(b"".join(base64.b64decode(d["delta"], validate=True) for d in deltas))
    # Kokoro always streams 24 kHz s16le: the same samples as the REST raw answer.
    rest = s16(speech(server, model=KOKORO, voice="af_bella", input=text, response_format="raw").content)
    assert np.array_equal(audio, rest)
    assert audio.std() > 0


def test_ws_always_sends_s16le_even_for_cartesia(server) -> None:
    async def scenario() -> bytes:
        async with ws_connect(server, model=SONIC, voice="newsman", sample_rate=16000) as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="Hi there.")
            await recv_json(ws)
            return item_pcm(await recv_item(ws))

    audio = run(scenario())
    rest = speech(
        server,
        model=SONIC,
        voice="newsman",
        input="Hi there.",
        response_format="raw",
        response_encoding="pcm_s16le",
        sample_rate=16000,
    ).content
    assert audio == rest


def test_a_complete_sentence_is_spoken_before_commit_and_a_partial_one_waits(server) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        async with ws_connect(server, alignment="word") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="Hello there. How are")
            assert (await recv_json(ws))["type"] == RECEIVED
            first = await recv_item(ws)  # "Hello there." without any commit
            waiting = await quiet(ws)  # "How are" stays in the buffer
            await send_json(ws, type=COMMIT)
            second = await recv_item(ws)
            return first, waiting, second

    first, waiting, second = run(scenario())
    assert spoken_words(first) == ["Hello", "there"]
    assert waiting == []
    assert spoken_words(second) == ["How", "are"]
    assert first[-1]["item_id"] != second[-1]["item_id"]


def test_text_split_across_appends_is_joined(server) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with ws_connect(server, alignment="word") as ws:
            await open_session(ws)
            for piece in ("Good ", "evening", " to you."):
                await send_json(ws, type=APPEND, text=piece)
                assert (await recv_json(ws))["text"] == piece
            return await recv_item(ws)

    assert spoken_words(run(scenario())) == ["Good", "evening", "to", "you"]


def test_trailing_space_of_a_partial_sentence_is_kept(server) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with ws_connect(server, alignment="word") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="Hello there. How ")
            await recv_json(ws)
            await recv_item(ws)
            await send_json(ws, type=APPEND, text="are you?")
            await recv_json(ws)
            return await recv_item(ws)

    assert spoken_words(run(scenario())) == ["How", "are", "you"]


def test_segment_immediate_speaks_every_append(server) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with ws_connect(server, segment="immediate", alignment="word") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="Hello")
            await recv_json(ws)
            return await recv_item(ws)

    assert spoken_words(run(scenario())) == ["Hello"]


def test_segment_never_waits_for_commit_even_after_a_sentence(server) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with ws_connect(server, segment="never", alignment="word") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="One. Two.")
            await recv_json(ws)
            waiting = await quiet(ws)
            await send_json(ws, type=COMMIT)
            return waiting, await recv_item(ws)

    waiting, item = run(scenario())
    assert waiting == []
    assert spoken_words(item) == ["One", "Two"]


def test_clear_drops_buffered_text(server) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        async with ws_connect(server, alignment="word") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="Forget this")
            await recv_json(ws)
            await send_json(ws, type=CLEAR)
            await send_json(ws, type=COMMIT)  # nothing left to speak
            after_clear = await quiet(ws)
            await send_json(ws, type=APPEND, text="Keep this.")
            await recv_json(ws)
            kept = await recv_item(ws)
            return after_clear, kept, await quiet(ws)

    after_clear, kept, tail = run(scenario())
    assert after_clear == []
    assert spoken_words(kept) == ["Keep", "this"]
    assert tail == []


def test_max_partial_length_flushes_a_long_partial(server) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with ws_connect(server, max_partial_length=10, alignment="word") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="short")  # 5 characters: waits
            await recv_json(ws)
            waiting = await quiet(ws)
            await send_json(ws, type=APPEND, text=" and then longer")  # 21 characters: over the limit
            await recv_json(ws)
            return waiting, await recv_item(ws)

    waiting, item = run(scenario())
    assert waiting == []
    assert spoken_words(item) == ["short", "and", "then", "longer"]


def test_bad_max_partial_length_is_reported_not_fatal(server, monkeypatch: pytest.MonkeyPatch) -> None:
    silence_server_errors(monkeypatch)

    async def scenario() -> list[dict[str, Any]]:
        async with ws_connect(server, max_partial_length="abc") as ws:
            events = [await recv_json(ws)]
            if events[0]["type"] == FAILED:
                return events
            await send_json(ws, type=APPEND, text="Hello")
            events += await quiet(ws, 2.0)
            return events

    events = run(scenario())
    failed = of_type(events, FAILED)
    assert failed and failed[0]["error"]["param"] == "max_partial_length"


def test_alignment_word_sends_word_timestamps_with_item_id(server) -> None:
    events = run(spoken_item(server, "Nice to meet you.", alignment="word"))
    (words,) = of_type(events, WORDS)
    assert words["item_id"] == events[-1]["item_id"]
    assert words["words"] == ["Nice", "to", "meet", "you"]
    duration = len(item_pcm(events)) / 2 / 24000
    assert words["start_seconds"] == sorted(words["start_seconds"])
    assert all(
        0 <= s < e <= duration + 0.002 for s, e in zip(words["start_seconds"], words["end_seconds"], strict=True)
    )
    assert [e["type"] for e in events][-2:] == [WORDS, DONE]


def test_session_update_changes_the_voice(server) -> None:
    async def scenario() -> tuple[bytes, dict[str, Any], bytes]:
        async with ws_connect(server, model=ORPHEUS, voice="tara") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="Same words.")
            await recv_json(ws)
            first = item_pcm(await recv_item(ws))
            await send_json(ws, type="tts_session.updated", session={"voice": "zac"})
            updated = await recv_json(ws)
            await send_json(ws, type=APPEND, text="Same words.")
            await recv_json(ws)
            return first, updated, item_pcm(await recv_item(ws))

    first, updated, second = run(scenario())
    assert updated["type"] == "session.updated"
    assert updated["session"]["voice"] == "zac"
    assert first != second


def test_session_update_to_a_bad_voice_fails_and_keeps_the_old_one(server) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with ws_connect(server, model=ORPHEUS, voice="tara") as ws:
            await open_session(ws)
            await send_json(ws, type="tts_session.updated", session={"voice": "nobody"})
            failed = await recv_json(ws)
            await send_json(ws, type="tts_session.updated", session={"speed": 1.5})
            return failed, await recv_json(ws)

    failed, updated = run(scenario())
    assert failed["type"] == FAILED and failed["error"]["code"] == "voice_not_available"
    assert updated["session"]["voice"] == "tara"


def test_contexts_are_routed_and_cancel_drops_buffered_text(server) -> None:
    async def scenario() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        async with ws_connect(server, alignment="word") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="First context.", context_id="c1")
            events += [await recv_json(ws)] + await recv_item(ws)
            await send_json(ws, type=APPEND, text="Second context.", context_id="c2")
            events += [await recv_json(ws)] + await recv_item(ws)
            await send_json(ws, type=APPEND, text="Never spoken", context_id="c3")
            events.append(await recv_json(ws))
            await send_json(ws, type="context.cancel", context_id="c3")
            events.append(await recv_json(ws))
            await send_json(ws, type=COMMIT, context_id="c3")
            await send_json(ws, type=APPEND, text="Back to one.", context_id="c1")
            events += [await recv_json(ws)] + await recv_item(ws)
        return events

    events = run(scenario())
    by_context: dict[str, list[str]] = {}
    for event in of_type(events, WORDS):
        by_context.setdefault(event["context_id"], []).extend(event["words"])
    assert by_context == {"c1": ["First", "context", "Back", "to", "one"], "c2": ["Second", "context"]}
    for event in of_type(events, DELTA) + of_type(events, DONE):
        assert event["context_id"] in ("c1", "c2")
    assert {"type": "context.cancelled", "context_id": "c3"} in events
    c1_items = {e["item_id"] for e in of_type(events, DONE) if e["context_id"] == "c1"}
    c2_items = {e["item_id"] for e in of_type(events, DONE) if e["context_id"] == "c2"}
    assert len(c1_items) == 2 and len(c2_items) == 1 and not c1_items & c2_items


def test_key_in_query_string_is_accepted(server) -> None:
    async def scenario() -> dict[str, Any]:
        async with connect(ws_url(server, api_key=TEST_API_KEY)) as ws:
            return await recv_json(ws)

    assert run(scenario())["type"] == "session.created"


@pytest.mark.parametrize(
    ("headers", "query", "code"),
    [
        (None, {}, "missing_api_key"),
        ({"Authorization": "Bearer wrong-key-SECRET-42"}, {}, "invalid_api_key"),
        (None, {"api_key": "wrong-key-SECRET-42"}, "invalid_api_key"),
    ],
)
def test_bad_key_fails_then_closes(server, headers: dict | None, query: dict, code: str) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int | None]:
        async with connect(ws_url(server, **query), additional_headers=headers) as ws:
            return await recv_close(ws)

    events, close_code = run(scenario())
    assert [e["type"] for e in events] == [FAILED]
    error = events[0]["error"]
    assert error["code"] == code
    assert set(error) == {"message", "type", "param", "code"}
    assert "SECRET" not in str(events) and TEST_API_KEY not in str(events)
    assert close_code == 1008


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"model": "nobody/nothing"}, "model_not_available"),
        ({"model": KOKORO, "voice": "nobody"}, "voice_not_available"),
    ],
)
def test_unknown_model_or_voice_fails_then_closes(server, query: dict, code: str) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int | None]:
        async with ws_connect(server, **query) as ws:
            return await recv_close(ws)

    events, close_code = run(scenario())
    assert [e["type"] for e in events] == [FAILED]
    assert events[0]["error"]["code"] == code
    assert close_code == 1008


def test_bad_frames_fail_but_the_session_continues(server) -> None:
    async def scenario() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        async with ws_connect(server, alignment="word") as ws:
            await open_session(ws)
            await ws.send("{this is not json")
            events.append(await recv_json(ws))
            await ws.send("[1, 2, 3]")
            events.append(await recv_json(ws))
            await send_json(ws, type="no.such.message")
            events.append(await recv_json(ws))
            await send_json(ws, type=APPEND, text=42)
            events.append(await recv_json(ws))
            await send_json(ws, type=APPEND, text="Still here.")
            events.append(await recv_json(ws))
            events += await recv_item(ws)
        return events

    events = run(scenario())
    assert [e["type"] for e in events[:4]] == [FAILED] * 4
    assert [e["error"]["code"] for e in events[:3]] == [
        "invalid_json",
        "invalid_json",
        "unknown_message_type",
    ]
    assert events[3]["error"]["param"] == "text"
    assert spoken_words(events) == ["Still", "here"]


def test_text_over_max_input_chars_fails_in_band(make_server) -> None:
    small = make_server(max_input_chars=20)

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async with ws_connect(small, alignment="word") as ws:
            await open_session(ws)
            await send_json(ws, type=APPEND, text="This sentence is far too long for the limit.")
            await recv_json(ws)
            failed = await recv_json(ws)
            await send_json(ws, type=APPEND, text="Short one.")
            await recv_json(ws)
            return failed, await recv_item(ws)

    failed, item = run(scenario())
    assert failed["type"] == FAILED and failed["error"]["code"] == "input_too_long"
    assert spoken_words(item) == ["Short", "one"]


def test_audio_of_ws_and_rest_match_for_one_sentence(server) -> None:
    s16_rest = s16(
        speech(server, model=KOKORO, voice="am_adam", input="Exactly the same.", response_format="raw").content
    )
    ws_item = run(spoken_item(server, "Exactly the same.", model=KOKORO, voice="am_adam"))
    assert np.array_equal(s16(item_pcm(ws_item)), s16_rest)


def test_connections_count_against_the_rate_limit(make_server) -> None:
    srv = make_server(requests_per_minute=6, burst_requests=1)

    async def scenario() -> tuple[dict[str, Any], tuple[list[dict[str, Any]], int | None]]:
        async with ws_connect(srv) as first:
            created = await open_session(first)
            async with ws_connect(srv) as second:
                return created, await recv_close(second)

    created, (events, close_code) = run(scenario())
    assert created["type"] == "session.created"
    assert [e["type"] for e in events] == [FAILED]
    assert events[0]["error"]["code"] == "dynamic_request_limited"
    assert close_code == 1008
    assert srv.stats.count("/v1/audio/speech/websocket", 429) == 1


def test_the_short_fault_cuts_an_items_speech_and_words_and_a_repeat_comes_back_whole(make_server) -> None:
    """The quiet failure on the realtime endpoint too: the item is complete-looking (its deltas, its words, done) but
    holds only the first ``short_keep`` of the speech; with ``short_times=1`` the same text is whole the next time."""
    from voxbatch.server.faults import FaultSpec

    faulty = make_server(faults=FaultSpec(short=1.0, short_times=1, short_keep=0.4))
    text = "Nice to meet you, and welcome to the reading room."
    cut, whole = run(spoken_item(faulty, text, alignment="word")), run(spoken_item(faulty, text, alignment="word"))
    assert [e["type"] for e in cut][-2:] == [WORDS, DONE]  # it looks finished
    cut_s, whole_s = len(item_pcm(cut)) / 2 / 24000, len(item_pcm(whole)) / 2 / 24000
    assert cut_s == pytest.approx(0.4 * whole_s, abs=0.01)
    (cut_words,), (whole_words,) = of_type(cut, WORDS), of_type(whole, WORDS)
    assert 0 < len(cut_words["words"]) < len(whole_words["words"])
    assert max(cut_words["end_seconds"]) <= cut_s + 0.002
