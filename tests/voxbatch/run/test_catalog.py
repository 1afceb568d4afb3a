"""The provider's catalog: what a row's model, voice, rate and language are checked against, with catalog fixtures
(no server), and the embedded server's own catalog agreeing with the rules a remote catalog is completed by."""

from __future__ import annotations

import pytest

from voxbatch.client.models import native_sample_rate_hz, sample_rates_hz
from voxbatch.client.results import ListedModel, parse_models
from voxbatch.defaults import DEFAULT_VOICES
from voxbatch.run.catalog import (
    EMBEDDED_SOURCE,
    Catalog,
    choices,
    embedded_catalog,
    listed_catalog,
    tts_entry,
)

KOKORO = "hexgrad/Kokoro-82M"
CARTESIA = "cartesia/sonic-2"
RIME = "rime-labs/rime-mist-v2"
URL = "https://api.example.test/v1"

# A server's two lists, as GET /v1/voices and GET /v1/models answer them (parsed by the client).
LISTED_VOICES = {
    KOKORO: ["af_heart", "af_bella", "am_adam"],
    CARTESIA: ["newsman", "calm lady"],
    "acme/tts-1": ["alpha", "beta"],
}
LISTED_MODELS = parse_models(
    [
        {"id": KOKORO, "object": "model", "type": "audio"},
        {"id": "openai/whisper-large-v3", "object": "model", "type": "transcribe"},
        {"id": "meta-llama/Llama-3-8b", "object": "model", "type": "chat"},
    ]
)


@pytest.fixture
def remote() -> Catalog:
    return listed_catalog(URL, LISTED_VOICES, LISTED_MODELS)


def test_a_long_list_of_choices_is_shortened_to_its_first_ten() -> None:
    assert choices(["a", "b"]) == "a, b"
    assert choices([str(n) for n in range(10)]) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"
    assert choices([str(n) for n in range(54)]) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 … (44 more)"


def test_a_listed_catalog_takes_speech_models_from_voices_and_transcription_models_by_type(remote: Catalog) -> None:
    assert remote.tts is not None and set(remote.tts) == set(LISTED_VOICES)
    assert remote.stt == ("openai/whisper-large-v3",)
    kokoro, cartesia, acme = (remote.tts[m] for m in (KOKORO, CARTESIA, "acme/tts-1"))
    assert kokoro.default_voice == "af_heart" and kokoro.voice_mixes and not kokoro.any_voice
    assert (kokoro.native_rate_hz, kokoro.sample_rates_hz) == (24000, (24000,))
    assert cartesia.any_voice and cartesia.native_rate_hz == 44100 and 44100 in cartesia.sample_rates_hz
    assert cartesia.default_voice == "newsman"  # defaults.py's "friendly sidekick" is not listed: its first voice
    assert acme.native_rate_hz == 24000  # a model the rules do not know is asked at 24 kHz, as every book once was
    # A model list that types nothing (an OpenAI-style server) says nothing about transcription models.
    untyped = listed_catalog(URL, None, (ListedModel("whisper-1", None),))
    assert untyped.stt is None and untyped.tts is None and untyped.stt_problem("anything") is None


def test_a_bad_model_names_the_models_served(remote: Catalog) -> None:
    (problem,) = remote.tts_problems("acme/nope", "alpha", None, None)
    assert problem == (
        "model",
        f"'acme/nope' is not a text-to-speech model {URL} serves; choose one of: {KOKORO}, {CARTESIA}, acme/tts-1",
    )


def test_a_bad_voice_names_the_models_voices(remote: Catalog) -> None:
    assert remote.tts_problems(KOKORO, "af_heart", None, None) == []
    (problem,) = remote.tts_problems("acme/tts-1", "af_heart", None, None)
    assert problem == ("voice", "'af_heart' is not a voice of acme/tts-1; choose one of: alpha, beta")
    assert remote.tts_problems(CARTESIA, "a0e99841-438c-4a64-b679-ae501e7d6091", None, None) == []  # any voice id
    assert remote.tts_problems(KOKORO, "af_bella(2)+af_heart(1)", None, None) == []  # Kokoro mixes its voices
    (mix,) = remote.tts_problems(KOKORO, "af_bella+zz_nobody", None, None)
    assert mix[0] == "voice" and "mix part 'zz_nobody'" in mix[1] and "af_heart, af_bella, am_adam" in mix[1]
    (empty,) = remote.tts_problems(KOKORO, " ", None, None)
    assert empty == ("voice", "is empty; choose one of: af_heart, af_bella, am_adam")


def test_a_rate_the_model_does_not_answer_at_names_those_it_does(remote: Catalog) -> None:
    (problem,) = remote.tts_problems(KOKORO, "af_heart", 44100, None)
    assert problem == ("sample_rate", f"44100 Hz is not a rate {KOKORO} answers at; choose one of: 24000")
    assert remote.tts_problems(CARTESIA, "newsman", 44100, None) == []
    (odd,) = remote.tts_problems(CARTESIA, "newsman", 44000, None)
    assert odd[0] == "sample_rate" and "8000, 16000, 22050, 24000, 44100, 48000" in odd[1]


def test_languages_are_checked_by_shape_unless_the_server_lists_them(remote: Catalog) -> None:
    assert remote.language_problem("zh-hk") is None and remote.language_problem("EN") is None
    assert remote.language_problem("english") == (
        "'english' is not a language code (e.g. en, de, fr, or a locale such as zh-hk)"
    )
    embedded = embedded_catalog()
    assert embedded.language_problem("de") is None and embedded.language_problem("pt-br") is None
    problem = embedded.language_problem("xh")
    assert problem is not None and problem.startswith(f"'xh' is not a language {EMBEDDED_SOURCE} speaks")
    assert "choose one of: en, de, fr" in problem and "(5 more)" in problem
    assert embedded.tts_problems(KOKORO, "af_heart", None, "xh") == [("language", problem)]


def test_several_problems_of_one_row_are_all_named() -> None:
    problems = embedded_catalog().tts_problems(RIME, "af_heart", 96000, "xx")
    assert [column for column, _ in problems] == ["voice", "sample_rate", "language"]
    assert problems[0][1] == (
        f"'af_heart' is not a voice of {RIME}; choose one of: cove, lagoon, mari, moon, moraine, peak, summit, "
        "talon, thunder, tundra … (1 more)"
    )


def test_stt_models_the_server_does_not_serve_name_those_it_does() -> None:
    embedded = embedded_catalog()
    assert embedded.stt_problem("openai/whisper-large-v3") is None
    assert embedded.stt_problem("openai/whisper-large-v3-turbo") == (
        f"'openai/whisper-large-v3-turbo' is not a speech-to-text model {EMBEDDED_SOURCE} serves; "
        "choose one of: openai/whisper-large-v3, nvidia/parakeet-tdt-0.6b-v3"
    )


def test_the_embedded_catalog_agrees_with_the_rules_remote_catalogs_are_completed_by() -> None:
    embedded = embedded_catalog()
    assert embedded.tts is not None and embedded.stt is not None and embedded.languages is not None
    for model, entry in embedded.tts.items():
        ruled = tts_entry(model, entry.voices)
        assert entry.native_rate_hz == ruled.native_rate_hz == native_sample_rate_hz(model), model
        assert entry.sample_rates_hz == ruled.sample_rates_hz == sample_rates_hz(model), model
        assert (entry.any_voice, entry.voice_mixes) == (ruled.any_voice, ruled.voice_mixes), model
        assert entry.default_voice == ruled.default_voice == DEFAULT_VOICES[model], model
        assert not embedded.tts_problems(model, DEFAULT_VOICES[model], entry.native_rate_hz, "en"), model
    assert embedded.tts[CARTESIA].native_rate_hz == 44100 and embedded.tts[KOKORO].native_rate_hz == 24000


def test_a_catalog_survives_its_json_form(remote: Catalog) -> None:
    for catalog in (remote, embedded_catalog(), listed_catalog(URL, None, None)):
        again = Catalog.from_json(catalog.to_json())
        assert again.to_json() == catalog.to_json()
        assert again.source == catalog.source and again.stt == catalog.stt and again.languages == catalog.languages
        assert (again.tts is None) == (catalog.tts is None)
        if catalog.tts is not None and again.tts is not None:
            assert dict(again.tts) == dict(catalog.tts)
