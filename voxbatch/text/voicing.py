"""Voicing: who reads each part of a text (the narrator, the dialogue voice, a speaker of the cast), and where the
silences written into it fall.

:func:`read_script` turns a normalized text into a :class:`Script`: segments, each read by one voice, that cover
the text except its markup tags (which are never spoken), and the pause tags. The chunker cuts a chapter at every
segment boundary, so a chunk is always read by one voice.

Who reads what (voices are labels chosen by the caller; ``""`` is the narrator, the book's own voice):

* with a dialogue voice, every top-level quote (:mod:`voxbatch.text.dialogue`, nested quotes included) is read by
  it, and the rest by the narrator; without one, quotes are narration;
* with a cast, a speaker tag (:mod:`voxbatch.text.cast`) gives its speaker the text that follows it, up to the
  end of that paragraph or the next tag: if a quote follows the tag directly (``[Alice] "Hello," she said.``),
  only the quotes that open in that stretch (and all of each, across paragraphs too) and the narration between
  them stays the narrator's; otherwise the whole stretch is the speaker's (``[Alice] Hello.``, the script form).
  A tag alone in its paragraph gives its speaker the next paragraph. ``[Narrator]`` returns to the book's voice;
* where two voices meet without a tag between them, nothing is lost or repeated: segments tile the text.

Without a dialogue voice, a cast or a pause tag, the whole text is one narrator's segment, so a book without
markup is chunked exactly as before markup existed.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from voxbatch.text.cast import Cast, SpeakerTag, find_speaker_tags
from voxbatch.text.dialogue import Quote, quote_spans
from voxbatch.text.markup import blank_out
from voxbatch.text.pauses import PauseTag, find_pause_tags

NARRATOR_VOICE = ""  # the label of the book's own voice


@dataclass(frozen=True)
class Voicing:
    """Which voices a book has: a label for quoted speech (None: quotes are narration) and a cast with a label per
    speaker key (a speaker whose label is ``""`` reads with the narrator's voice)."""

    dialogue: str | None = None
    cast: Cast | None = None
    speakers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    """``[start, end)`` of the text, read by ``voice``; no markup inside, never only whitespace."""

    start: int
    end: int
    voice: str


@dataclass(frozen=True)
class Script:
    """A text as it is read: voiced segments in order, and the pause tags between them."""

    segments: tuple[Segment, ...]
    pauses: tuple[PauseTag, ...]

    @cached_property
    def _ends(self) -> list[int]:
        return [segment.end for segment in self.segments]

    def within(self, text: str, start: int, end: int, *, heading: bool = False) -> list[tuple[Segment, bool]]:
        """The segments inside ``[start, end)`` of ``text``, each with whether a paragraph ends after it; a
        heading is read by the narrator alone."""
        clipped: list[Segment] = []
        for segment in self.segments[bisect.bisect_right(self._ends, start) :]:
            if segment.start >= end:
                break
            voice = NARRATOR_VOICE if heading else segment.voice
            part = Segment(max(segment.start, start), min(segment.end, end), voice)
            if text[part.start : part.end].isspace():
                continue
            if clipped and clipped[-1].end == part.start and clipped[-1].voice == part.voice:
                part = Segment(clipped.pop().start, part.end, part.voice)
            clipped.append(part)
        paragraph_ends: list[bool] = []
        for before, after in itertools.pairwise(clipped):
            words_end = before.start + len(text[before.start : before.end].rstrip())
            paragraph_ends.append("\n" in text[words_end : after.start])
        return list(zip(clipped, [*paragraph_ends, True][: len(clipped)], strict=True))

    def place_pauses(self, ends: Sequence[int]) -> tuple[dict[int, float], float | None]:
        """Each pause tag's silence on the chunk before it (by number; tags at one place add up), given where the
        chunks' words end, and the silence before the first chunk (None: no tag there)."""
        after: dict[int, float] = {}
        before: float | None = None
        for tag in self.pauses:
            number = bisect.bisect_right(ends, tag.start) - 1
            if number < 0:
                before = (before or 0.0) + tag.seconds
            else:
                after[number] = after.get(number, 0.0) + tag.seconds
        return after, before


@dataclass(frozen=True)
class _Override:
    start: int
    end: int
    voice: str


def _first_spoken(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _speaker_overrides(masked: str, tags: list[SpeakerTag], quotes: list[Quote], voicing: Voicing) -> list[_Override]:
    """What each speaker tag gives its speaker (module docstring)."""
    starts = [q.start for q in quotes]
    overrides: list[_Override] = []
    for number, tag in enumerate(tags):
        voice = voicing.speakers.get(tag.key, NARRATOR_VOICE)
        first = _first_spoken(masked, tag.end)
        if first >= len(masked):
            continue
        paragraph_end = masked.find("\n\n", first)
        scope_end = len(masked) if paragraph_end < 0 else paragraph_end
        if number + 1 < len(tags):
            scope_end = min(scope_end, tags[number + 1].start)
        inside = quotes[bisect.bisect_left(starts, first) : bisect.bisect_left(starts, scope_end)]
        quoted = bool(inside) and inside[0].start == first
        if not quoted:
            overrides.append(_Override(first, scope_end, voice))
        overrides += [_Override(q.start, q.end, voice) for q in inside if quoted or q.end > scope_end]
    return overrides


def _paint(text: str, hidden: list[tuple[int, int]], overrides: list[_Override]) -> list[Segment]:
    """Segments from the overrides (later ones win) with the hidden spans cut out."""
    bounds = {0, len(text)} | {p for span in hidden for p in span} | {p for o in overrides for p in (o.start, o.end)}
    points = sorted(bounds)
    voices = [NARRATOR_VOICE] * (len(points) - 1)
    for override in overrides:
        for index in range(bisect.bisect_left(points, override.start), bisect.bisect_left(points, override.end)):
            voices[index] = override.voice
    is_hidden = [False] * (len(points) - 1)
    for start, end in hidden:
        for index in range(bisect.bisect_left(points, start), bisect.bisect_left(points, end)):
            is_hidden[index] = True
    segments: list[Segment] = []
    for index, voice in enumerate(voices):
        if is_hidden[index]:
            continue
        if segments and segments[-1].voice == voice and segments[-1].end == points[index]:
            segments[-1] = Segment(segments[-1].start, points[index + 1], voice)
        else:
            segments.append(Segment(points[index], points[index + 1], voice))
    return [s for s in segments if not text[s.start : s.end].isspace()]


def read_script(text: str, voicing: Voicing = Voicing()) -> Script:
    """Who reads each part of ``text`` and where its pauses are (module docstring).

    Raises :class:`~voxbatch.text.markup.MarkupError` for a pause tag that cannot be obeyed or a speaker tag
    naming someone not in the cast.
    """
    pauses = find_pause_tags(text)
    tags = [] if voicing.cast is None else find_speaker_tags(text, voicing.cast, skip={p.start for p in pauses})
    hidden = sorted([(p.start, p.end) for p in pauses] + [(t.start, t.end) for t in tags])
    if voicing.dialogue is None and not tags:
        overrides: list[_Override] = []
    else:
        masked = blank_out(text, hidden)
        quotes = quote_spans(masked)
        overrides = [] if voicing.dialogue is None else [_Override(q.start, q.end, voicing.dialogue) for q in quotes]
        overrides += _speaker_overrides(masked, tags, quotes, voicing)
    if not hidden and not overrides:
        segments = [Segment(0, len(text), NARRATOR_VOICE)] if text.strip() else []
        return Script(tuple(segments), ())
    return Script(tuple(_paint(text, hidden, overrides)), tuple(pauses))


def check_markup(text: str, cast: Cast | None) -> None:
    """Raise :class:`~voxbatch.text.markup.MarkupError` for any tag in ``text`` that could not be obeyed."""
    pauses = find_pause_tags(text)
    if cast is not None:
        find_speaker_tags(text, cast, skip={p.start for p in pauses})
