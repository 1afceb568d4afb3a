"""When a chunk is bad: far too short for its text (:mod:`.pace`), or, when it is heard, too few of its words heard.

What a recognizer recovers from clean speech depends on the recognizer, so the rules do too
(:func:`rules_for`):

- the embedded engines (pocketsphinx hearing espeak-ng, on this machine or any server on it): calibrated with
  ``python -m bench.calibrate_audit`` (README, "Proof that every sentence was spoken"). pocketsphinx recovers
  only part of espeak-ng's words: 0.19-0.66 of a clean chunk of 20 words or more (median 0.53), and often none of
  a heading's. :data:`EMBEDDED_RULES` therefore judges only chunks of 20 words or more, and asks for a tenth of
  their words (half the worst clean chunk measured): what it catches is audio in which almost nothing of the
  text can be made out (a cut answer is caught by its duration first);
- a provider's recognizer (Whisper and its kind hear synthetic speech almost word for word):
  :data:`PROVIDER_RULES` asks for 80 % of the words of any chunk of 4 words or more (an assumption, not measured:
  voxbatch's tests have no hosted recognizer).

A chunk's *sentences never heard* (none of their words heard) are reported whatever the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from voxbatch.audit.align import align, sentence_spans, text_words
from voxbatch.audit.pace import expected_s, is_short
from voxbatch.client.results import WordTime

Problem = Literal["short", "unheard"]


@dataclass(frozen=True)
class HearingRules:
    """When a heard chunk has too little of its text in it."""

    name: str  # which recognizers these rules are for (in the audit report)
    min_coverage: float  # share of its countable words that must be heard ...
    min_judged_words: int  # ... in a chunk of at least this many (shorter ones are judged by duration alone)


EMBEDDED_RULES = HearingRules("embedded", min_coverage=0.1, min_judged_words=20)
PROVIDER_RULES = HearingRules("provider", min_coverage=0.8, min_judged_words=4)


def rules_for(recognizer_is_local: bool) -> HearingRules:
    """The rules for the embedded engines (a recognizer on this machine), else a provider's."""
    return EMBEDDED_RULES if recognizer_is_local else PROVIDER_RULES


@dataclass(frozen=True)
class Hearing:
    """What was heard of a chunk's text."""

    heard: int  # countable words heard
    countable: int  # words with a letter
    unheard_sentences: tuple[str, ...]  # sentences none of whose words were heard

    @property
    def coverage(self) -> float:
        return self.heard / self.countable if self.countable else 1.0


def hearing_of(text: str, heard: Sequence[WordTime]) -> Hearing:
    """Align what was heard with ``text`` (:mod:`.align`)."""
    words = text_words(text)
    alignment = align(words, heard, (0.0, 0.0))
    unheard = tuple(
        " ".join(words[a:b])
        for a, b in sentence_spans(words)
        if any(any(ch.isalpha() for ch in w) for w in words[a:b]) and not any(w.heard for w in alignment.words[a:b])
    )
    return Hearing(alignment.heard, alignment.countable, unheard)


def problem_of(
    model: str, text: str, duration_s: float, hearing: Hearing | None, rules: HearingRules
) -> tuple[Problem, str] | None:
    """What is wrong with a chunk's audio, and in words; None when nothing is."""
    expected = expected_s(model, len(text))
    if is_short(model, len(text), duration_s):
        return "short", f"{duration_s:.1f} s of audio where its text takes about {expected:.1f} s"
    if hearing is not None and hearing.countable >= rules.min_judged_words and hearing.coverage < rules.min_coverage:
        return "unheard", (
            f"{hearing.heard} of its {hearing.countable} words heard ({hearing.coverage:.0%}; "
            f"at least {rules.min_coverage:.0%} expected)"
        )
    return None


@dataclass(frozen=True)
class ChunkCheck:
    """What the checks found in the audio a chunk ends with, and what it took to get it."""

    chars: int
    expected_s: float
    duration_s: float
    hearing: Hearing | None  # None: not heard (no audit, or the hearing failed)
    heard_by: str | None  # the recognizer, when heard
    rules: HearingRules | None  # what the hearing was judged by (None: no audit)
    attempts: int  # syntheses requested this run (0: the audio came from the cache)
    repeats: tuple[Problem, ...] = ()  # why each repeat was asked for
    problem: str | None = None  # what is still wrong after every repeat (the book is flagged)

    @property
    def flagged(self) -> bool:
        return self.problem is not None
