"""Stopping a synthesis whose caller left: espeak-ng aborts at its next block, and the next call is unharmed."""

from __future__ import annotations

import numpy as np
import pytest

from voxbatch.engines.espeak import EspeakEngine, SynthesisCancelled

TEXT = "It was the best of times, it was the worst of times. " * 20  # many blocks of audio


def test_a_stopped_synthesis_raises_and_leaves_the_library_unharmed() -> None:
    engine = EspeakEngine()
    reference = engine.synthesize(TEXT)
    asked: list[int] = []

    def stop_after_the_first_block() -> bool:
        asked.append(1)
        return len(asked) > 1  # asked once before it starts, then after every block

    with pytest.raises(SynthesisCancelled):
        engine.synthesize(TEXT, should_stop=stop_after_the_first_block)
    assert len(asked) == 2  # it stopped at the first block it was told to, not at the end

    again = engine.synthesize(TEXT)
    assert np.array_equal(again.pcm, reference.pcm) and again.words == reference.words


def test_a_caller_gone_before_the_start_costs_nothing() -> None:
    with pytest.raises(SynthesisCancelled, match="before"):
        EspeakEngine().synthesize(TEXT, should_stop=lambda: True)
