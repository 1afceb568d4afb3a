"""What makes a chunk bad: too short for its text, or too little of it heard (by rules for the recognizer)."""

from __future__ import annotations

from voxbatch.audit.pace import expected_s
from voxbatch.audit.verdict import EMBEDDED_RULES, PROVIDER_RULES, hearing_of, problem_of, rules_for
from voxbatch.client.fake_transport import spread_words

KOKORO = "hexgrad/Kokoro-82M"
TEXT = (
    "Alice was beginning to get very tired of sitting by her sister on the bank, and of having nothing to do. "
    "Once or twice she had peeped into the book her sister was reading. It had no pictures in it."
)


def test_what_was_heard_of_a_text() -> None:
    everything = hearing_of(TEXT, spread_words(TEXT, 10.0))
    assert everything.coverage == 1.0 and everything.unheard_sentences == ()
    words = TEXT.split()
    first_half = spread_words(" ".join(words[: len(words) // 2]), 5.0)
    half = hearing_of(TEXT, first_half)
    assert 0.4 < half.coverage < 0.6
    assert half.unheard_sentences == (
        "Once or twice she had peeped into the book her sister was reading.",
        "It had no pictures in it.",
    )


def test_a_chunk_is_short_before_it_is_unheard() -> None:
    duration = expected_s(KOKORO, len(TEXT))
    assert problem_of(KOKORO, TEXT, duration, None, PROVIDER_RULES) is None
    short = problem_of(KOKORO, TEXT, 0.3 * duration, hearing_of(TEXT, []), PROVIDER_RULES)
    assert short is not None and short[0] == "short" and "of audio where its text takes about" in short[1]
    unheard = problem_of(KOKORO, TEXT, duration, hearing_of(TEXT, []), PROVIDER_RULES)
    assert unheard is not None and unheard[0] == "unheard" and "0 of its 40 words heard" in unheard[1]


def test_the_embedded_rules_ask_less_and_only_of_long_enough_chunks() -> None:
    assert rules_for(True) is EMBEDDED_RULES and rules_for(False) is PROVIDER_RULES
    assert EMBEDDED_RULES.min_coverage < PROVIDER_RULES.min_coverage
    words = TEXT.split()
    some = hearing_of(TEXT, spread_words(" ".join(words[::4]), 10.0))  # every fourth word: what pocketsphinx gets
    duration = expected_s(KOKORO, len(TEXT))
    assert problem_of(KOKORO, TEXT, duration, some, EMBEDDED_RULES) is None
    assert problem_of(KOKORO, TEXT, duration, some, PROVIDER_RULES) is not None
    few = "Chapter one. The rabbit hole."  # fewer words than the embedded rules judge
    assert problem_of(KOKORO, few, expected_s(KOKORO, len(few)), hearing_of(few, []), EMBEDDED_RULES) is None
