"""A merged transcript and its parts: the chunk transcripts that go in, and the chunk map that comes out.

Every time in a :class:`MergedTranscript` is in seconds from the start of the file (see
:mod:`voxbatch.pipelines.transcript.merge` for how chunks are joined).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from voxbatch.client.results import Segment, SpeakerSegment, Transcript, WordTime
from voxbatch.pipelines.transcript.spans import ChunkSpan

# How a chunk was joined to the one before it: "start" (first chunk), "silence" (cut in a silence, nothing to
# splice), "gap" (the previous chunk is missing), "words" (overlap spliced at an aligned word), "time" (overlap
# spliced at its middle).
SeamKind = Literal["start", "silence", "gap", "words", "time"]


@dataclass(frozen=True)
class ChunkTranscript:
    """One chunk's transcript (times relative to the chunk start) and the span of the recording it covers."""

    span: ChunkSpan
    transcript: Transcript


@dataclass(frozen=True)
class ChunkMapEntry:
    """Where one chunk sits in the merged transcript and what its seam with the previous chunk dropped."""

    index: int
    start_s: float
    end_s: float
    overlap_s: float  # audio repeated from the previous chunk at this chunk's start
    seam: SeamKind  # how this chunk was joined to the previous one
    splice_s: float | None  # where a hard-cut seam was spliced (seconds from the start of the file)
    words: int  # this chunk's words kept in the merge
    words_dropped: int  # this chunk's words dropped as duplicates of a neighbour's (either seam)
    segments: int
    segments_dropped: int
    request_id: str | None  # the provider's id of the call that transcribed the chunk


@dataclass(frozen=True)
class MergedTranscript:
    """One file's transcript assembled from its chunks; every time is in seconds from the start of the file."""

    text: str
    task: str | None
    language: str | None
    duration_s: float
    segments: tuple[Segment, ...]
    words: tuple[WordTime, ...]
    speaker_segments: tuple[SpeakerSegment, ...]
    speakers: tuple[str, ...]  # distinct speaker labels in order of first appearance
    chunks: tuple[ChunkMapEntry, ...]

    @property
    def diarized(self) -> bool:
        """True when the transcript carries speaker labels."""
        return bool(self.speakers)

    def speaker_at(self, start_s: float, end_s: float) -> str | None:
        """The speaker heard most during ``[start_s, end_s]`` (speaker segments, else labelled words), or None."""
        return self._speaker_index.lookup(start_s, end_s)

    @cached_property
    def _speaker_index(self) -> _IntervalIndex:
        if self.speaker_segments:
            return _IntervalIndex([(s.start_s, s.end_s, s.speaker_id) for s in self.speaker_segments if s.speaker_id])
        return _IntervalIndex([(w.start_s, w.end_s, w.speaker_id) for w in self.words if w.speaker_id])


class _IntervalIndex:
    """Labelled intervals searchable by overlap: sorted starts plus the running maximum of ends."""

    def __init__(self, intervals: list[tuple[float, float, str]]) -> None:
        self._intervals = sorted(intervals, key=lambda iv: iv[0])
        self._starts = [iv[0] for iv in self._intervals]
        self._max_ends: list[float] = []
        running = -math.inf
        for _, end, _ in self._intervals:
            running = max(running, end)
            self._max_ends.append(running)

    def lookup(self, start_s: float, end_s: float) -> str | None:
        overlap: dict[str, float] = defaultdict(float)
        mid = (start_s + end_s) / 2
        containing: str | None = None
        i = bisect.bisect_right(self._starts, end_s) - 1
        while i >= 0 and self._max_ends[i] >= start_s:
            iv_start, iv_end, label = self._intervals[i]
            overlap[label] += max(0.0, min(iv_end, end_s) - max(iv_start, start_s))
            if containing is None and iv_start <= mid <= iv_end:
                containing = label
            i -= 1
        if overlap and max(overlap.values()) > 0:
            return max(overlap, key=overlap.__getitem__)
        return containing
