"""How long a chunk's speech should last, and when its audio is far too short for its text.

Every chunk's duration is checked against its text, with or without ``--audit``: a provider that answers with only
the first part of the speech (a complete-looking answer with correct headers) is caught here for free.

The expected duration is the chunk's characters times its model's seconds per character
(:data:`SPEECH_S_PER_CHAR_BY_FAMILY`, by a substring of the model id like the chunk budgets of
:mod:`voxbatch.text.chunking`), the median measured on the embedded engines: every chunk of the demo manuscripts and
of Alice's first pages read by six espeak-ng voices of each model (155-194 words a minute). Measured that way a
clean chunk lasts 0.73-1.73 times what its text predicts, 0.81-1.19 times for chunks of 100 characters or more
(headings of a few words, with a pause inside, vary most); README, "Proof that every sentence was spoken", has the
table and ``python -m bench.calibrate_audit`` remakes it. Hosted voices read audiobook prose at about the same pace
(150-160 words a minute, 14-15 characters a second).

A chunk is *far too short* when it lasts less than :data:`SHORT_RATIO` of the expected duration AND falls short of
it by at least :data:`MIN_SHORTFALL_S`: the ratio sits under the quickest clean chunk measured (0.73) and over what
a truncated answer keeps of a chunk of 100 characters or more (the ``short`` fault keeps 0.4: 0.32-0.48), and the
shortfall spares headings and other chunks of a few words, whose length varies most.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Seconds of speech per character of text, by model family (a substring of the model id); measured medians.
SPEECH_S_PER_CHAR_BY_FAMILY: Mapping[str, float] = MappingProxyType(
    {
        "kokoro": 0.0576,
        "orpheus": 0.0585,
        "cartesia": 0.0596,
        "sonic": 0.0596,
        "minimax": 0.0595,
    }
)
DEFAULT_SPEECH_S_PER_CHAR = 0.0585  # any other model: the embedded engines' median over every voice measured
SHORT_RATIO = 0.6  # audio under this share of its expected duration is far too short ...
MIN_SHORTFALL_S = 1.0  # ... when it also misses at least this many seconds of it

__all__ = ["DEFAULT_SPEECH_S_PER_CHAR", "MIN_SHORTFALL_S", "SHORT_RATIO", "expected_s", "is_short", "speech_s_per_char"]


def speech_s_per_char(model: str) -> float:
    """Seconds of speech ``model`` takes per character of text."""
    model_id = model.lower()
    for family, seconds in SPEECH_S_PER_CHAR_BY_FAMILY.items():
        if family in model_id:
            return seconds
    return DEFAULT_SPEECH_S_PER_CHAR


def expected_s(model: str, chars: int) -> float:
    """How long ``chars`` characters of text take to say with ``model``."""
    return chars * speech_s_per_char(model)


def is_short(model: str, chars: int, duration_s: float) -> bool:
    """Whether ``duration_s`` of audio is far too short for ``chars`` characters read by ``model``."""
    expected = expected_s(model, chars)
    return duration_s < SHORT_RATIO * expected and expected - duration_s >= MIN_SHORTFALL_S
