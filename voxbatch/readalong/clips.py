"""The audio clip of every highlighted sentence (or word): clips that tile the whole book, in whole milliseconds.

Decision: a clip runs from its text's start to the next clip's start, the first from 0 and the last to the end of
the audio. So the silence after a sentence (a pause, a chapter gap) stays with it, its highlight lingers while
nothing is said, and the book's lead-in plays with the first sentence. Reading systems play only the audio the
clips name (EPUB Reading Systems 3.3, rendering Media Overlays), so clips with gaps between them would cut the
pauses out of the book; tiled clips play the audio exactly as the audiobook does, and their durations add up to
the audio's.

Granularity: ``sentence`` (the default, what every reading system with Media Overlays supports) gives one clip per
sentence; ``word`` gives one per word for each sentence whose every word has timing (other sentences keep one
clip), as flat clips in reading order, which reading systems play like any other (nested per-sentence ``seq`` with
word ``par``\\ s is still a proposal that few of them understand).

Every clip lasts at least ``MIN_CLIP_MS``: times that collide (words that could not be placed apart) are pushed
one millisecond apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from voxbatch.readalong.layout import ChapterText
from voxbatch.readalong.timing import ReadalongError

Granularity = Literal["sentence", "word"]
GRANULARITIES: tuple[Granularity, ...] = ("sentence", "word")
MIN_CLIP_MS = 1
MS_PER_S = 1000


@dataclass(frozen=True)
class Clip:
    """The audio ``[begin_ms, end_ms)`` that highlights the element with id ``target``."""

    target: str
    begin_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.begin_ms


def targets(chapter: ChapterText, granularity: Granularity) -> list[tuple[str, float]]:
    """``(id, start_s)`` of what each clip of ``chapter`` highlights, in reading order."""
    found: list[tuple[str, float]] = []
    for sentence in chapter.sentences:
        words = sentence.words
        if granularity == "word" and sentence.word_timed and words:
            found.append((words[0].id, sentence.start_s))  # the sentence's start: a quote mark before it is silent
            found += [(word.id, word.start_s) for word in words[1:]]
        else:
            found.append((sentence.id, sentence.start_s))
    return found


def tile(chapters: Sequence[Sequence[tuple[str, float]]], duration_s: float) -> list[list[Clip]]:
    """The clips of every chapter's targets, tiling ``[0, duration_s]`` in whole milliseconds."""
    flat = [target for chapter in chapters for target in chapter]
    total_ms = round(duration_s * MS_PER_S)
    if not flat:
        raise ReadalongError("the book has no text to highlight")
    if len(flat) * MIN_CLIP_MS > total_ms:
        raise ReadalongError(f"{len(flat)} clips cannot fit in {duration_s:g} s of audio")
    bounds = [0] + [round(start_s * MS_PER_S) for _, start_s in flat[1:]] + [total_ms]
    for at in range(1, len(flat)):
        bounds[at] = max(bounds[at], bounds[at - 1] + MIN_CLIP_MS)
    for at in range(len(flat) - 1, 0, -1):
        bounds[at] = min(bounds[at], bounds[at + 1] - MIN_CLIP_MS)
    clips: list[list[Clip]] = []
    at = 0
    for chapter in chapters:
        clips.append([Clip(target, bounds[at + n], bounds[at + n + 1]) for n, (target, _) in enumerate(chapter)])
        at += len(chapter)
    return clips


def clock(ms: int) -> str:
    """A SMIL full clock value, ``H:MM:SS.mmm``."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"
