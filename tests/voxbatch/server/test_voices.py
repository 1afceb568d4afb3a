"""``GET /v1/voices`` and ``GET /v1/models`` over a real socket."""

from __future__ import annotations

import httpx
import pytest

from tests.voxbatch.server.tts_helpers import KOKORO, ORPHEUS, assert_api_error, get, speech
from voxbatch.server.catalog import STT_MODELS, TTS_MODELS

ORPHEUS_VOICES = ["tara", "leah", "jess", "leo", "dan", "mia", "zac", "zoe"]


def test_voices_lists_every_tts_model_in_the_documented_shape(server) -> None:
    resp = get(server, "/v1/voices")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["object"] == "list"
    models = [entry["model"] for entry in body["data"]]
    assert sorted(models) == sorted(TTS_MODELS)
    for entry in body["data"]:
        assert set(entry) == {"model", "voices"}
        assert entry["voices"], entry["model"]
        for voice in entry["voices"]:
            assert set(voice) == {"id", "name"}
            assert isinstance(voice["id"], str) and voice["id"]
            assert isinstance(voice["name"], str) and voice["name"]
        assert len({v["id"] for v in entry["voices"]}) == len(entry["voices"])


def test_orpheus_and_kokoro_voice_names(server) -> None:
    data = {e["model"]: [v["name"] for v in e["voices"]] for e in get(server, "/v1/voices").json()["data"]}
    assert data[ORPHEUS] == ORPHEUS_VOICES
    assert len(data[KOKORO]) == 54
    assert {"af_heart", "bm_lewis", "jf_alpha", "zm_yunyang", "pm_santa"} <= set(data[KOKORO])


def test_model_filter_keeps_the_same_shape(server) -> None:
    resp = get(server, "/v1/voices", params={"model": ORPHEUS})
    assert resp.status_code == 200
    body = resp.json()
    assert body["object"] == "list"
    assert [e["model"] for e in body["data"]] == [ORPHEUS]
    assert [v["name"] for v in body["data"][0]["voices"]] == ORPHEUS_VOICES


def test_unknown_model_filter_is_404(server) -> None:
    resp = get(server, "/v1/voices", params={"model": "nobody/nothing"})
    assert_api_error(resp, 404, param="model", code="model_not_found")


def test_voices_need_the_key(server) -> None:
    assert_api_error(httpx.get(f"{server.base_url}/voices", timeout=30), 401, code="missing_api_key")


@pytest.mark.parametrize("model_id", sorted(TTS_MODELS))
def test_the_first_and_last_listed_voice_of_every_model_speak(server, model_id: str) -> None:
    entry = get(server, "/v1/voices", params={"model": model_id}).json()["data"][0]
    for voice in (entry["voices"][0]["name"], entry["voices"][-1]["name"]):
        resp = speech(server, model=model_id, voice=voice, input="Hi.", response_format="raw")
        assert resp.status_code == 200, resp.text
        assert len(resp.content) > 0


def test_models_lists_tts_and_stt_models(server) -> None:
    resp = get(server, "/v1/models")
    assert resp.status_code == 200
    models = {m["id"]: m for m in resp.json()}
    assert set(TTS_MODELS) | set(STT_MODELS) == set(models)
    assert models[KOKORO]["type"] == "audio"
    assert models["openai/whisper-large-v3"]["type"] == "transcribe"
    assert all(m["object"] == "model" and m["owned_by"] == m["id"].split("/")[0] for m in models.values())
