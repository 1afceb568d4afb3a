"""Small finished books for read-along tests: real audio stitched by the book stitcher from tone chunks, and the
``words.json`` / ``chapters.json`` the assemble step writes beside it (words spread evenly over each chunk's audio).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxbatch.audio.stitch import BookMeta, Piece, StitchOptions, StitchResult, stitch_book, write_chapters_json
from voxbatch.audio.stream import decode_stream
from voxbatch.readalong.timing import BookTiming, parse_book_timing
from voxbatch.text.chunking import PauseKind

RATE_HZ = 24000
SECONDS_PER_WORD = 0.2
WORD_SHARE = 0.8  # of a word's slot that it is heard; the rest is the gap before the next


@dataclass(frozen=True)
class Spoken:
    """One chunk of a test book: its chapter, text and the pause after it."""

    chapter: int
    text: str
    pause_after: PauseKind = "paragraph"


TWO_CHAPTERS = (
    Spoken(0, "CHAPTER I. The Door", "chapter"),
    Spoken(0, "Anna opened the door. The hall was dark and quiet.\n\nShe listened for a while.", "sentence"),
    Spoken(0, 'Then she went in. "Hello?" she said. Nobody answered.', "chapter"),
    Spoken(1, "CHAPTER II. The Stairs", "chapter"),
    Spoken(1, "The lamp showed a staircase. Mr. Smith was asleep at the top.", "chapter"),
)
TITLES = ("CHAPTER I. The Door", "CHAPTER II. The Stairs")


@dataclass(frozen=True)
class FinishedBook:
    """A finished book on disk and its timing."""

    audio: Path
    words_json: Path
    chapters_json: Path
    timing: BookTiming
    result: StitchResult


def _tone(path: Path, seconds: float) -> Path:
    samples = np.arange(round(seconds * RATE_HZ))
    (np.sin(samples * 0.07) * 4000).astype("<i2").tofile(path)
    return path


def words_document(result: StitchResult, spoken: Sequence[Spoken], audio_name: str) -> dict[str, Any]:
    """The ``words.json`` of a stitched book: every whitespace word of each chunk, spread evenly over its cue."""
    chunks, words = [], []
    for index, (cue, chunk) in enumerate(zip(result.cues, spoken, strict=True)):
        chunks.append(
            {"index": index, "chapter": chunk.chapter, "text": chunk.text, "start_s": cue.start_s, "end_s": cue.end_s}
        )
        tokens = chunk.text.split()
        slot_s = (cue.end_s - cue.start_s) / len(tokens)
        for number, token in enumerate(tokens):
            start_s = cue.start_s + number * slot_s
            entry = {"text": token.strip('".,?!'), "start_s": start_s, "end_s": start_s + WORD_SHARE * slot_s}
            words.append({**entry, "chapter": chunk.chapter, "chunk": index})
    return {"version": 1, "audio": audio_name, "duration_s": result.duration_s, "chunks": chunks, "words": words}


def make_book(
    folder: Path,
    spoken: Sequence[Spoken] = TWO_CHAPTERS,
    titles: Sequence[str] = TITLES,
    audio_format: str = "mp3",
    item_id: str = "book",
) -> FinishedBook:
    """Stitch a book of ``spoken`` chunks (a tone of ``SECONDS_PER_WORD`` per word) into ``folder``, with its
    chapters.json and words.json."""
    folder.mkdir(parents=True, exist_ok=True)
    pieces = [
        Piece(
            _tone(folder / f"chunk-{n}.pcm", SECONDS_PER_WORD * len(chunk.text.split())),
            chunk.pause_after,
            chunk.chapter,
            chunk.text,
            titles[chunk.chapter],
            sample_rate_hz=RATE_HZ,
        )
        for n, chunk in enumerate(spoken)
    ]
    audio = folder / f"{item_id}.{audio_format}"
    options = StitchOptions(audio_format=audio_format, sample_rate_hz=RATE_HZ)  # type: ignore[arg-type]
    result = stitch_book(pieces, audio, BookMeta(title="Book"), options)
    chapters_json = write_chapters_json(result, folder / f"{item_id}.chapters.json")
    document = words_document(result, spoken, audio.name)
    words_json = folder / f"{item_id}.words.json"
    words_json.write_text(json.dumps(document), encoding="utf-8")
    return FinishedBook(audio, words_json, chapters_json, parse_book_timing(document), result)


def decoded_duration_s(path: Path, rate_hz: int = 48000) -> float:
    """The audio's duration as its samples say (decoding the file itself, as a player does)."""
    return sum(len(block) for block in decode_stream(path, rate_hz)) / rate_hz
