"""Expected durations and the far-too-short rule: a clean chunk of any size passes, a cut answer does not."""

from __future__ import annotations

import pytest

from voxbatch.audit.pace import (
    DEFAULT_SPEECH_S_PER_CHAR,
    MIN_SHORTFALL_S,
    SHORT_RATIO,
    expected_s,
    is_short,
    speech_s_per_char,
)
from voxbatch.client.fake_transport import FAKE_CHARS_PER_S
from voxbatch.server.faults import FaultSpec

KOKORO = "hexgrad/Kokoro-82M"


def test_seconds_per_character_by_model_family() -> None:
    assert speech_s_per_char(KOKORO) == speech_s_per_char("kokoro") > 0
    assert speech_s_per_char("someone/else") == DEFAULT_SPEECH_S_PER_CHAR
    assert expected_s(KOKORO, 300) == pytest.approx(300 * speech_s_per_char(KOKORO))


def test_clean_speech_passes_and_a_cut_answer_does_not() -> None:
    for chars in (10, 40, 300, 1000):
        expected = expected_s(KOKORO, chars)
        for ratio in (0.8, 1.0, 1.5):  # the slowest and fastest clean chunks measured, and more
            assert not is_short(KOKORO, chars, ratio * expected)
    cut = FaultSpec(short=1.0).short_keep
    assert cut < SHORT_RATIO
    assert is_short(KOKORO, 300, cut * expected_s(KOKORO, 300))
    assert not is_short(KOKORO, 300, (SHORT_RATIO + 0.01) * expected_s(KOKORO, 300))


def test_a_few_words_short_by_less_than_the_shortfall_pass() -> None:
    chars = 20  # a heading: about 1.3 s
    assert expected_s(KOKORO, chars) * (1 - 0.3) < MIN_SHORTFALL_S
    assert not is_short(KOKORO, chars, 0.3 * expected_s(KOKORO, chars))


def test_the_fake_transports_reading_pace_is_a_clean_one() -> None:
    chars = 500
    assert not is_short(KOKORO, chars, chars / FAKE_CHARS_PER_S)
