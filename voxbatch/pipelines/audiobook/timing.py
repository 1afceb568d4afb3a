"""Every word of a finished book with its time: ``<id>.words.json``, and the book's captions (``<id>.srt``,
``<id>.vtt``).

Where a chunk's word times come from, best first:

1. the provider's word timestamps, streamed with the audio (SSE ``alignment=word``, WebSocket) and cached with
   the chunk;
2. what the audit heard in it (cached with the chunk too, so a rerun has it for free);
3. neither: the chunk's voiced stretch shared among its words by characters.

In every case the words are the chunk's text's words, in order (the text is exactly what was sent), timed by
aligning them with the timed words (:mod:`voxbatch.audit.align`): a word not heard gets a time interpolated between
its neighbours; and no word is said before the chunk's voice starts or after it ends (espeak-ng, for one, times its
first word from the start of its answer, 50 ms of silence included). Each chunk's times are then moved to where
its audio lies in the finished book (the stitcher's cues: after the lead-in, every pause and every chapter gap;
fades do not move audio), and kept inside it.

``<id>.words.json`` (the read-along book is made from it)::

    {"version": 1, "audio": "<file name of the book>", "duration_s": float,
     "chunks": [{"index", "chapter", "text", "start_s", "end_s"}],   # index: the chunk's, book-wide, in order
     "words": [{"text", "start_s", "end_s", "chapter", "chunk"}]}    # chunk: its chunk's index

Captions follow the transcript flow's cue rules (:mod:`voxbatch.pipelines.transcript.captions`: at most 2 lines of
42 characters, 1-7 s per cue, a new cue after a long pause), over the words as the manuscript writes them (a
lexicon's rewrites are heard, not shown); a chapter gap starts a new cue.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxbatch.atomic import write_text_atomic
from voxbatch.audio.stitch import StitchOptions, StitchResult
from voxbatch.audit.align import TimedWord, align, text_words
from voxbatch.cache import CachedChunk
from voxbatch.client.results import WordTime
from voxbatch.pipelines.audiobook.plan import BookPlan, ChunkJob
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome
from voxbatch.pipelines.transcript.captions import CaptionOptions, cues, to_srt, to_vtt
from voxbatch.pipelines.transcript.merged import MergedTranscript

WORDS_VERSION = 1
TIME_DECIMALS = 3  # milliseconds
VOICED_FLOOR_INT16 = 200  # |sample| above this (and above VOICED_PEAK_SHARE of the peak) is voice
VOICED_PEAK_SHARE = 0.01

__all__ = ["ChunkTiming", "book_timing", "captions", "voiced_span", "words_document", "write_timed_sidecars"]


@dataclass(frozen=True)
class ChunkTiming:
    """One chunk of the book: where its audio lies in the book, and its words (times in the book)."""

    job: ChunkJob
    start_s: float
    end_s: float
    words: tuple[TimedWord, ...]


def voiced_span(chunk: CachedChunk) -> tuple[float, float]:
    """Where a chunk's voice starts and ends (seconds into it); the whole chunk when it is silent."""
    samples = np.fromfile(chunk.pcm_path, dtype="<i2")
    if not len(samples):
        return 0.0, chunk.duration_s
    peak = max(int(samples.max()), -int(samples.min()))
    # |sample| > the threshold, in int16 arithmetic: an integer is above x exactly when it is above floor(x).
    threshold = math.floor(max(VOICED_FLOOR_INT16, VOICED_PEAK_SHARE * peak))
    if threshold >= peak:
        return 0.0, chunk.duration_s
    loud = (samples > threshold) | (samples < -threshold)
    first, last = int(loud.argmax()), len(loud) - 1 - int(loud[::-1].argmax())
    rate = chunk.sample_rate_hz
    return float(first) / rate, float(last + 1) / rate


def chunk_words(job: ChunkJob, chunk: CachedChunk) -> tuple[TimedWord, ...]:
    """The words of the chunk's text, timed in seconds into the chunk (see the module docstring)."""
    heard = [WordTime(w, s, e) for w, s, e in chunk.words or chunk.heard]
    voice_start_s, voice_end_s = voiced_span(chunk)
    timed = align(text_words(job.chunk.spoken), heard, (voice_start_s, voice_end_s)).words
    return tuple(
        TimedWord(
            w.text,
            min(max(w.start_s, voice_start_s), voice_end_s),
            min(max(w.end_s, voice_start_s), voice_end_s),
            w.heard,
        )
        for w in timed
    )


def book_timing(plan: BookPlan, outcomes: Sequence[ChunkOutcome], result: StitchResult) -> list[ChunkTiming]:
    """Every chunk of the stitched book with its words, in the book's timeline (``result.cues`` are the chunks'
    places, one per job, in order)."""
    by_index = {o.chunk_index: o for o in outcomes}
    out = []
    for job, cue in zip(plan.jobs, result.cues, strict=True):
        chunk = by_index[job.chunk.index].chunk
        assert chunk is not None, f"chunk {job.chunk.index} of {plan.row.id} has no audio"
        start_s, end_s = cue.start_s, cue.end_s
        placed = tuple(
            TimedWord(
                w.text,
                min(max(start_s + w.start_s, start_s), end_s),
                min(max(start_s + w.end_s, start_s), end_s),
                w.heard,
            )
            for w in chunk_words(job, chunk)
        )
        out.append(ChunkTiming(job, start_s, end_s, placed))
    return out


def _t(seconds: float) -> float:
    return round(seconds, TIME_DECIMALS)


def words_document(timing: Sequence[ChunkTiming], audio_name: str, duration_s: float) -> dict[str, Any]:
    """``<id>.words.json`` (see the module docstring)."""
    chunks = [
        {
            "index": c.job.chunk.index,
            "chapter": c.job.chunk.chapter_index,
            "text": c.job.chunk.spoken,
            "start_s": _t(c.start_s),
            "end_s": _t(c.end_s),
        }
        for c in timing
    ]
    words = [
        {
            "text": w.text,
            "start_s": _t(w.start_s),
            "end_s": _t(w.end_s),
            "chapter": c.job.chunk.chapter_index,
            "chunk": c.job.chunk.index,
        }
        for c in timing
        for w in c.words
    ]
    return {
        "version": WORDS_VERSION,
        "audio": audio_name,
        "duration_s": _t(duration_s),
        "chunks": chunks,
        "words": words,
    }


def _shown(c: ChunkTiming) -> list[WordTime]:
    """A chunk's words as captions show them: as written, timed by the spoken words they stand for."""
    spoken = [WordTime(w.text, w.start_s, w.end_s) for w in c.words]
    written = c.job.chunk.written
    if written is None:
        return spoken
    return [
        WordTime(w.text, w.start_s, w.end_s) for w in align(text_words(written), spoken, (c.start_s, c.end_s)).words
    ]


def captions(
    timing: Sequence[ChunkTiming], opts: StitchOptions, language: str | None, duration_s: float
) -> tuple[str, str]:
    """The book's SubRip and WebVTT captions (the transcript flow's cue rules)."""
    words = tuple(w for c in timing for w in _shown(c))
    merged = MergedTranscript(
        text=" ".join(w.word for w in words),
        task=None,
        language=language,
        duration_s=duration_s,
        segments=(),
        words=words,
        speaker_segments=(),
        speakers=(),
        chunks=(),
    )
    default = CaptionOptions()
    gap_s = opts.chapter_pause_s
    cue_rules = CaptionOptions(max_pause_s=min(default.max_pause_s, gap_s)) if gap_s > 0 else default
    found = cues(merged, cue_rules)  # once for both
    return to_srt(merged, cue_rules, found), to_vtt(merged, cue_rules, found)


def write_timed_sidecars(
    plan: BookPlan,
    outcomes: Sequence[ChunkOutcome],
    result: StitchResult,
    opts: StitchOptions,
    srt: Path,
    vtt: Path,
    words: Path,
) -> None:
    """Write the book's captions and ``<id>.words.json`` atomically."""
    timing = book_timing(plan, outcomes, result)
    srt_text, vtt_text = captions(timing, opts, plan.row.language, result.duration_s)
    write_text_atomic(srt, srt_text)
    write_text_atomic(vtt, vtt_text)
    document = words_document(timing, result.path.name, result.duration_s)
    write_text_atomic(words, json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n")
