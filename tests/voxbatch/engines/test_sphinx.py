"""Real pocketsphinx recognition (no mocks) of jfk.flac, noise, and jfk.flac padded with noise.

The engine and the plain jfk.flac recognition are module-scoped: each decode costs seconds.
"""

from __future__ import annotations

import difflib
import itertools
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jiwer
import numpy as np
import numpy.typing as npt
import pytest

from voxbatch.audio.ffmpeg import decode_to_pcm
from voxbatch.engines.sphinx import (
    DEFAULT_POOL_SIZE,
    SPHINX_SAMPLE_RATE_HZ,
    Recognition,
    SphinxEngine,
    SphinxOptions,
    default_engine,
)

pytestmark = pytest.mark.slow

JFK_PATH = Path(__file__).resolve().parents[3] / "manifests" / "audio" / "jfk.flac"
JFK_REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
)
# Measured with the default options: VAD-first 0.18 on jfk.flac (decoding the whole file as one
# utterance gives 0.23), 0.27 with 30 s of white noise on each side. A few words of slack on top.
MAX_WER = 0.35
MAX_PADDED_WER = 0.45
NOISE_PAD_S = 30.0
NOISE_STD = 100.0  # int16 units, about -50 dBFS: low-level hiss
NOISE_SEED = 20240611
TIME_TOLERANCE_S = 0.1


def _normalize(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def _wer(hypothesis: str) -> float:
    return float(jiwer.wer(_normalize(JFK_REFERENCE), _normalize(hypothesis)))


def _noise(duration_s: float, seed: int) -> npt.NDArray[np.int16]:
    rng = np.random.default_rng(seed)
    samples = rng.normal(0.0, NOISE_STD, round(duration_s * SPHINX_SAMPLE_RATE_HZ))
    return np.clip(samples, -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def engine() -> SphinxEngine:
    return SphinxEngine()


@pytest.fixture(scope="module")
def jfk_pcm() -> npt.NDArray[np.int16]:
    return decode_to_pcm(JFK_PATH.read_bytes(), SPHINX_SAMPLE_RATE_HZ)


@pytest.fixture(scope="module")
def jfk(engine: SphinxEngine, jfk_pcm: npt.NDArray[np.int16]) -> Recognition:
    return engine.recognize(jfk_pcm)


def test_jfk_word_error_rate(jfk: Recognition) -> None:
    assert _wer(jfk.text) <= MAX_WER, jfk.text
    assert jfk.duration_s == pytest.approx(11.0, abs=0.01)


def test_words_are_clean_lowercase_and_monotonic(jfk: Recognition) -> None:
    assert len(jfk.words) >= 15
    previous_end_s = 0.0
    for w in jfk.words:
        assert w.word and w.word == w.word.lower()
        assert "(" not in w.word and not w.word.startswith(("<", "[", "+")), w.word
        assert previous_end_s <= w.start_s <= w.end_s <= jfk.duration_s
        previous_end_s = w.end_s


def test_segments_agree_with_their_words(jfk: Recognition) -> None:
    assert jfk.segments
    for seg in jfk.segments:
        assert seg.words
        assert seg.text == " ".join(w.word for w in seg.words)
        assert seg.start_s == seg.words[0].start_s
        assert seg.end_s == seg.words[-1].end_s
    assert jfk.text == " ".join(seg.text for seg in jfk.segments)
    assert jfk.words == tuple(w for seg in jfk.segments for w in seg.words)


def test_noise_and_silence_give_no_segments(engine: SphinxEngine) -> None:
    noise = _noise(50.0, NOISE_SEED)
    assert engine.speech_regions(noise) == []
    recognition = engine.recognize(noise)
    assert recognition.segments == ()
    assert recognition.text == ""
    assert recognition.duration_s == pytest.approx(50.0)
    silence = np.zeros(5 * SPHINX_SAMPLE_RATE_HZ, dtype=np.int16)
    assert engine.recognize(silence).segments == ()


def test_speech_between_noise_keeps_true_times(
    engine: SphinxEngine, jfk: Recognition, jfk_pcm: npt.NDArray[np.int16]
) -> None:
    padded = np.concatenate([_noise(NOISE_PAD_S, NOISE_SEED), jfk_pcm, _noise(NOISE_PAD_S, NOISE_SEED + 1)])
    speech_end_s = NOISE_PAD_S + len(jfk_pcm) / SPHINX_SAMPLE_RATE_HZ

    regions = engine.speech_regions(padded)
    assert regions
    assert all(NOISE_PAD_S - 1.0 < start_s < end_s < speech_end_s + 1.0 for start_s, end_s in regions)

    recognition = engine.recognize(padded)
    assert recognition.duration_s == pytest.approx(speech_end_s + NOISE_PAD_S)
    assert _wer(recognition.text) <= MAX_PADDED_WER, recognition.text
    assert all(NOISE_PAD_S - 0.5 < w.start_s <= w.end_s < speech_end_s + 0.5 for w in recognition.words)
    # Words recognized both with and without the padding sit exactly NOISE_PAD_S later in the padded input.
    plain, shifted = [w.word for w in jfk.words], [w.word for w in recognition.words]
    matched = 0
    for block in difflib.SequenceMatcher(a=plain, b=shifted, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            before, after = jfk.words[block.a + k], recognition.words[block.b + k]
            assert after.start_s - before.start_s == pytest.approx(NOISE_PAD_S, abs=TIME_TOLERANCE_S)
            assert after.end_s - before.end_s == pytest.approx(NOISE_PAD_S, abs=TIME_TOLERANCE_S)
            matched += 1
    assert matched >= 15


def test_empty_input(engine: SphinxEngine) -> None:
    empty = np.zeros(0, dtype=np.int16)
    assert engine.recognize(empty) == Recognition(duration_s=0.0, segments=())
    assert engine.speech_regions(empty) == []


def test_rejects_wrong_sample_rate_and_layout(engine: SphinxEngine, jfk_pcm: npt.NDArray[np.int16]) -> None:
    with pytest.raises(ValueError, match="16000"):
        engine.recognize(jfk_pcm, 8000)
    with pytest.raises(ValueError):
        engine.speech_regions(jfk_pcm, 44100)
    with pytest.raises(ValueError):
        engine.recognize(np.zeros((100, 2), dtype=np.int16))
    with pytest.raises(ValueError):
        engine.recognize(jfk_pcm.astype(np.float32))


def test_long_regions_are_split(jfk_pcm: npt.NDArray[np.int16]) -> None:
    # No decoding here: speech_regions only runs the VAD, so this engine never loads a model.
    options = SphinxOptions(max_segment_s=3.0)
    regions = SphinxEngine(options, pool_size=1).speech_regions(jfk_pcm)
    assert len(regions) >= 4
    assert all(0 < end_s - start_s <= options.max_segment_s for start_s, end_s in regions)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(regions))


CONCURRENT_CUT_S = 2.0  # "and so my fellow ...": words enough to compare; each decode costs ~1 CPU-s
HANG_GUARD_S = 120.0  # only reached if a decode never starts


def test_concurrent_calls_match_sequential(engine: SphinxEngine, jfk_pcm: npt.NDArray[np.int16]) -> None:
    cut = jfk_pcm[: round(CONCURRENT_CUT_S * SPHINX_SAMPLE_RATE_HZ)]
    alone = engine.recognize(cut)
    assert alone.words  # something was heard, so equal results mean something
    # Both calls meet before decoding their first region (``should_stop`` is asked then), so the two decodes
    # surely run at once, each on its own decoder of the pool, whatever the machine's speed.
    together = threading.Barrier(DEFAULT_POOL_SIZE, timeout=HANG_GUARD_S)
    met: list[int] = []

    def in_company(pcm: npt.NDArray[np.int16]) -> Recognition:
        waited = False

        def meet() -> bool:  # asked before each region: wait for the other call before the first one only
            nonlocal waited
            if not waited:
                waited = True
                met.append(together.wait())
            return False

        return engine.recognize(pcm, should_stop=meet)

    with ThreadPoolExecutor(max_workers=DEFAULT_POOL_SIZE) as pool:
        results = list(pool.map(in_company, [cut, cut.copy()]))
    assert sorted(met) == list(range(DEFAULT_POOL_SIZE))  # both calls were decoding together
    assert results == [alone, alone]


def test_invalid_options_rejected() -> None:
    with pytest.raises(ValueError):
        SphinxOptions(vad_mode=4)
    with pytest.raises(ValueError):
        SphinxOptions(padding_s=-0.1)
    with pytest.raises(ValueError):
        SphinxEngine(pool_size=0)


def test_default_engine_is_a_singleton() -> None:
    assert default_engine() is default_engine()
