"""Fault injection: parsing, reproducible draws, and every fault kind as a client sees it on the wire."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed

from tests.voxbatch.server.tts_helpers import (
    AUTH,
    KOKORO,
    assert_api_error,
    b64_pcm,
    recv_json,
    run,
    s16,
    send_json,
    settled,
    sse_data,
    sse_events,
    ws_connect,
)
from voxbatch.server.faults import FaultInjector, FaultSpec, FaultSpecError

LONG_TEXT = "This sentence is long enough to need several audio chunks when it is spoken."
MIXED = FaultSpec(seed=7, p429=0.15, p500=0.15, p503=0.15, drop=0.1, cut=0.1)

# --- FaultSpec.parse --------------------------------------------------------------------------------


def test_parse_full_spec() -> None:
    spec = FaultSpec.parse("seed=7,p429=0.1,p500=0.05,p503=0.05,drop=0.02,cut=0.1,latency_ms=200,ttfb_ms=50")
    assert spec == FaultSpec(seed=7, p429=0.1, p500=0.05, p503=0.05, drop=0.02, cut=0.1, latency_ms=200, ttfb_ms=50)
    assert isinstance(spec.seed, int)
    assert spec.active


@pytest.mark.parametrize("text", ["", "  ", ",", " , ,"])
def test_parse_empty_means_no_faults(text: str) -> None:
    spec = FaultSpec.parse(text)
    assert spec == FaultSpec()
    assert not spec.active


def test_parse_tolerates_spaces_and_sets_retry_after() -> None:
    spec = FaultSpec.parse(" seed = 3 , p429 = 0.5 ,, retry_after_s=2.5 ")
    assert (spec.seed, spec.p429, spec.retry_after_s) == (3, 0.5, 2.5)


@pytest.mark.parametrize("spec", [FaultSpec(latency_ms=1), FaultSpec(ttfb_ms=1), FaultSpec(cut=0.1)])
def test_delays_and_probabilities_make_a_spec_active(spec: FaultSpec) -> None:
    assert spec.active


@pytest.mark.parametrize(
    "text",
    [
        "p429",
        "bogus=1",
        "p429=abc",
        "seed=1.5",
        "seed=",
        "p429=1.5",
        "p429=-0.1",
        "p429=0.6,p500=0.6",
        "drop=0.5,cut=0.3,p503=0.3",
        "latency_ms=-1",
        "ttfb_ms=-5",
        "retry_after_s=-1",
        "=0.1",
    ],
)
def test_parse_rejects_bad_items(text: str) -> None:
    with pytest.raises(FaultSpecError):
        FaultSpec.parse(text)


def test_fault_spec_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="known keys"):
        FaultSpec.parse("nope=1")


@pytest.mark.parametrize("text", ["p429=nan", "latency_ms=nan"])
def test_parse_rejects_nan(text: str) -> None:
    with pytest.raises(FaultSpecError):
        FaultSpec.parse(text)


# --- FaultInjector ------------------------------------------------------------------------------------


def draws(spec: FaultSpec, n: int) -> list[str]:
    injector = FaultInjector(spec)
    return [injector.draw() for _ in range(n)]


def test_no_probabilities_never_fault() -> None:
    assert set(draws(FaultSpec(seed=1, latency_ms=10), 100)) == {"none"}


@pytest.mark.parametrize("kind", ["429", "500", "503", "drop", "cut"])
def test_certain_fault_always_fires(kind: str) -> None:
    field = {"429": "p429", "500": "p500", "503": "p503"}.get(kind, kind)
    assert set(draws(FaultSpec(**{field: 1.0}), 50)) == {kind}


def test_draws_follow_the_probabilities() -> None:
    counts = Counter(draws(FaultSpec(seed=5, p429=0.2, p500=0.1, cut=0.3), 4000))
    assert counts["429"] / 4000 == pytest.approx(0.2, abs=0.03)
    assert counts["500"] / 4000 == pytest.approx(0.1, abs=0.03)
    assert counts["cut"] / 4000 == pytest.approx(0.3, abs=0.03)
    assert counts["none"] / 4000 == pytest.approx(0.4, abs=0.03)


def test_same_seed_same_draws_and_configure_restarts() -> None:
    assert draws(MIXED, 200) == draws(MIXED, 200)
    injector = FaultInjector(MIXED)
    first = [injector.draw() for _ in range(20)]
    injector.configure(MIXED)
    assert [injector.draw() for _ in range(20)] == first


def test_a_429_storm_turns_away_the_next_requests_too() -> None:
    spec = FaultSpec.parse("seed=3,p429=0.05,p500=0.1,storm429=6")
    assert spec.storm429 == 6 and isinstance(spec.storm429, int)
    seq = draws(spec, 2000)
    runs = [len(m) for m in "".join("x" if d == "429" else "." for d in seq).split(".") if m]
    assert runs and all(r % 6 == 0 for r in runs)  # every storm is whole (storms may follow each other)
    assert Counter(seq)["500"] > 0
    alone = draws(FaultSpec(seed=3, p429=0.05, p500=0.1), 2000)
    assert Counter(alone)["429"] < Counter(seq)["429"]


@pytest.mark.parametrize("text", ["storm429=0", "storm429=1.5"])
def test_parse_rejects_a_bad_storm(text: str) -> None:
    with pytest.raises(FaultSpecError):
        FaultSpec.parse(text)


# --- over a real socket -------------------------------------------------------------------------------


def outcome(client: httpx.Client, url: str) -> str:
    """What a client sees: the status, "drop" (no answer at all) or "cut" (answer broken off)."""
    try:
        with client.stream("GET", url) as resp:
            status = resp.status_code
            try:
                resp.read()
            except httpx.RemoteProtocolError:
                return "cut"
            return str(status)
    except httpx.RemoteProtocolError:
        return "drop"


def sequence(server, spec: FaultSpec, n: int = 30) -> list[str]:  # type: ignore[no-untyped-def]
    server.set_faults(spec)
    with httpx.Client(headers=AUTH, timeout=30) as client:
        return [outcome(client, f"{server.base_url}/models") for _ in range(n)]


def test_same_seed_same_sequence_over_sockets(make_server) -> None:
    faulty = make_server()
    first = sequence(faulty, MIXED)
    second = sequence(faulty, MIXED)
    assert first == second
    assert len(set(first)) >= 4  # the mix really shows up
    expected = ["200" if d == "none" else d for d in draws(MIXED, 30)]
    assert first == expected
    other_seed = sequence(faulty, FaultSpec(**{**MIXED.__dict__, "seed": 8}))
    assert other_seed != first


def test_injected_429_has_retry_headers(make_server) -> None:
    faulty = make_server(faults=FaultSpec(p429=1.0, retry_after_s=2.0))
    resp = httpx.get(f"{faulty.base_url}/models", headers=AUTH, timeout=30)
    assert_api_error(resp, 429, code="dynamic_request_limited", type_="rate_limit_exceeded")
    assert resp.headers["retry-after"] == "2"
    assert resp.headers["retry-after-ms"] == "2000"
    assert resp.headers["x-ratelimit-remaining"] == "0"
    assert float(resp.headers["x-ratelimit-reset"]) == pytest.approx(2.0)
    assert resp.headers["x-request-id"]
    assert "x-ratelimit-limit" not in resp.headers  # the server has no rate limit: it states none (never "0")


def test_injected_429_states_the_servers_rate_limit(make_server) -> None:
    faulty = make_server(requests_per_minute=6000, faults=FaultSpec(p429=1.0, retry_after_s=0.5))
    resp = httpx.get(f"{faulty.base_url}/models", headers=AUTH, timeout=30)
    assert resp.status_code == 429 and resp.headers["x-ratelimit-limit"] == "6000"


def test_a_429_storm_over_sockets_asks_for_sub_second_waits(make_server) -> None:
    spec = FaultSpec(seed=2, p429=0.2, storm429=4, retry_after_s=0.05)
    faulty = make_server(faults=spec)
    with httpx.Client(headers=AUTH, timeout=30) as client:
        answers = [client.get(f"{faulty.base_url}/models") for _ in range(30)]
    assert [str(a.status_code) for a in answers] == ["200" if d == "none" else d for d in draws(spec, 30)]
    assert "429,429,429,429" in ",".join(str(a.status_code) for a in answers)
    assert {a.headers["retry-after-ms"] for a in answers if a.status_code == 429} == {"50"}


def test_injected_429_retry_after_rounds_up(make_server) -> None:
    faulty = make_server(faults=FaultSpec(p429=1.0, retry_after_s=1.4))
    resp = httpx.get(f"{faulty.base_url}/models", headers=AUTH, timeout=30)
    assert resp.headers["retry-after-ms"] == "1400"
    assert int(resp.headers["retry-after"]) * 1000 >= int(resp.headers["retry-after-ms"])


@pytest.mark.parametrize(
    ("field", "status", "code", "type_"),
    [("p500", 500, "processing_failed", "server_error"), ("p503", 503, "engine_overloaded", "server_error")],
)
def test_injected_server_errors(make_server, field: str, status: int, code: str, type_: str) -> None:
    faulty = make_server(faults=FaultSpec(**{field: 1.0}))
    resp = httpx.post(
        f"{faulty.base_url}/audio/speech",
        headers=AUTH,
        timeout=30,
        json={"model": KOKORO, "voice": "af_heart", "input": "Hi."},
    )
    assert_api_error(resp, status, code=code, type_=type_)


def test_drop_closes_without_any_response(make_server) -> None:
    faulty = make_server(faults=FaultSpec(drop=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{faulty.base_url}/models", headers=AUTH, timeout=30)
    settled(faulty, 1)
    assert faulty.stats.requests("/v1/models")[0].status == 0


def test_cut_breaks_off_a_rest_body(make_server) -> None:
    faulty = make_server(faults=FaultSpec(cut=1.0))
    received = b""
    with (
        httpx.Client(headers=AUTH, timeout=30) as client,
        client.stream(
            "POST",
            f"{faulty.base_url}/audio/speech",
            json={"model": KOKORO, "voice": "af_heart", "input": "Hi.", "response_format": "raw"},
        ) as resp,
    ):
        assert resp.status_code == 200
        expected = int(resp.headers["content-length"])
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in resp.iter_raw():
                received += chunk
    assert 0 < len(received) < expected


def test_cut_never_breaks_error_answers(make_server) -> None:
    faulty = make_server(faults=FaultSpec(cut=1.0))
    resp = httpx.post(
        f"{faulty.base_url}/audio/speech",
        headers=AUTH,
        timeout=30,
        json={"model": KOKORO, "voice": "nobody", "input": "Hi."},
    )
    assert_api_error(resp, 400, param="voice")


def test_cut_breaks_off_an_sse_stream_before_done(make_server) -> None:
    faulty = make_server(faults=FaultSpec(cut=1.0))
    text = ""
    body = {
        "model": KOKORO,
        "voice": "af_heart",
        "input": LONG_TEXT,
        "stream": True,
        "response_format": "raw",
    }
    with (
        httpx.Client(headers=AUTH, timeout=30) as client,
        client.stream("POST", f"{faulty.base_url}/audio/speech", json=body) as resp,
    ):
        assert resp.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in resp.iter_text():
                text += chunk
    payloads = sse_data(text)
    assert "[DONE]" not in payloads
    assert len(payloads) >= 1


def test_cut_breaks_off_a_websocket_after_the_first_delta(make_server) -> None:
    faulty = make_server(faults=FaultSpec(cut=1.0))

    async def scenario() -> tuple[list[str], int | None]:
        kinds: list[str] = []
        async with ws_connect(faulty) as ws:
            kinds.append((await recv_json(ws))["type"])
            await send_json(ws, type="input_text_buffer.append", text=LONG_TEXT)
            try:
                while True:
                    kinds.append((await recv_json(ws))["type"])
            except ConnectionClosed:
                return kinds, ws.close_code

    kinds, close_code = run(scenario())
    assert kinds == [
        "session.created",
        "conversation.item.input_text.received",
        "conversation.item.audio_output.delta",
    ]
    assert close_code == 1011


def test_ttfb_delays_the_answer(make_server) -> None:
    faulty = make_server(faults=FaultSpec(ttfb_ms=300))
    with httpx.Client(headers=AUTH, timeout=30) as client:
        started = time.monotonic()
        with client.stream("GET", f"{faulty.base_url}/models") as resp:
            first_byte = time.monotonic() - started
            resp.read()
    assert resp.status_code == 200
    assert first_byte >= 0.3


def test_latency_delays_the_answer(make_server) -> None:
    faulty = make_server(faults=FaultSpec(latency_ms=300))
    started = time.monotonic()
    resp = httpx.post(
        f"{faulty.base_url}/audio/speech",
        headers=AUTH,
        timeout=30,
        json={"model": KOKORO, "voice": "af_heart", "input": "Hi.", "response_format": "raw"},
    )
    assert resp.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_faults_can_be_switched_off_while_running(make_server) -> None:
    faulty = make_server(faults=FaultSpec(p500=1.0))
    assert httpx.get(f"{faulty.base_url}/models", headers=AUTH, timeout=30).status_code == 500
    faulty.set_faults("")
    assert httpx.get(f"{faulty.base_url}/models", headers=AUTH, timeout=30).status_code == 200
    faulty.set_faults("p503=1")
    assert httpx.get(f"{faulty.base_url}/models", headers=AUTH, timeout=30).status_code == 503


def test_stats_count_faults(make_server) -> None:
    faulty = make_server()
    outcomes = sequence(faulty, MIXED)
    settled(faulty, 30)
    snapshot = faulty.stats.snapshot()
    expected = Counter(d for d in draws(MIXED, 30) if d != "none")
    assert snapshot["faults"] == dict(expected)
    for kind, status in (("429", 429), ("500", 500), ("503", 503)):
        assert faulty.stats.count("/v1/models", status) == expected[kind]
    records = faulty.stats.requests("/v1/models")
    assert [r.fault for r in records] == draws(MIXED, 30)
    assert outcomes.count("200") == faulty.stats.count("/v1/models", 200) - expected["cut"]


def test_admin_routes_are_never_faulted(make_server) -> None:
    faulty = make_server(faults=FaultSpec(drop=1.0))
    assert httpx.get(f"{faulty.origin}/_voxbatch/health", timeout=30).status_code == 200
    assert httpx.get(f"{faulty.origin}/_voxbatch/stats", timeout=30).json()["total_requests"] == 0


# --- the quiet fault: a complete-looking answer with only part of the speech ----------------------


def test_short_is_parsed_drawn_and_limited_per_input() -> None:
    spec = FaultSpec.parse("short=1,short_keep=0.3,short_times=1")
    assert (spec.short, spec.short_keep, spec.short_times) == (1.0, 0.3, 1) and spec.active
    assert set(draws(spec, 20)) == {"short"}
    injector = FaultInjector(spec)
    assert [injector.cuts_short("a"), injector.cuts_short("a"), injector.cuts_short("b")] == [True, False, True]
    every_time = FaultInjector(FaultSpec(short=1.0))
    assert all(every_time.cuts_short("a") for _ in range(5))
    for bad in ("short_keep=0", "short_keep=1", "short_times=-1", "short=0.6,cut=0.6"):
        with pytest.raises(FaultSpecError):
            FaultSpec.parse(bad)


def test_a_short_answer_is_well_formed_and_holds_the_first_part_of_the_speech(make_server) -> None:
    whole = speech_body(make_server(), LONG_TEXT)
    faulty = make_server(faults=FaultSpec(short=1.0, short_keep=0.4, short_times=1))
    cut = speech_body(faulty, LONG_TEXT)
    assert cut.status_code == 200 and cut.headers["content-type"] == whole.headers["content-type"]
    assert int(cut.headers["content-length"]) == len(cut.content)  # complete-looking: every byte it announced
    whole_pcm, cut_pcm = s16(whole.content), s16(cut.content)
    assert len(cut_pcm) == pytest.approx(0.4 * len(whole_pcm), abs=2)
    assert np.array_equal(cut_pcm, whole_pcm[: len(cut_pcm)])  # the first part, not another reading
    assert speech_body(faulty, LONG_TEXT).content == whole.content  # short_times=1: the repeat comes whole
    settled(faulty, 2)
    assert [r.fault for r in faulty.stats.requests("/v1/audio/speech")] == ["short", "short"]


def test_a_short_stream_ends_properly_with_the_words_it_holds(make_server) -> None:
    faulty = make_server(faults=FaultSpec(short=1.0, short_keep=0.5))
    body = {"model": KOKORO, "voice": "af_heart", "input": LONG_TEXT, "stream": True, "alignment": "word"}
    resp = httpx.post(f"{faulty.base_url}/audio/speech", json={**body, "response_format": "raw"}, headers=AUTH)
    events, done = sse_events(resp.text)
    assert resp.status_code == 200 and done
    words = [e for e in events if e.get("type") == "conversation.item.word_timestamps"]
    spoken = words[0]["words"]
    assert 0 < len(spoken) < len(LONG_TEXT.split())
    audio_s = len(b64_pcm([e for e in events if "delta" in e])) / 2 / 24000
    assert max(words[0]["end_seconds"]) <= audio_s + 1e-3


def speech_body(server, text: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(
        f"{server.base_url}/audio/speech",
        headers=AUTH,
        timeout=30,
        json={"model": KOKORO, "voice": "af_heart", "input": text, "response_format": "raw"},
    )
