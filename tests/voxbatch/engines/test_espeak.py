"""Tests for voxbatch.engines.espeak against the real libespeak-ng (no mocks)."""

from __future__ import annotations

import ctypes
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from voxbatch.engines import espeak, espeak_words
from voxbatch.engines.espeak import (
    ESPEAK_SAMPLE_RATE_HZ,
    EspeakEngine,
    EspeakError,
    EspeakVoice,
    Synthesis,
    default_engine,
)

SENTENCE = "Hello there, this is a voice test with several vowels."
AUDIBLE_STD_INT16 = 1000.0


@pytest.fixture(scope="module")
def engine() -> EspeakEngine:
    return default_engine()


def _median_f0_hz(synthesis: Synthesis) -> float:
    """Crude fundamental frequency: autocorrelation peak (60-500 Hz) over loud 40 ms frames."""
    x = synthesis.pcm.astype(np.float64)
    sr = synthesis.sample_rate_hz
    frame = int(0.04 * sr)
    estimates = []
    for i in range(0, len(x) - frame, frame):
        chunk = x[i : i + frame] - x[i : i + frame].mean()
        if chunk.std() < 2000:
            continue
        ac = np.correlate(chunk, chunk, "full")[frame - 1 :]
        lo, hi = sr // 500, sr // 60
        estimates.append(sr / (lo + int(np.argmax(ac[lo:hi]))))
    return float(np.median(estimates))


def _assert_valid_words(synthesis: Synthesis) -> None:
    previous_end = 0.0
    for word in synthesis.words:
        assert 0 <= word.start_s < word.end_s <= synthesis.duration_s, word
        assert word.start_s >= previous_end - 1e-9, (word, previous_end)
        previous_end = word.end_s


def test_sample_rate_and_format(engine: EspeakEngine) -> None:
    result = engine.synthesize("Testing the sample rate.")
    assert ESPEAK_SAMPLE_RATE_HZ == 22050
    assert result.sample_rate_hz == ESPEAK_SAMPLE_RATE_HZ
    assert result.pcm.ndim == 1
    assert result.pcm.dtype == np.dtype("<i2")
    assert result.duration_s == pytest.approx(len(result.pcm) / 22050)
    assert not result.pcm.flags.writeable  # the result is frozen, so is its audio


def test_output_is_audible(engine: EspeakEngine) -> None:
    result = engine.synthesize(SENTENCE)
    assert 1.5 < result.duration_s < 6
    assert float(result.pcm.std()) > AUDIBLE_STD_INT16


def test_duration_grows_with_text_and_shrinks_with_rate(engine: EspeakEngine) -> None:
    short = engine.synthesize("One short line.")
    long = engine.synthesize("One short line. " * 4)
    assert long.duration_s > 3 * short.duration_s
    slow = engine.synthesize(SENTENCE, EspeakVoice(rate_wpm=100))
    fast = engine.synthesize(SENTENCE, EspeakVoice(rate_wpm=350))
    assert slow.duration_s > 2 * fast.duration_s


def test_words_match_input_in_order(engine: EspeakEngine) -> None:
    text = "Hello, world!\nThis is a test; with punctuation... and a new line.\n\n  Okay?"
    result = engine.synthesize(text)
    assert [w.word for w in result.words] == re.findall(r"\w+", text)
    _assert_valid_words(result)
    assert result.words[-1].end_s <= result.duration_s


def test_word_end_excludes_the_pause_that_follows(engine: EspeakEngine) -> None:
    result = engine.synthesize("First sentence. Second sentence.")
    sentence_end, next_start = result.words[1], result.words[2]
    assert [w.word for w in result.words] == ["First", "sentence", "Second", "sentence"]
    # The inter-sentence pause lies between the two words, not inside the first one.
    assert next_start.start_s - sentence_end.end_s > 0.1
    gap = result.pcm[int(sentence_end.end_s * 22050) + 5 : int(next_start.start_s * 22050)]
    assert np.abs(gap.astype(np.int32)).max() <= espeak_words.SILENCE_THRESHOLD_INT16


def test_non_ascii_words_are_sliced_by_characters(engine: EspeakEngine) -> None:
    # espeak counts text_position/length in characters; byte offsets would shift every slice after "ï".
    text = "naïve café 😀 déjà-vu don't “smart” 1,234 Ωmega"
    result = engine.synthesize(text)
    words = [w.word for w in result.words]
    assert words[:3] == ["naïve", "café", "😀"]
    assert words[3:] == ["déjà-vu", "don't", "smart", "1,234", "Ωmega"]
    _assert_valid_words(result)


@pytest.mark.parametrize("language", ["en-us", "en-gb-x-rp", "fr-fr", "ja", "cmn", "pt-br"])
def test_languages_synthesize(engine: EspeakEngine, language: str) -> None:
    text = {"ja": "日本語のテスト", "cmn": "你好世界", "fr-fr": "Bonjour à tous"}.get(language, "Good morning")
    result = engine.synthesize(text, EspeakVoice(language=language))
    assert float(result.pcm.std()) > AUDIBLE_STD_INT16
    assert result.words
    _assert_valid_words(result)


def test_variants_and_pitch_change_the_voice(engine: EspeakEngine) -> None:
    base = engine.synthesize(SENTENCE)
    low = engine.synthesize(SENTENCE, EspeakVoice(pitch=10))
    high = engine.synthesize(SENTENCE, EspeakVoice(pitch=90))
    female = engine.synthesize(SENTENCE, EspeakVoice(variant="f3"))
    male = engine.synthesize(SENTENCE, EspeakVoice(variant="m3"))
    assert _median_f0_hz(low) < _median_f0_hz(base) < _median_f0_hz(high)
    assert _median_f0_hz(female) > 1.5 * _median_f0_hz(male)
    flat = engine.synthesize(SENTENCE, EspeakVoice(pitch_range=0))
    klatt = engine.synthesize(SENTENCE, EspeakVoice(variant="klatt"))
    arrays = [base.pcm, low.pcm, high.pcm, female.pcm, male.pcm, flat.pcm, klatt.pcm]
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            assert len(a) != len(b) or not np.array_equal(a, b)


def test_unknown_variant_or_language_raises(engine: EspeakEngine) -> None:
    with pytest.raises(EspeakError, match="variant"):
        engine.synthesize("hi", EspeakVoice(variant="no-such-variant"))
    with pytest.raises(EspeakError, match="variant"):
        engine.synthesize("hi", EspeakVoice(variant="F3"))  # variants are case-sensitive files
    with pytest.raises(EspeakError, match="language"):
        engine.synthesize("hi", EspeakVoice(language="xx-zz"))
    with pytest.raises(EspeakError):
        engine.synthesize("", EspeakVoice(language="xx-zz"))  # validated even with nothing to say


def test_voice_parameters_are_range_checked() -> None:
    with pytest.raises(ValueError):
        EspeakVoice(pitch=101)
    with pytest.raises(ValueError):
        EspeakVoice(pitch_range=-1)
    with pytest.raises(ValueError):
        EspeakVoice(rate_wpm=79)
    with pytest.raises(ValueError):
        EspeakVoice(rate_wpm=451)


@pytest.mark.parametrize("text", ["", "   ", "\n\t \n"])
def test_empty_text_gives_empty_synthesis(engine: EspeakEngine, text: str) -> None:
    result = engine.synthesize(text)
    assert len(result.pcm) == 0
    assert result.pcm.dtype == np.dtype("<i2")
    assert result.words == ()
    assert result.duration_s == 0


def test_ten_thousand_characters(engine: EspeakEngine) -> None:
    text = ("The archive holds letters, maps; and naïve drawings.\n" * 200)[:10_000]
    result = engine.synthesize(text, EspeakVoice(rate_wpm=450))
    assert len(result.words) == len(re.findall(r"\w+", text))
    _assert_valid_words(result)
    assert result.duration_s - result.words[-1].end_s < 1.0  # timings reach the end of the audio
    assert float(result.pcm.std()) > AUDIBLE_STD_INT16


def test_text_with_nul_and_markup_characters(engine: EspeakEngine) -> None:
    result = engine.synthesize("a\0b <speak>tag</speak> [[phon]]")
    assert float(result.pcm.std()) > AUDIBLE_STD_INT16
    _assert_valid_words(result)


def test_result_does_not_depend_on_history(engine: EspeakEngine) -> None:
    first = engine.synthesize(SENTENCE)
    engine.synthesize("Something different in between, whispered.", EspeakVoice(variant="whisper"))
    engine.synthesize("And a Klatt voice.", EspeakVoice(variant="klatt3", pitch=80))
    again = engine.synthesize(SENTENCE)
    assert np.array_equal(first.pcm, again.pcm)
    assert first.words == again.words


def test_concurrent_calls_match_sequential(engine: EspeakEngine) -> None:
    voices = [
        EspeakVoice(),
        EspeakVoice(variant="f3"),
        EspeakVoice(variant="klatt", pitch=30),
        EspeakVoice(language="fr-fr", variant="m2"),
        EspeakVoice(variant="whisper", rate_wpm=250),  # breathy: uses espeak's noise generators
        EspeakVoice(pitch_range=90),
        EspeakVoice(language="en-gb-x-rp"),
        EspeakVoice(variant="Reed"),
    ]
    # Each input twice, so identical inputs also run concurrently with each other.
    jobs = [(f"Thread job number {i}, saying something slightly different.", v) for i, v in enumerate(voices)] * 2
    sequential = [engine.synthesize(text, voice) for text, voice in jobs]
    n_threads = 8
    everyone_ready = threading.Barrier(n_threads)

    def worker(first: int) -> list[tuple[int, Synthesis]]:
        everyone_ready.wait(timeout=10)  # make the first calls of all threads collide
        # Separate engine instances still share the one library (and its lock).
        return [(i, EspeakEngine().synthesize(*jobs[i])) for i in range(first, len(jobs), n_threads)]

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        futures = [pool.submit(worker, first) for first in range(n_threads)]
        concurrent = dict(item for future in futures for item in future.result())
    assert sorted(concurrent) == list(range(len(jobs)))
    for i, seq in enumerate(sequential):
        assert np.array_equal(seq.pcm, concurrent[i].pcm), jobs[i]
        assert seq.words == concurrent[i].words


def test_default_engine_is_a_singleton_and_lists_variants() -> None:
    assert default_engine() is default_engine()
    variants = default_engine().list_variants()
    assert {"f3", "m2", "klatt", "whisper"} <= set(variants)
    assert variants == sorted(variants)


def test_event_struct_layout() -> None:
    # espeak_EVENT on x86_64: 6 ints, then the pointer and the union, each 8-byte aligned.
    event = espeak._Event
    offsets = [getattr(event, name).offset for name in ("text_position", "audio_position", "user_data", "id")]
    assert offsets == [8, 16, 24, 32]
    assert ctypes.sizeof(event) == 40
