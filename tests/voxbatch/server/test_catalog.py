"""The model/voice catalog against the API spec (together-audio-api.md sections 4 and 6)."""

from __future__ import annotations

import uuid

import pytest

from tests.voxbatch.server.tts_helpers import KOKORO, ORPHEUS, SONIC, assert_api_error, speech
from voxbatch.engines.espeak import default_engine
from voxbatch.server.catalog import (
    DEFAULT_SAMPLE_RATE_HZ,
    TTS_MODELS,
    UnknownVoiceError,
    resolve_voice,
)

# Spec section 4, copied by hand (not from the catalog) so the test is an independent check.
_RIME_MIST = "cove lagoon mari moon moraine peak summit talon thunder tundra wildflower".split()
_RIME_ARCANA = (
    "albion arcade astra atrium bond cupola eliphas estelle eucalyptus fern lintel luna lyra marlu "
    "masonry moss oculus parapet pilaster sirius stucco transom truss vashti vespera walnut"
).split()
_CARTESIA = ["friendly sidekick", "laidback woman", "reading lady", "newsman", "calm lady"]
SPEC_VOICES: dict[str, list[str]] = {
    "canopylabs/orpheus-3b-0.1-ft": ["tara", "leah", "jess", "leo", "dan", "mia", "zac", "zoe"],
    "hexgrad/Kokoro-82M": (
        "af_heart af_alloy af_aoede af_bella af_jessica af_kore af_nicole af_nova af_river af_sarah af_sky "
        "am_adam am_echo am_eric am_fenrir am_liam am_michael am_onyx am_puck am_santa "
        "bf_alice bf_emma bf_isabella bf_lily bm_daniel bm_fable bm_george bm_lewis "
        "jf_alpha jf_gongitsune jf_nezumi jf_tebukuro jm_kumo "
        "zf_xiaobei zf_xiaoni zf_xiaoxiao zf_xiaoyi zm_yunjian zm_yunxi zm_yunxia zm_yunyang "
        "ef_dora em_alex em_santa ff_siwis hf_alpha hf_beta hm_omega hm_psi if_sara im_nicola pf_dora "
        "pm_alex pm_santa"
    ).split(),
    "cartesia/sonic-2": _CARTESIA,
    "cartesia/sonic-3": _CARTESIA,
    "cartesia/sonic": _CARTESIA,
    "rime-labs/rime-mist-v2": _RIME_MIST,
    "rime-labs/rime-mist-v3": _RIME_MIST,
    "rime-labs/rime-arcana-v2": _RIME_ARCANA,
    "rime-labs/rime-arcana-v3": _RIME_ARCANA,
    "rime-labs/rime-arcana-v3-turbo": _RIME_ARCANA,
    "minimax/speech-2.6-turbo": [
        "English_DeterminedMan",
        "English_Diligent_Man",
        "English_expressive_narrator",
        "English_FriendlyNeighbor",
        "English_Graceful_Lady",
        "Japanese_GentleButler",
    ],
    "minimax/speech-2.8-turbo": [
        "English_CalmWoman",
        "English_CaptivatingStoryteller",
        "English_CharmingQueen",
        "English_Comedian",
        "English_ConfidentWoman",
        "English_Cute_Girl",
    ],
}

# Spec section 6, TTS rows. Deepgram Aura 2 is listed there (dedicated only) but section 4 names no voices.
SPEC_TTS_MODELS = [
    *SPEC_VOICES,
    pytest.param("deepgram/deepgram-aura-2"),
]


@pytest.mark.parametrize("model_id", SPEC_TTS_MODELS)
def test_every_spec_tts_model_is_offered(model_id: str) -> None:
    assert model_id in TTS_MODELS


@pytest.mark.parametrize("model_id", sorted(SPEC_VOICES))
def test_documented_voices_are_offered(model_id: str) -> None:
    model = TTS_MODELS[model_id]
    assert set(SPEC_VOICES[model_id]) <= set(model.voices)
    for voice in SPEC_VOICES[model_id]:
        resolve_voice(model, voice)
    if model_id in (ORPHEUS, KOKORO) or model_id.startswith(("rime", "minimax")):
        assert list(model.voices) == SPEC_VOICES[model_id]  # the whole documented list, nothing invented


@pytest.mark.parametrize("model_id", sorted(TTS_MODELS))
def test_voices_of_one_model_map_to_distinct_espeak_voices(model_id: str) -> None:
    model = TTS_MODELS[model_id]
    espeak = [resolve_voice(model, v) for v in model.voices]
    assert len(set(espeak)) == len(model.voices)
    assert model.default_voice in model.voices


def test_every_espeak_voice_is_usable() -> None:
    """Each mapped (language, variant) is one espeak-ng knows (checked without synthesizing anything)."""
    engine = default_engine()
    for model in TTS_MODELS.values():
        for voice in model.voices:
            assert len(engine.synthesize("", resolve_voice(model, voice)).pcm) == 0


def test_kokoro_voice_languages_follow_the_prefix() -> None:
    kokoro = TTS_MODELS[KOKORO]
    languages = {
        v: resolve_voice(kokoro, v).language
        for v in ("af_heart", "bf_emma", "jf_alpha", "zm_yunxi", "ff_siwis", "pm_alex", "hf_beta", "if_sara")
    }
    assert languages == {
        "af_heart": "en-us",
        "bf_emma": "en-gb-x-rp",
        "jf_alpha": "ja",
        "zm_yunxi": "cmn",
        "ff_siwis": "fr-fr",
        "pm_alex": "pt-br",
        "hf_beta": "hi",
        "if_sara": "it",
    }


@pytest.mark.parametrize(
    ("mix", "speaks_as"),
    [
        ("af_bella+af_heart", "af_bella"),
        ("af_bella(2)+af_heart(1)", "af_bella"),
        ("af_bella(1)+af_heart(2)", "af_heart"),
        ("af_bella(0.3) + af_heart(0.7)", "af_heart"),
        ("af_sky+am_adam(1.5)+bf_emma", "am_adam"),
    ],
)
def test_kokoro_mixes_are_accepted(mix: str, speaks_as: str) -> None:
    kokoro = TTS_MODELS[KOKORO]
    assert resolve_voice(kokoro, mix) == resolve_voice(kokoro, speaks_as)


@pytest.mark.parametrize(
    "mix",
    [
        "af_bella+nobody",
        "af_bella+",
        "+af_heart",
        "af_bella(x)+af_heart",
        "af_bella(2+af_heart",
        "af_bella++af_heart",
    ],
)
def test_kokoro_mix_with_a_bad_part_is_rejected(mix: str) -> None:
    with pytest.raises(UnknownVoiceError, match="mix part"):
        resolve_voice(TTS_MODELS[KOKORO], mix)


def test_mixes_are_kokoro_only() -> None:
    with pytest.raises(UnknownVoiceError):
        resolve_voice(TTS_MODELS[ORPHEUS], "tara+leah")


@pytest.mark.parametrize("voice", ["", "   ", "TARA", "nobody"])
def test_unknown_voice_is_rejected_with_examples(voice: str) -> None:
    with pytest.raises(UnknownVoiceError) as info:
        resolve_voice(TTS_MODELS[ORPHEUS], voice)
    if voice.strip():
        assert "tara" in str(info.value)


def test_cartesia_accepts_arbitrary_voice_ids() -> None:
    sonic = TTS_MODELS[SONIC]
    ids = [str(uuid.UUID(int=i)) for i in range(1, 30)]
    voices = [resolve_voice(sonic, i) for i in ids]
    assert voices == [resolve_voice(sonic, i) for i in ids]  # stable
    assert len(set(voices)) > 20  # and spread out
    engine = default_engine()
    for voice in voices:
        engine.synthesize("", voice)  # every hashed voice is a valid espeak voice


def test_cartesia_voice_id_over_rest(server) -> None:
    voice_id = "a0e99841-438c-4a64-b679-ae501e7d6091"
    first = speech(server, model=SONIC, voice=voice_id, input="Hi.", response_format="raw")
    second = speech(server, model=SONIC, voice=str(uuid.uuid4()), input="Hi.", response_format="raw")
    assert first.status_code == second.status_code == 200
    assert first.content == speech(server, model=SONIC, voice=voice_id, input="Hi.", response_format="raw").content


def test_bad_mix_over_rest_is_400(server) -> None:
    resp = speech(server, model=KOKORO, voice="af_bella(2)+nobody(1)", input="Hi.")
    error = assert_api_error(resp, 400, param="voice", code="voice_not_available")
    assert "nobody" in error["message"]


def test_output_rules_per_model() -> None:
    assert TTS_MODELS[ORPHEUS].fixed_sample_rate_hz == TTS_MODELS[KOKORO].fixed_sample_rate_hz == 24000
    assert TTS_MODELS[ORPHEUS].fixed_s16le and TTS_MODELS[KOKORO].fixed_s16le
    assert TTS_MODELS["minimax/speech-2.8-turbo"].fixed_s16le
    assert TTS_MODELS["minimax/speech-2.8-turbo"].fixed_sample_rate_hz is None
    assert TTS_MODELS[SONIC].default_sample_rate_hz == DEFAULT_SAMPLE_RATE_HZ == 44100
    assert not TTS_MODELS[SONIC].fixed_s16le
    assert TTS_MODELS[SONIC].any_voice and not TTS_MODELS[ORPHEUS].any_voice
    assert TTS_MODELS[KOKORO].allows_voice_mixes and not TTS_MODELS[ORPHEUS].allows_voice_mixes
