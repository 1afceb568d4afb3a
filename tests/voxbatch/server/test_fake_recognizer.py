"""The stand-in recognizer: what it hears is a pure function of the samples, the same in any chunk that holds a
word whole, deaf to room noise, and what a ``recognizer="fake"`` server answers (without the real recognizer)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from voxbatch.audio.ffmpeg import decode_to_pcm
from voxbatch.audio.pcm import to_wav
from voxbatch.server import fake_recognizer, recognizer
from voxbatch.server.fake_recognizer import ENERGY_WINDOW_S, recognize_stand_in
from voxbatch.server.runner import LocalServer

RATE_HZ = 16000
ROOM_NOISE_STD = 30  # about -61 dBFS


@pytest.fixture(scope="module")
def speech(jfk_flac: bytes) -> npt.NDArray[np.int16]:
    return decode_to_pcm(jfk_flac, RATE_HZ)


def _heard(pcm: npt.NDArray[np.int16], offset_s: float = 0.0) -> list[tuple[str, float, float]]:
    return [(w.word, w.start_s + offset_s, w.end_s + offset_s) for w in recognize_stand_in(pcm, RATE_HZ).words]


def test_speech_is_heard_as_made_up_words_with_true_times(speech: npt.NDArray[np.int16]) -> None:
    recognition = recognize_stand_in(speech, RATE_HZ)
    words = recognition.words
    assert recognition.duration_s == len(speech) / RATE_HZ
    assert 10 <= len(words) <= 30  # jfk.flac says 22 words; a stretch without a pause is one
    assert all(re.fullmatch(r"[a-z]+", w.word) for w in words)
    assert all(0 <= w.start_s < w.end_s <= recognition.duration_s for w in words)
    assert all(a.end_s < b.start_s for a, b in itertools.pairwise(words))
    assert [w for s in recognition.segments for w in s.words] == list(words)
    assert all(s.text == " ".join(w.word for w in s.words) for s in recognition.segments)
    assert all((s.start_s, s.end_s) == (s.words[0].start_s, s.words[-1].end_s) for s in recognition.segments)
    assert recognition.text == " ".join(w.word for w in words)
    assert _heard(speech) == _heard(speech.copy())  # a pure function of the samples


def test_silence_and_room_noise_are_not_heard() -> None:
    rng = np.random.default_rng(3)
    assert recognize_stand_in(np.zeros(RATE_HZ * 5, dtype=np.int16), RATE_HZ).words == ()
    noise = rng.normal(0, ROOM_NOISE_STD, RATE_HZ * 30).astype(np.int16)
    recognition = recognize_stand_in(noise, RATE_HZ)
    assert recognition.words == () and recognition.segments == () and recognition.duration_s == 30.0


@pytest.mark.parametrize("cut", [1, 30001, 47777, 80000, 123457])
def test_a_word_held_whole_by_a_chunk_is_heard_the_same_there(speech: npt.NDArray[np.int16], cut: int) -> None:
    offset_s, margin_s = cut / RATE_HZ, ENERGY_WINDOW_S
    whole = [w for w in _heard(speech) if w[1] > offset_s + margin_s]
    chunk = [w for w in _heard(speech[cut:], offset_s) if w[1] > offset_s + margin_s]
    assert [w for w, _, _ in chunk] == [w for w, _, _ in whole] and whole
    assert [t for _, s, e in chunk for t in (s, e)] == pytest.approx([t for _, s, e in whole for t in (s, e)], abs=1e-9)


def test_room_noise_under_the_speech_changes_nothing(speech: npt.NDArray[np.int16]) -> None:
    rng = np.random.default_rng(7)
    noisy = np.clip(speech + rng.normal(0, ROOM_NOISE_STD, len(speech)), -32768, 32767).astype(np.int16)
    assert [w for w, _, _ in _heard(noisy)] == [w for w, _, _ in _heard(speech)]


def test_long_audio_is_summed_a_block_at_a_time_with_the_same_result(
    speech: npt.NDArray[np.int16], monkeypatch: pytest.MonkeyPatch
) -> None:
    long = np.tile(speech, 3)
    expected = _heard(long)
    monkeypatch.setattr(fake_recognizer, "BLOCK_SAMPLES", 4099)  # many block edges, some inside words
    assert _heard(long) == expected


def test_a_fake_server_answers_with_it_and_never_starts_the_real_recognizer(
    make_server: Callable[..., LocalServer], speech: npt.NDArray[np.int16], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the real recognizer was asked")

    monkeypatch.setattr(recognizer, "recognize", refuse)
    srv = make_server(api_key=None, recognizer="fake")
    answer = httpx.post(
        f"{srv.base_url}/audio/transcriptions",
        files={"file": ("a.wav", to_wav(speech, RATE_HZ), "audio/wav")},
        data={"response_format": "verbose_json", "timestamp_granularities[]": "word"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = recognize_stand_in(speech, RATE_HZ)
    assert body["text"] == expected.text
    assert [(w["word"], w["start"], w["end"]) for w in body["words"]] == [
        (w.word, round(w.start_s, 3), round(w.end_s, 3)) for w in expected.words
    ]
    assert body["duration"] == pytest.approx(len(speech) / RATE_HZ, abs=0.001)
    assert srv.stats.count("/v1/audio/transcriptions", 200) == 1
