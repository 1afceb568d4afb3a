"""Merging chunk transcripts back into one transcript per file.

Every time in a chunk's transcript is relative to the chunk start; the merge adds the chunk's exact start
(:attr:`ChunkSpan.start_s`) to each of them, renumbers segment and speaker-segment ids from 0, keeps speaker
labels as the provider gave them, and joins the text with single spaces.

A seam where the cut fell in a silence (``overlap_s == 0``) is a plain concatenation. A hard cut repeats
``[start_s, start_s + overlap_s]`` of audio at the head of the later chunk, so both chunks transcribe it and the
seam is spliced:

* ``words``: the earlier chunk's tail words and the later chunk's head words near the overlap are aligned
  (:class:`difflib.SequenceMatcher` on lowercased words without punctuation); the splice word is the middle of the
  longest matching run whose two copies are heard at about the same time. The earlier chunk keeps its words up to
  and including the splice word, the later chunk its words after it, so a recognition difference inside the
  overlap resolves to whichever chunk heard that stretch nearer its middle;
* ``time``: with no common word (or no words on one side), the seam is the middle of the overlap: the earlier
  chunk keeps the words and segments centred before it, the later chunk those centred at or after it. When a side
  has no words, a run of words that ends the earlier text and starts the later text again is dropped from the later.

Segments follow the words: each chunk word belongs to the segment heard around it (:func:`assign_words`); a
segment whose words were all dropped is removed, one that lost some is trimmed to its kept words (its own
punctuated tokens when they line up one to one with its words, the words themselves otherwise), and a segment
without words is kept by the time rule. Speaker segments are treated the same way with their own words.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import math
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from voxbatch.client.results import Segment, SpeakerSegment, Transcript, WordTime
from voxbatch.pipelines.transcript.merged import ChunkMapEntry, ChunkTranscript, MergedTranscript, SeamKind
from voxbatch.pipelines.transcript.spans import ChunkSpan

__all__ = [
    "ChunkMapEntry",
    "ChunkTranscript",
    "MergedTranscript",
    "SeamKind",
    "assign_words",
    "merge_chunks",
]

OVERLAP_MARGIN_S = 0.5  # words this far outside the overlap still take part in the alignment (timestamps drift)
MATCH_TOLERANCE_S = 1.0  # the two copies of the splice word must be heard within this of each other
MAX_WORDS_PER_S = 6.0  # fast speech; bounds the repeated run looked for at a seam without words


def assign_words(segments: Sequence[Segment], words: Sequence[WordTime]) -> list[int | None]:
    """For each word, the position in ``segments`` of the segment around it (containing its midpoint, else the
    nearest); None when there are no segments."""
    if not segments:
        return [None] * len(words)
    order = sorted(range(len(segments)), key=lambda s: segments[s].start_s)
    starts = [segments[s].start_s for s in order]
    out: list[int | None] = []
    for word in words:
        mid = _mid(word)
        k = bisect.bisect_right(starts, mid)

        def distance(s: int, mid: float = mid) -> float:
            return max(segments[s].start_s - mid, 0.0, mid - segments[s].end_s)

        out.append(min(order[max(k - 2, 0) : k + 1], key=distance))
    return out


@dataclass
class _Chunk:
    """Working state of one chunk: its words in file time and what the seams on either side dropped."""

    span: ChunkSpan
    transcript: Transcript
    words: list[WordTime]
    dropped: set[int] = field(default_factory=set)  # positions in ``words``
    head_s: float = -math.inf  # items without words are kept when their midpoint is in [head_s, tail_s)
    tail_s: float = math.inf
    seam: SeamKind = "start"
    splice_s: float | None = None
    dedup_text: bool = False  # the seam with the previous chunk could not use words on both sides


@dataclass
class _Kept:
    """A segment or speaker segment after splicing, in file time."""

    start_s: float
    end_s: float
    text: str
    words: list[WordTime]


def merge_chunks(chunks: Sequence[ChunkTranscript], duration_s: float) -> MergedTranscript:
    """Merge chunk transcripts into one transcript of the whole file.

    Parameters
    ----------
    chunks:
        One entry per chunk, in any order; span indices must be distinct.
    duration_s:
        Length of the whole recording, reported as the merged duration.

    Returns
    -------
    The merged transcript with its chunk map; a single chunk passes through with only its ids renumbered.
    """
    ordered = sorted(chunks, key=lambda c: c.span.index)
    indices = [c.span.index for c in ordered]
    if len(set(indices)) != len(indices):
        raise ValueError(f"chunk indices must be distinct, got {indices}")
    work = [
        _Chunk(c.span, c.transcript, [_shift(w, c.span.start_s) for w in _chunk_words(c.transcript)]) for c in ordered
    ]
    for prev, cur in itertools.pairwise(work):
        if cur.span.index != prev.span.index + 1:
            cur.seam = "gap"
        elif cur.span.overlap_samples <= 0:
            cur.seam = "silence"
        else:
            _splice(prev, cur)

    segments: list[list[_Kept]] = []
    texts: list[str] = []
    for chunk in work:
        chunk_segments = _kept_segments(chunk)
        segments.append(chunk_segments)
        texts.append(_chunk_text(chunk, chunk_segments))
    for k in range(1, len(work)):
        if work[k].dedup_text:
            _drop_repeated_head(work[k], segments[k - 1], segments[k], texts, k)
    speaker_segments = [_kept_speaker_segments(chunk) for chunk in work]

    merged_segments = _renumber_segments(work, segments)
    merged_speaker_segments = _renumber_speaker_segments(work, speaker_segments)
    merged_words = _clamp_words([w for chunk in work for i, w in enumerate(chunk.words) if i not in chunk.dropped])
    text = _join(s.text for s in merged_segments) if merged_segments else _join(texts)
    chunk_map = tuple(
        ChunkMapEntry(
            index=chunk.span.index,
            start_s=chunk.span.start_s,
            end_s=chunk.span.end_s,
            overlap_s=chunk.span.overlap_s,
            seam=chunk.seam,
            splice_s=chunk.splice_s,
            words=len(chunk.words) - len(chunk.dropped),
            words_dropped=len(chunk.dropped),
            segments=len(kept),
            segments_dropped=len(chunk.transcript.segments) - len(kept),
            request_id=chunk.transcript.info.request_id,
        )
        for chunk, kept in zip(work, segments, strict=True)
    )
    return MergedTranscript(
        text=text,
        task=next((c.transcript.task for c in work if c.transcript.task), None),
        language=next((c.transcript.language for c in work if c.transcript.language), None),
        duration_s=duration_s,
        segments=merged_segments,
        words=merged_words,
        speaker_segments=merged_speaker_segments,
        speakers=_speakers(merged_speaker_segments, merged_words),
        chunks=chunk_map,
    )


def _chunk_words(transcript: Transcript) -> tuple[WordTime, ...]:
    """The chunk's words: the flat list, or the speaker segments' words when the answer has only those."""
    if transcript.words:
        return transcript.words
    return tuple(w for s in transcript.speaker_segments for w in s.words)


def _splice(prev: _Chunk, cur: _Chunk) -> None:
    """Decide which copy of the overlap's words each side keeps (see the module docstring)."""
    overlap_start = cur.span.start_s
    overlap_end = overlap_start + cur.span.overlap_s
    if prev.words and cur.words:
        tail = [
            i for i, w in enumerate(prev.words) if i not in prev.dropped and w.end_s > overlap_start - OVERLAP_MARGIN_S
        ]
        head = [j for j, w in enumerate(cur.words) if w.start_s < overlap_end + OVERLAP_MARGIN_S]
        match = _align(prev.words, tail, cur.words, head)
        if match is not None:
            i, j = match
            prev.dropped.update(t for t in tail if t > i)
            cur.dropped.update(h for h in head if h <= j)
            splice = (prev.words[i].end_s + cur.words[j].end_s) / 2
            _set_seam(prev, cur, "words", splice)
            return
    middle = (overlap_start + overlap_end) / 2
    prev.dropped.update(i for i, w in enumerate(prev.words) if _mid(w) >= middle)
    cur.dropped.update(j for j, w in enumerate(cur.words) if _mid(w) < middle)
    _set_seam(prev, cur, "time", middle)
    cur.dedup_text = not (prev.words and cur.words)


def _set_seam(prev: _Chunk, cur: _Chunk, seam: SeamKind, splice_s: float) -> None:
    prev.tail_s = cur.head_s = splice_s
    cur.seam = seam
    cur.splice_s = splice_s


def _align(
    prev_words: list[WordTime], tail: list[int], cur_words: list[WordTime], head: list[int]
) -> tuple[int, int] | None:
    """Positions of the splice word in both chunks: the middle of the longest common run heard at the same time."""
    a = [(i, n) for i in tail if (n := _norm(prev_words[i].word))]
    b = [(j, n) for j in head if (n := _norm(cur_words[j].word))]
    matcher = difflib.SequenceMatcher(None, [n for _, n in a], [n for _, n in b], autojunk=False)
    blocks = sorted((blk for blk in matcher.get_matching_blocks() if blk.size), key=lambda blk: -blk.size)
    for blk in blocks:
        middle = (blk.size - 1) // 2
        i, j = a[blk.a + middle][0], b[blk.b + middle][0]
        if abs(_mid(prev_words[i]) - _mid(cur_words[j])) <= MATCH_TOLERANCE_S:
            return i, j
    return None


def _kept_segments(chunk: _Chunk) -> list[_Kept]:
    """The chunk's segments in file time, with those the seams dropped removed and straddling ones trimmed."""
    offset_s = chunk.span.start_s
    segments = [Segment(s.id, s.start_s + offset_s, s.end_s + offset_s, s.text) for s in chunk.transcript.segments]
    members: list[list[int]] = [[] for _ in segments]
    for position, owner in enumerate(assign_words(segments, chunk.words)):
        if owner is not None:
            members[owner].append(position)
    out: list[_Kept] = []
    for segment, ids in zip(segments, members, strict=True):
        words = [chunk.words[i] for i in ids]
        kept = _trim(chunk, segment.start_s, segment.end_s, segment.text, words, [i not in chunk.dropped for i in ids])
        if kept is not None:
            out.append(kept)
    return out


def _kept_speaker_segments(chunk: _Chunk) -> list[tuple[str, _Kept]]:
    """Like :func:`_kept_segments` for speaker segments, whose own words are matched to the chunk's words."""
    positions: dict[tuple[str, float, float], deque[int]] = defaultdict(deque)
    for i, w in enumerate(chunk.words):
        positions[(w.word, w.start_s, w.end_s)].append(i)
    out: list[tuple[str, _Kept]] = []
    for segment in chunk.transcript.speaker_segments:
        words = [_shift(w, chunk.span.start_s) for w in segment.words]
        kept: list[bool] = []
        for w in words:
            queue = positions.get((w.word, w.start_s, w.end_s))
            if queue:
                kept.append(queue.popleft() not in chunk.dropped)
            else:
                kept.append(chunk.head_s <= _mid(w) < chunk.tail_s)
        start_s, end_s = segment.start_s + chunk.span.start_s, segment.end_s + chunk.span.start_s
        trimmed = _trim(chunk, start_s, end_s, segment.text, words, kept)
        if trimmed is not None:
            out.append((segment.speaker_id, trimmed))
    return out


def _trim(
    chunk: _Chunk, start_s: float, end_s: float, text: str, words: list[WordTime], kept: list[bool]
) -> _Kept | None:
    """A segment after the seams: whole, trimmed to its kept words, or None when nothing of it is kept."""
    if not words:
        return _Kept(start_s, end_s, text, []) if chunk.head_s <= (start_s + end_s) / 2 < chunk.tail_s else None
    if all(kept):
        return _Kept(start_s, end_s, text, words)
    if not any(kept):
        return None
    kept_words = [w for w, keep in zip(words, kept, strict=True) if keep]
    tokens = text.split()
    if len(tokens) == len(words):
        text = " ".join(t for t, keep in zip(tokens, kept, strict=True) if keep)
    else:
        text = _join(w.word for w in kept_words)
    new_start = start_s if kept[0] else kept_words[0].start_s
    new_end = end_s if kept[-1] else kept_words[-1].end_s
    return _Kept(new_start, max(new_end, new_start), text, kept_words)


def _chunk_text(chunk: _Chunk, segments: list[_Kept]) -> str:
    """The chunk's contribution to the merged text when the merge has no segments to join."""
    if chunk.transcript.segments:
        return _join(s.text for s in segments)
    if chunk.words and chunk.dropped:
        kept = _trim(chunk, 0.0, 0.0, chunk.transcript.text, chunk.words, _kept_mask(chunk))
        return kept.text if kept is not None else ""
    return _join([chunk.transcript.text])


def _kept_mask(chunk: _Chunk) -> list[bool]:
    return [i not in chunk.dropped for i in range(len(chunk.words))]


def _drop_repeated_head(chunk: _Chunk, before: list[_Kept], segments: list[_Kept], texts: list[str], k: int) -> None:
    """At a seam spliced without words, drop the run that ends the earlier text and starts the later one again."""
    limit = max(1, math.ceil(chunk.span.overlap_s * MAX_WORDS_PER_S))
    if segments:
        previous = before[-1].text if before else texts[k - 1]
        first = segments[0]
        first.text = _without_repeated_head(previous, first.text, limit)
        if not first.text:
            segments.pop(0)
        texts[k] = _join(s.text for s in segments)
    else:
        texts[k] = _without_repeated_head(texts[k - 1], texts[k], limit)


def _without_repeated_head(previous: str, text: str, limit: int) -> str:
    tail = [_norm(t) for t in previous.split()]
    tokens = text.split()
    head = [_norm(t) for t in tokens]
    for n in range(min(len(tail), len(head), limit), 0, -1):
        if tail[-n:] == head[:n] and any(tail[-n:]):
            return " ".join(tokens[n:])
    return text


def _renumber_segments(work: list[_Chunk], per_chunk: list[list[_Kept]]) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for chunk, kept in zip(work, per_chunk, strict=True):
        for position, item in enumerate(kept):
            seam_end_s = out[-1].end_s if out and position == 0 and chunk.splice_s is not None else None
            start_s, end_s = _clamp_span(item, seam_end_s)
            out.append(Segment(len(out), start_s, end_s, item.text))
    return tuple(out)


def _renumber_speaker_segments(
    work: list[_Chunk], per_chunk: list[list[tuple[str, _Kept]]]
) -> tuple[SpeakerSegment, ...]:
    out: list[SpeakerSegment] = []
    for chunk, kept in zip(work, per_chunk, strict=True):
        for position, (speaker_id, item) in enumerate(kept):
            seam_end_s = out[-1].end_s if out and position == 0 and chunk.splice_s is not None else None
            start_s, end_s = _clamp_span(item, seam_end_s)
            out.append(SpeakerSegment(len(out), speaker_id, start_s, end_s, item.text, tuple(item.words)))
    return tuple(out)


def _clamp_span(item: _Kept, previous_end_s: float | None) -> tuple[float, float]:
    """Times never below zero; the first segment after a spliced seam starts no earlier than the last one ends."""
    start_s = max(item.start_s, 0.0)
    if previous_end_s is not None:
        start_s = max(start_s, min(previous_end_s, item.end_s))
    return start_s, max(item.end_s, start_s)


def _clamp_words(words: list[WordTime]) -> tuple[WordTime, ...]:
    """Word starts never negative nor decreasing (copies of one word spliced from two chunks may be a hair apart)."""
    out: list[WordTime] = []
    floor = 0.0
    for w in words:
        start_s = max(w.start_s, floor)
        end_s = max(w.end_s, start_s)
        out.append(w if (start_s, end_s) == (w.start_s, w.end_s) else WordTime(w.word, start_s, end_s, w.speaker_id))
        floor = start_s
    return tuple(out)


def _speakers(speaker_segments: Sequence[SpeakerSegment], words: Sequence[WordTime]) -> tuple[str, ...]:
    first_s: dict[str, float] = {}
    labelled = [(s.speaker_id, s.start_s) for s in speaker_segments] + [(w.speaker_id, w.start_s) for w in words]
    for label, start_s in labelled:
        if label:
            first_s[label] = min(first_s.get(label, math.inf), start_s)
    return tuple(sorted(first_s, key=first_s.__getitem__))


def _shift(word: WordTime, offset_s: float) -> WordTime:
    return WordTime(word.word, word.start_s + offset_s, word.end_s + offset_s, word.speaker_id)


def _mid(word: WordTime) -> float:
    return (word.start_s + word.end_s) / 2


def _norm(word: str) -> str:
    """A word as compared across chunks: case-folded, letters and digits only."""
    return "".join(ch for ch in word.casefold() if ch.isalnum())


def _join(texts: Iterable[str]) -> str:
    """Texts joined with single spaces, without leading or trailing space."""
    return " ".join(" ".join(texts).split())
