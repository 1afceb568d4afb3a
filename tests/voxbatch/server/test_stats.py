"""Server statistics: what was asked, answered and billed, over the wire and as a unit."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.voxbatch.server.tts_helpers import (
    AUTH,
    KOKORO,
    ORPHEUS,
    assert_api_error,
    recv_item,
    recv_json,
    run,
    send_json,
    settled,
    silence_server_errors,
    speech,
    ws_connect,
)
from voxbatch.server import speech as speech_module
from voxbatch.server.faults import FaultSpec
from voxbatch.server.stats import RequestRecord, ServerStats

SPEECH = "/v1/audio/speech"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def admin(server, path: str = "/_voxbatch/stats", **params: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.get(f"{server.origin}{path}", params=params, timeout=30)


def test_counters_per_endpoint_and_status(make_server) -> None:
    srv = make_server()
    speech(srv, model=KOKORO, voice="af_heart", input="One.", response_format="raw")
    speech(srv, model=KOKORO, voice="af_heart", input="Two.", response_format="raw")
    speech(srv, model=KOKORO, voice="nobody", input="Three.")
    httpx.get(f"{srv.base_url}/voices", timeout=30)  # 401
    httpx.get(f"{srv.base_url}/nothing", headers=AUTH, timeout=30)  # 404
    settled(srv, 5)
    snapshot = admin(srv).json()
    assert snapshot["total_requests"] == 5
    assert snapshot["endpoints"] == {
        SPEECH: {"200": 2, "400": 1},
        "/v1/voices": {"401": 1},
        "/v1/nothing": {"404": 1},
    }
    assert srv.stats.count(SPEECH) == 3
    assert srv.stats.count(SPEECH, 200) == 2
    assert srv.stats.count(status=401) == 1
    assert srv.stats.count() == 5
    assert [r.status for r in srv.stats.requests(SPEECH)] == [200, 200, 400]


def test_characters_are_billed_only_for_successful_speech(make_server) -> None:
    srv = make_server()
    speech(srv, model=KOKORO, voice="af_heart", input="Billed.", response_format="raw")  # 7
    speech(srv, model=KOKORO, voice="nobody", input="Not billed, bad voice.")  # 400
    httpx.post(
        f"{srv.base_url}/audio/speech",
        json={"model": KOKORO, "voice": "af_heart", "input": "No key."},
        timeout=30,
    )
    speech(srv, model=KOKORO, voice="af_heart", input="Streamed.", stream=True, response_format="raw")  # 9
    srv.set_faults(FaultSpec(p500=1.0))
    speech(srv, model=KOKORO, voice="af_heart", input="Injected failure.", response_format="raw")
    settled(srv, 5)
    assert srv.stats.snapshot()["characters_billed"] == len("Billed.") + len("Streamed.")
    billed = {r.input_sha256: r.characters for r in srv.stats.requests() if r.characters}
    assert billed == {sha("Billed."): 7, sha("Streamed."): 9}


def test_input_sha256_proves_which_texts_were_synthesized(make_server) -> None:
    srv = make_server()
    texts = ["Alpha.", "Beta gamma.", "Alpha."]
    for text in texts:
        speech(srv, model=ORPHEUS, voice="tara", input=text, response_format="raw")
    speech(srv, model=ORPHEUS, voice="nobody", input="Never synthesized.")
    settled(srv, 4)
    ok = srv.stats.requests(SPEECH, 200)
    assert [r.input_sha256 for r in ok] == [sha(t) for t in texts]
    assert all((r.model, r.voice) == (ORPHEUS, "tara") for r in ok)
    assert sha("Never synthesized.") not in {r.input_sha256 for r in srv.stats.requests()}
    assert srv.stats.requests(SPEECH, 400)[0].input_sha256 is None


def test_stats_endpoint_with_log(make_server) -> None:
    srv = make_server()
    resp = speech(srv, model=KOKORO, voice="af_bella", input="Logged.", response_format="raw")
    settled(srv, 1)
    plain = admin(srv).json()
    assert "requests" not in plain
    assert set(plain) >= {
        "since",
        "total_requests",
        "endpoints",
        "faults",
        "characters_billed",
        "audio_seconds_billed",
    }
    for flag in ("1", "true"):
        (entry,) = admin(srv, log=flag).json()["requests"]
        assert entry["request_id"] == resp.headers["x-request-id"]
        assert (entry["method"], entry["path"], entry["status"]) == ("POST", SPEECH, 200)
        assert (entry["model"], entry["voice"], entry["characters"]) == (KOKORO, "af_bella", 7)
        assert entry["input_sha256"] == sha("Logged.")
        assert entry["fault"] == "none"
        assert entry["at"] >= plain["since"]


def test_stats_endpoints_need_no_key_and_are_not_counted(make_server) -> None:
    srv = make_server()
    for _ in range(3):
        assert admin(srv).status_code == 200
        assert admin(srv, "/_voxbatch/health").status_code == 200
    assert admin(srv).json()["total_requests"] == 0
    assert srv.stats.count() == 0


def test_reset(make_server) -> None:
    srv = make_server()
    speech(srv, model=KOKORO, voice="af_heart", input="Before.", response_format="raw")
    settled(srv, 1)
    since = admin(srv).json()["since"]
    resp = httpx.post(f"{srv.origin}/_voxbatch/stats/reset", timeout=30)
    assert resp.json() == {"ok": True}
    snapshot = admin(srv, log="1").json()
    assert snapshot["total_requests"] == 0
    assert snapshot["characters_billed"] == 0
    assert snapshot["endpoints"] == {} and snapshot["requests"] == []
    assert snapshot["since"] >= since
    speech(srv, model=KOKORO, voice="af_heart", input="After.", response_format="raw")
    settled(srv, 1)
    assert srv.stats.snapshot()["characters_billed"] == len("After.")


def test_log_is_bounded_but_counters_are_not(make_server) -> None:
    srv = make_server(recent_requests_kept=3)
    for _ in range(5):
        httpx.get(f"{srv.base_url}/models", headers=AUTH, timeout=30)
    settled(srv, 5)
    assert srv.stats.count("/v1/models") == 5
    assert len(admin(srv, log="1").json()["requests"]) == 3


def test_websocket_session_is_logged_and_billed(make_server) -> None:
    srv = make_server()

    async def scenario() -> None:
        async with ws_connect(srv, model=ORPHEUS, voice="mia") as ws:
            await recv_json(ws)
            for text in ("First part.", "Second."):
                await send_json(ws, type="input_text_buffer.append", text=text)
                await recv_json(ws)
                await recv_item(ws)

    run(scenario())
    settled(srv, 1)
    (record,) = srv.stats.requests("/v1/audio/speech/websocket")
    assert (record.method, record.status, record.model, record.voice) == ("WS", 101, ORPHEUS, "mia")
    assert record.characters == len("First part.") + len("Second.")


def test_websocket_auth_failure_is_logged_unbilled(make_server) -> None:
    srv = make_server()

    async def scenario() -> None:
        async with ws_connect(srv, auth=False) as ws:
            await recv_json(ws)

    run(scenario())
    settled(srv, 1)
    (record,) = srv.stats.requests("/v1/audio/speech/websocket")
    assert record.status == 401
    assert record.characters == 0


def test_internal_errors_are_counted(make_server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler crash is answered with a 500 and must show up in the counters like any other answer."""
    silence_server_errors(monkeypatch)

    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("synthesizer exploded")

    monkeypatch.setattr(speech_module, "render_piece", crash)
    srv = make_server()
    resp = speech(srv, model=KOKORO, voice="af_heart", input="Hi.", response_format="raw")
    assert_api_error(resp, 500, code="processing_failed", type_="server_error")
    settled(srv, 1, timeout_s=1.0)
    assert srv.stats.count(SPEECH, 500) == 1


# --- ServerStats as a unit ----------------------------------------------------------------------------


def record(path: str, status: int, **kwargs: object) -> RequestRecord:
    return RequestRecord(at=0.0, method="POST", path=path, status=status, request_id="r", **kwargs)  # type: ignore[arg-type]


def test_server_stats_unit() -> None:
    stats = ServerStats(keep=2)
    stats.record(record("/a", 200, characters=5))
    stats.record(record("/a", 429, fault="429"))
    stats.record(record("/b", 200, audio_seconds=1.23456))
    snapshot = stats.snapshot(include_log=True)
    assert snapshot["endpoints"] == {"/a": {"200": 1, "429": 1}, "/b": {"200": 1}}
    assert snapshot["faults"] == {"429": 1}
    assert snapshot["characters_billed"] == 5
    assert snapshot["audio_seconds_billed"] == 1.235
    assert [r["path"] for r in snapshot["requests"]] == ["/a", "/b"]
    assert stats.count("/a") == 2 and stats.count(status=200) == 2
    stats.reset()
    assert stats.count() == 0 and stats.requests() == []


def test_work_in_progress_its_peak_and_its_work_seconds_on_a_fake_clock() -> None:
    now = [100.0]
    stats = ServerStats(clock=lambda: now[0])
    path = "/v1/audio/transcriptions"
    stats.work_started(path)
    now[0] += 2.0  # one decode for 2 s
    stats.work_started(path)
    now[0] += 3.0  # two at once for 3 s
    stats.work_ended(path, cancelled=False)
    assert (stats.in_progress(path), stats.peak_in_progress(path), stats.work_s(path)) == (1, 2, 2.0 + 2 * 3.0)
    now[0] += 1.0  # the one left runs on, counted while it runs
    assert stats.work_s() == 9.0 and stats.snapshot()["peak_in_progress"] == {path: 2}
    stats.reset()
    assert (stats.peak_in_progress(path), stats.work_s(path)) == (1, 0.0)  # since the reset: the one still running
    now[0] += 0.5
    stats.work_ended(path, cancelled=False)
    assert (stats.in_progress(), stats.peak_in_progress(path), stats.work_s(path)) == (0, 1, 0.5)
    assert stats.peak_in_progress("/v1/audio/speech") == 0


def test_a_request_is_counted_before_its_answer_arrives(make_server) -> None:
    srv = make_server()
    body = {"model": KOKORO, "voice": "af_heart", "input": "Counted."}
    answers = [
        lambda: httpx.post(f"{srv.base_url}/audio/speech", json=body, headers=AUTH),
        lambda: httpx.post(f"{srv.base_url}/audio/speech", json={**body, "voice": "nobody"}, headers=AUTH),
        lambda: httpx.get(f"{srv.base_url}/voices"),
        lambda: httpx.post(
            f"{srv.base_url}/audio/speech", json={**body, "stream": True, "response_format": "raw"}, headers=AUTH
        ),
    ]
    for n, call in enumerate(answers * 3, start=1):
        assert call().status_code in (200, 400, 401)
        assert srv.stats.count() == n  # no waiting: the count is there when the last byte is
