"""Every synthesis starts from espeak-ng's post-initialisation state: its audio never depends on earlier calls.

The local server speaks with espeak-ng's Klatt variants only; before the whole state was reset, one of them
spoke a text 64 samples (2.9 ms) longer after a text ending in a stop burst, and a stopped synthesis could
change the next one. These tests reproduce such histories by count (seeded choices, stops after N audio
blocks) and compare bytes, never times.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from voxbatch.engines import espeak
from voxbatch.engines.espeak import EspeakEngine, EspeakVoice, SynthesisCancelled
from voxbatch.engines.espeak_state import ElfLayout, SynthStateReset, restorable_ranges
from voxbatch.server.catalog import _FEMALE_VARIANTS, _MALE_VARIANTS, _NEUTRAL_VARIANTS

SERVER_VARIANTS = sorted(set(_FEMALE_VARIANTS + _MALE_VARIANTS + _NEUTRAL_VARIANTS))
TEXTS = (
    "One sentence, and a short one.",
    "CHAPTER I.",
    "Hello world",  # ends in a stop burst (a recorded wave in espeak-ng)
    "Book 3, part 4, says north.",
    "Anna opened the door. The hall was dark and quiet, and she listened for a while.",
    "1,234 apples; don't!",
)
HISTORY_CALLS = 240
STOP_SHARE = 0.25  # of the history's calls: stopped after 1-6 audio blocks
EMPTY_SHARE = 0.05  # of the history's calls: nothing to say (the voice is only checked)
FRESH_PROCESS_GUARD_S = 120.0  # a hang guard for the child process, not a measurement


def _stop_after(blocks: int) -> object:
    asked = [0]

    def should_stop() -> bool:
        asked[0] += 1
        return asked[0] > blocks + 1  # asked once before the start, then after every block

    return should_stop


def test_a_klatt_voice_speaks_alike_after_a_text_ending_in_a_stop_burst() -> None:
    engine, klatt = EspeakEngine(), EspeakVoice(variant="klatt")
    engine.synthesize("CHAPTER I.", klatt)
    reference = engine.synthesize(TEXTS[0], klatt)
    engine.synthesize("Hello world", klatt)  # left espeak-ng's "a wave file was playing" flag set
    again = engine.synthesize(TEXTS[0], klatt)
    assert len(again.pcm) == len(reference.pcm)  # was 64 samples longer
    assert np.array_equal(again.pcm, reference.pcm) and again.words == reference.words


@pytest.mark.parametrize("variant", SERVER_VARIANTS)
def test_a_synthesis_stopped_part_way_leaves_nothing_behind(variant: str) -> None:
    engine, voice = EspeakEngine(), EspeakVoice(variant=variant)
    reference = engine.synthesize(TEXTS[4], voice)
    for blocks in (1, 2, 3):
        with pytest.raises(SynthesisCancelled):
            engine.synthesize(TEXTS[4] * 3, voice, should_stop=_stop_after(blocks))  # type: ignore[arg-type]
        again = engine.synthesize(TEXTS[4], voice)
        assert np.array_equal(again.pcm, reference.pcm), (variant, blocks)


def test_no_history_of_voices_texts_and_stops_changes_a_result() -> None:
    rng = random.Random(20261206)
    engine = EspeakEngine()
    languages = ("en-us", "en-us", "en-gb-x-rp", "fr-fr", "es", "cmn", "ru")
    voices = [
        EspeakVoice(language=rng.choice(languages), variant=variant, pitch=rng.randint(20, 90), rate_wpm=155 + n)
        for n, variant in enumerate(SERVER_VARIANTS)
    ]
    first: dict[tuple[str, EspeakVoice], bytes] = {}
    compared = 0
    for _ in range(HISTORY_CALLS):
        text, voice, draw = rng.choice(TEXTS), rng.choice(voices), rng.random()
        if draw < STOP_SHARE:
            with pytest.raises(SynthesisCancelled):
                engine.synthesize(text * 3, voice, should_stop=_stop_after(rng.randint(1, 6)))  # type: ignore[arg-type]
        elif draw < STOP_SHARE + EMPTY_SHARE:
            assert len(engine.synthesize("  ", voice).pcm) == 0
        else:
            pcm = engine.synthesize(text, voice).pcm.tobytes()
            if (text, voice) in first:
                compared += 1
                assert pcm == first[(text, voice)], (text, voice)
            first.setdefault((text, voice), pcm)
    assert compared > HISTORY_CALLS // 4  # the history really repeated inputs


_CHILD = """
import hashlib, json, sys
from voxbatch.engines.espeak import EspeakEngine, EspeakVoice
jobs = json.loads(sys.argv[1])
print(json.dumps([
    hashlib.sha256(EspeakEngine().synthesize(text, EspeakVoice(**voice)).pcm.tobytes()).hexdigest()
    for text, voice in jobs
]))
"""


def test_a_result_equals_a_fresh_process_first_synthesis() -> None:
    """The state every call starts from is the pristine library's: a new process's first call agrees."""
    jobs = [(TEXTS[0], {"variant": "klatt3"}), (TEXTS[3], {"variant": "klatt6"}), (TEXTS[2], {"language": "fr-fr"})]
    engine = EspeakEngine()
    for text, variant in zip(TEXTS, SERVER_VARIANTS, strict=False):  # any history, stops included
        engine.synthesize(text, EspeakVoice(variant=variant))
        with pytest.raises(SynthesisCancelled):
            engine.synthesize(text * 4, EspeakVoice(variant=variant), should_stop=_stop_after(1))  # type: ignore[arg-type]
    here = [hashlib.sha256(engine.synthesize(t, EspeakVoice(**v)).pcm.tobytes()).hexdigest() for t, v in jobs]
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(jobs)],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=FRESH_PROCESS_GUARD_S,
        check=True,
    )
    assert json.loads(child.stdout) == here


def test_the_shipped_library_is_reset_completely() -> None:
    with espeak._LOCK:
        assert espeak._get_library()._reset_state.restores_everything


def test_an_unaudited_release_is_not_reset_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with espeak._LOCK:
        library = espeak._get_library()
        with caplog.at_level(logging.WARNING, logger="voxbatch.engines.espeak_state"):
            reset = SynthStateReset(library._lib, Path(library._lib._name), "1.53.0")
    assert not reset.restores_everything
    assert "1.53.0" in caplog.text and "not reset" in caplog.text


def test_restorable_ranges_skip_every_kept_variable() -> None:
    layout = ElfLayout(
        symbols={
            "translator": (0x108, 8, 1),  # kept: owns heap memory
            "voices.1234": (0x200, 16, 1),  # a kept static local
            "translator2": (0x300, 8, 1),  # deleted and cleared by hand, not restored
            "wave_flag.6030": (0x210, 4, 1),  # plain state: restored
            "WcmdqStop": (0x110, 8, 2),  # a function named like nothing kept
        },
        sections={".data": (0x100, 0x20), ".bss": (0x200, 0x108), ".got": (0x400, 0x10)},
    )
    assert restorable_ranges(layout) == [(0x100, 0x8), (0x110, 0x10), (0x210, 0xF0)]
