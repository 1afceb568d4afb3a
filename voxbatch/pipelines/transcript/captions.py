"""What a merged transcript is written as: captions (SubRip, WebVTT), readable text and JSON.

Cues are built from words when the transcript has them, else from segments:

* words: a cue grows word by word and is closed at a speaker change, before a pause of ``max_pause_s``, after a
  sentence end once it is reasonably full (:data:`SENTENCE_BREAK_FILL` of its characters or duration), and
  before a word that would not fit in ``max_lines`` lines of ``max_line_chars`` or would make it longer than
  ``max_cue_s`` - in that case preferably after the last clause or sentence end in its second half. Words shown
  are the segment's own punctuated tokens when they line up one to one with the segment's words;
* segments: each segment is split the same way into word tokens whose times are interpolated by character
  count, so a long segment becomes several cues and no cue spans two segments; a transcript with text only
  becomes one such segment over the whole duration.

A cue's lines are balanced (the fewest lines, the longest as short as possible, preferably breaking after a
clause end) and break only between words; a single word longer than a line gets a line of its own. A cue shorter
than ``min_cue_s`` is extended into the silence after it, stopping ``min_gap_s`` before the next cue (the last one
up to the end of the recording); cues never overlap.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from voxbatch.audio.sidecars import srt_timestamp
from voxbatch.client.results import WordTime
from voxbatch.pipelines.transcript.merge import MergedTranscript, assign_words

__all__ = ["CaptionOptions", "Cue", "cues", "to_json", "to_srt", "to_text", "to_vtt", "vtt_timestamp"]

SENTENCE_BREAK_FILL = 0.5  # a sentence end closes a cue holding at least this share of its characters or duration
PARAGRAPH_PAUSE_S = 2.0  # a longer pause between segments starts a new paragraph in the plain text
MID_CLAUSE_BREAK_CHARS = 8  # a line break inside a clause counts as this many more characters of line
MIN_CUE_S = 0.001  # a cue lasts at least a millisecond, even when its words have no duration
TIME_DECIMALS = 3  # JSON times in milliseconds

_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]]*$")
_CLAUSE_END = re.compile(r"[.!?…。！？,;:，、；：–—][\"'”’)\]]*$")


@dataclass(frozen=True)
class CaptionOptions:
    """How captions are cut and laid out.

    Example::

        CaptionOptions(max_line_chars=32, max_cue_s=6.0)  # narrower lines for vertical video
    """

    max_line_chars: int = 42  # characters per line (BBC, Netflix for Latin scripts)
    max_lines: int = 2  # lines per cue
    max_cue_s: float = 7.0  # longest cue, unless a single word lasts longer
    min_cue_s: float = 1.0  # shorter cues are extended into the following silence
    max_pause_s: float = 1.5  # a pause this long between words starts a new cue
    min_gap_s: float = 0.08  # an extended cue ends this much before the next one (2 frames at 25 fps)

    def __post_init__(self) -> None:
        if self.max_line_chars < 1 or self.max_lines < 1:
            raise ValueError("max_line_chars and max_lines must be at least 1")
        if not 0 <= self.min_cue_s <= self.max_cue_s or self.max_cue_s <= 0:
            raise ValueError("need 0 <= min_cue_s <= max_cue_s and max_cue_s > 0")
        if self.max_pause_s <= 0 or self.min_gap_s < 0:
            raise ValueError("max_pause_s must be positive and min_gap_s not negative")


@dataclass(frozen=True)
class Cue:
    """One caption: its lines and when they are shown."""

    index: int  # from 1, as in SubRip
    start_s: float
    end_s: float
    lines: tuple[str, ...]
    speaker: str | None  # set when the transcript is diarized


@dataclass(frozen=True)
class _Token:
    """A word as shown in a caption, with its time, speaker and the segment it must not leave (None: any)."""

    text: str
    start_s: float
    end_s: float
    speaker: str | None
    group: int | None


def cues(merged: MergedTranscript, options: CaptionOptions | None = None) -> list[Cue]:
    """The captions of ``merged``, numbered from 1, in order and never overlapping."""
    opts = options or CaptionOptions()
    tokens = _word_tokens(merged) if merged.words else _segment_tokens(merged)
    groups = _group(tokens, opts)
    out: list[Cue] = []
    previous_end_s = 0.0
    for k, group in enumerate(groups):
        start_s = max(group[0].start_s, previous_end_s)
        end_s = max(t.end_s for t in group)
        if k + 1 < len(groups):
            next_start_s = groups[k + 1][0].start_s
            if next_start_s > start_s:
                end_s = min(end_s, next_start_s)
            extend_to_s = next_start_s - opts.min_gap_s
        else:
            extend_to_s = merged.duration_s  # the last cue may last until the recording ends
        if end_s - start_s < opts.min_cue_s:
            end_s = max(end_s, min(start_s + opts.min_cue_s, extend_to_s))
        end_s = max(end_s, start_s + MIN_CUE_S)
        words = [t.text for t in group]
        out.append(Cue(k + 1, start_s, end_s, tuple(_wrap(words, opts.max_line_chars)), group[0].speaker))
        previous_end_s = end_s
    return out


def to_srt(merged: MergedTranscript, options: CaptionOptions | None = None, found: Sequence[Cue] | None = None) -> str:
    """SubRip text: numbered cues with ``HH:MM:SS,mmm`` times, separated by blank lines (``found``: the cues of
    ``merged`` with ``options``, when already made)."""
    blocks = [
        f"{c.index}\n{srt_timestamp(c.start_s)} --> {srt_timestamp(c.end_s)}\n" + "\n".join(c.lines) + "\n"
        for c in (cues(merged, options) if found is None else found)
    ]
    return "\n".join(blocks)


def vtt_timestamp(seconds: float) -> str:
    """``HH:MM:SS.mmm`` (WebVTT), rounded to the millisecond."""
    return srt_timestamp(seconds).replace(",", ".")


def to_vtt(merged: MergedTranscript, options: CaptionOptions | None = None, found: Sequence[Cue] | None = None) -> str:
    """WebVTT text; a diarized transcript names each cue's speaker in a ``<v SPEAKER_00>`` voice tag (``found``: as
    for :func:`to_srt`)."""
    blocks = ["WEBVTT\n"]
    for c in cues(merged, options) if found is None else found:
        lines = [_vtt_escape(line) for line in c.lines]
        if merged.diarized and c.speaker:
            lines[0] = f"<v {_vtt_escape(c.speaker)}>{lines[0]}"
        blocks.append(f"{vtt_timestamp(c.start_s)} --> {vtt_timestamp(c.end_s)}\n" + "\n".join(lines) + "\n")
    return "\n".join(blocks)


def to_text(merged: MergedTranscript) -> str:
    """Readable plain text: a paragraph per run of segments, a new one after a pause of more than
    :data:`PARAGRAPH_PAUSE_S` or at a speaker change, which a diarized transcript prefixes with ``SPEAKER_xx: ``."""
    if merged.segments:
        units = [(s.start_s, s.end_s, s.text) for s in merged.segments]
    elif merged.words:
        units = [(w.start_s, w.end_s, w.word) for w in merged.words]
    else:
        return merged.text.strip() + "\n" if merged.text.strip() else ""
    paragraphs: list[list[str]] = []
    previous_end_s = -math.inf
    previous_speaker: str | None = None
    for start_s, end_s, text in units:
        if not text.strip():
            continue
        speaker = merged.speaker_at(start_s, end_s) if merged.diarized else None
        changed = speaker != previous_speaker or not paragraphs
        if changed or start_s - previous_end_s > PARAGRAPH_PAUSE_S:
            paragraphs.append([f"{speaker}:"] if changed and speaker else [])
        paragraphs[-1].append(text.strip())
        previous_end_s, previous_speaker = end_s, speaker
    return "\n\n".join(" ".join(" ".join(p).split()) for p in paragraphs) + "\n" if paragraphs else ""


def to_json(merged: MergedTranscript, extra: Mapping[str, Any] | None = None) -> str:
    """The transcript as JSON: language, task, duration, text, segments, words, speakers, speaker segments and
    the chunk map, times in seconds rounded to milliseconds, plus the ``extra`` fields at top level (an extra field
    replaces a transcript field of the same name, e.g. the requested ``task``)."""
    document: dict[str, Any] = {
        "language": merged.language,
        "task": merged.task,
        "duration": _t(merged.duration_s),
        "text": merged.text,
        "segments": [_segment_json(merged, s.id, s.start_s, s.end_s, s.text) for s in merged.segments],
        "words": [_word_json(w) for w in merged.words],
        "speakers": list(merged.speakers),
        "speaker_segments": [
            {
                "id": s.id,
                "speaker": s.speaker_id,
                "start": _t(s.start_s),
                "end": _t(s.end_s),
                "text": s.text,
                "words": [_word_json(w) for w in s.words],
            }
            for s in merged.speaker_segments
        ],
        "chunks": [
            {
                "index": c.index,
                "start": _t(c.start_s),
                "end": _t(c.end_s),
                "overlap": _t(c.overlap_s),
                "seam": c.seam,
                "splice": None if c.splice_s is None else _t(c.splice_s),
                "words": c.words,
                "words_dropped": c.words_dropped,
                "segments": c.segments,
                "segments_dropped": c.segments_dropped,
                "request_id": c.request_id,
            }
            for c in merged.chunks
        ],
    }
    document.update(extra or {})
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _segment_json(merged: MergedTranscript, id_: int, start_s: float, end_s: float, text: str) -> dict[str, Any]:
    row: dict[str, Any] = {"id": id_, "start": _t(start_s), "end": _t(end_s), "text": text}
    if merged.diarized:
        row["speaker"] = merged.speaker_at(start_s, end_s)
    return row


def _word_json(word: WordTime) -> dict[str, Any]:
    row: dict[str, Any] = {"word": word.word, "start": _t(word.start_s), "end": _t(word.end_s)}
    if word.speaker_id:
        row["speaker"] = word.speaker_id
    return row


def _t(seconds: float) -> float:
    return round(seconds, TIME_DECIMALS)


def _word_tokens(merged: MergedTranscript) -> list[_Token]:
    """Caption tokens from the words, shown as their segment's punctuated tokens when those line up."""
    shown = [w.word.strip() for w in merged.words]
    members: dict[int, list[int]] = {}
    for position, owner in enumerate(assign_words(merged.segments, merged.words)):
        if owner is not None:
            members.setdefault(owner, []).append(position)
    for owner, positions in members.items():
        tokens = merged.segments[owner].text.split()
        if len(tokens) == len(positions):
            for position, token in zip(positions, tokens, strict=True):
                shown[position] = token
    out: list[_Token] = []
    for w, text in zip(merged.words, shown, strict=True):
        if text:
            speaker = (w.speaker_id or merged.speaker_at(w.start_s, w.end_s)) if merged.diarized else None
            out.append(_Token(text, w.start_s, w.end_s, speaker, None))
    return out


def _segment_tokens(merged: MergedTranscript) -> list[_Token]:
    """Caption tokens from segment texts, timed by interpolating each segment's span over its characters."""
    spans = [(s.start_s, s.end_s, s.text) for s in merged.segments]
    if not spans and merged.text.strip():
        spans = [(0.0, max(merged.duration_s, 0.0), merged.text)]
    out: list[_Token] = []
    for group, (start_s, end_s, text) in enumerate(spans):
        speaker = merged.speaker_at(start_s, end_s) if merged.diarized else None
        words = text.split()
        total = len(" ".join(words))
        rate = (end_s - start_s) / total if total else 0.0
        offset = 0
        for word in words:
            out.append(_Token(word, start_s + offset * rate, start_s + (offset + len(word)) * rate, speaker, group))
            offset += len(word) + 1
    return out


def _group(tokens: Sequence[_Token], opts: CaptionOptions) -> list[list[_Token]]:
    """Cut the tokens into cues (see the module docstring)."""
    groups: list[list[_Token]] = []
    start = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if i > start:
            last = tokens[i - 1]
            if (
                token.group != last.group
                or token.speaker != last.speaker
                or token.start_s - last.end_s >= opts.max_pause_s
            ):
                groups.append(list(tokens[start:i]))
                start = i
                continue
            if not _fits(tokens[start : i + 1], opts):
                cut = start + _soft_break(tokens[start:i])
                groups.append(list(tokens[start:cut]))
                start = cut
                continue
        i += 1
        if _SENTENCE_END.search(token.text) and _full_enough(tokens[start:i], opts):
            groups.append(list(tokens[start:i]))
            start = i
    if start < len(tokens):
        groups.append(list(tokens[start:]))
    return groups


def _fits(cue: Sequence[_Token], opts: CaptionOptions) -> bool:
    if cue[-1].end_s - cue[0].start_s > opts.max_cue_s:
        return False
    return _line_count([t.text for t in cue], opts.max_line_chars) <= opts.max_lines


def _full_enough(cue: Sequence[_Token], opts: CaptionOptions) -> bool:
    chars = len(" ".join(t.text for t in cue))
    return (
        chars >= SENTENCE_BREAK_FILL * opts.max_line_chars * opts.max_lines
        or cue[-1].end_s - cue[0].start_s >= SENTENCE_BREAK_FILL * opts.max_cue_s
    )


def _soft_break(cue: Sequence[_Token]) -> int:
    """How many tokens of a full cue to show: up to its last clause end in the second half, else all."""
    for n in range(len(cue), (len(cue) + 1) // 2, -1):
        if _CLAUSE_END.search(cue[n - 1].text):
            return n
    return len(cue)


def _line_count(words: Sequence[str], width: int) -> int:
    """Lines that greedy wrapping at ``width`` needs (a word longer than a line gets its own)."""
    lines, length = 0, 0
    for word in words:
        if lines and length + 1 + len(word) <= width:
            length += 1 + len(word)
        else:
            lines, length = lines + 1, len(word)
    return lines


def _wrap(words: Sequence[str], width: int) -> list[str]:
    """The fewest lines of at most ``width`` characters, the longest as short as possible, counting a line that
    breaks away from a clause end :data:`MID_CLAUSE_BREAK_CHARS` longer (ties: shorter first line); a word longer
    than ``width`` is a line of its own."""
    n_lines = _line_count(words, width)
    n = len(words)
    ends = [0]  # ends[j]: characters of words[:j], a space after each
    for word in words:
        ends.append(ends[-1] + len(word) + 1)
    clause_end = [bool(_CLAUSE_END.search(word)) for word in words]

    def length(i: int, j: int) -> int:
        return ends[j] - ends[i] - 1

    def cost(i: int, j: int) -> int:
        return length(i, j) if j == n or clause_end[j - 1] else length(i, j) + MID_CLAUSE_BREAK_CHARS

    def line_ends(i: int) -> range:
        """The ends j of every line words[i:j] may be: one word, or as many as fit in ``width``."""
        j = i + 1
        while j < n and length(i, j + 1) <= width:
            j += 1
        return range(i + 1, j + 1)

    # best[k][i]: (worst line cost, end of the first line) for words[i:] in exactly k lines.
    best: list[dict[int, tuple[int, int]]] = [{n: (0, n)}]
    for k in range(1, n_lines + 1):
        row: dict[int, tuple[int, int]] = {}
        for i in range(n):
            options = [(max(cost(i, j), best[k - 1][j][0]), j) for j in line_ends(i) if j in best[k - 1]]
            if options:
                row[i] = min(options)
        best.append(row)
    lines: list[str] = []
    i = 0
    for k in range(n_lines, 0, -1):
        j = best[k][i][1]
        lines.append(" ".join(words[i:j]))
        i = j
    return lines


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
