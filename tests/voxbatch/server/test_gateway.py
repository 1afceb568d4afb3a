"""The gateway in front of ``/v1``: auth, request ids, and 404/405 in Together's error shape."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import TEST_API_KEY
from tests.voxbatch.server.tts_helpers import AUTH, KOKORO, assert_api_error, settled, speech

WRONG_KEY = "sk-wrong-SECRET-7f3a9c"


def post_speech(server, headers: dict[str, str] | None) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(
        f"{server.base_url}/audio/speech",
        headers=headers,
        timeout=30,
        json={"model": KOKORO, "voice": "af_heart", "input": "Hi.", "response_format": "raw"},
    )


def assert_key_not_echoed(resp: httpx.Response, *keys: str) -> None:
    everything = resp.text + " ".join(f"{k}: {v}" for k, v in resp.headers.items())
    for key in keys:
        assert key not in everything


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {TEST_API_KEY}"},
        {"X-Api-Key": TEST_API_KEY},
    ],
)
def test_missing_key_is_401(server, headers: dict[str, str] | None) -> None:
    resp = post_speech(server, headers)
    error = assert_api_error(resp, 401, code="missing_api_key")
    assert "Bearer" in error["message"]
    assert "x-request-id" in resp.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {WRONG_KEY}"},
        {"Authorization": f"Bearer {TEST_API_KEY}x"},
        {"Authorization": f"Bearer {TEST_API_KEY[:-1]}"},
    ],
)
def test_wrong_key_is_401_and_never_echoed(server, headers: dict[str, str]) -> None:
    resp = post_speech(server, headers)
    assert_api_error(resp, 401, code="invalid_api_key")
    assert_key_not_echoed(resp, WRONG_KEY, TEST_API_KEY[:-1], "SECRET")


def test_bearer_scheme_is_case_insensitive(server) -> None:
    assert post_speech(server, {"Authorization": f"bearer {TEST_API_KEY}"}).status_code == 200
    assert post_speech(server, {"Authorization": f"BEARER {TEST_API_KEY}"}).status_code == 200


def test_auth_is_checked_before_the_body(server) -> None:
    resp = httpx.post(f"{server.base_url}/audio/speech", content=b"{not json", timeout=30)
    assert_api_error(resp, 401, code="missing_api_key")


def test_keyless_server_accepts_any_or_no_key(make_server) -> None:
    open_server = make_server(api_key=None)
    assert post_speech(open_server, None).status_code == 200
    assert post_speech(open_server, {"Authorization": f"Bearer {WRONG_KEY}"}).status_code == 200


def test_every_answer_has_a_unique_request_id(server) -> None:
    answers = [
        post_speech(server, AUTH),  # 200
        speech(server, model=KOKORO, voice="nobody", input="Hi."),  # 400
        post_speech(server, None),  # 401
        httpx.get(f"{server.base_url}/no/such/thing", headers=AUTH, timeout=30),  # 404
        httpx.get(f"{server.base_url}/audio/speech", headers=AUTH, timeout=30),  # 405
    ]
    assert [r.status_code for r in answers] == [200, 400, 401, 404, 405]
    ids = [r.headers["x-request-id"] for r in answers]
    assert all(len(i) >= 16 for i in ids)
    assert len(set(ids)) == len(ids)


def test_request_id_matches_the_server_log(make_server) -> None:
    fresh = make_server()
    resp = post_speech(fresh, AUTH)
    settled(fresh, 1)
    (record,) = fresh.stats.requests("/v1/audio/speech")
    assert record.request_id == resp.headers["x-request-id"]


def test_unknown_path_is_404_in_togethers_shape(server) -> None:
    resp = httpx.get(f"{server.base_url}/audio/nothing", headers=AUTH, timeout=30)
    assert_api_error(resp, 404, code="not_found", type_="invalid_request_error")


def test_unknown_path_still_needs_the_key(server) -> None:
    assert_api_error(httpx.get(f"{server.base_url}/audio/nothing", timeout=30), 401)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/audio/speech"), ("DELETE", "/voices"), ("PUT", "/audio/transcriptions")]
)
def test_wrong_method_is_405_in_togethers_shape(server, method: str, path: str) -> None:
    resp = httpx.request(method, f"{server.base_url}{path}", headers=AUTH, timeout=30)
    assert_api_error(resp, 405, code="method_not_allowed")


def test_admin_routes_need_no_key(server) -> None:
    assert httpx.get(f"{server.origin}/_voxbatch/health", timeout=30).json() == {"ok": True}
    assert httpx.get(f"{server.origin}/_voxbatch/stats", timeout=30).status_code == 200
