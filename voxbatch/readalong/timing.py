"""A finished book's timing, read from ``<id>.words.json`` and ``<id>.chapters.json`` and checked.

``words.json`` (version 1), written beside each finished book::

    {"version": 1, "audio": "<file name of the book>", "duration_s": float,
     "chunks": [{"index": int, "chapter": int, "text": str, "start_s": float, "end_s": float}, ...],
     "words": [{"text": str, "start_s": float, "end_s": float, "chapter": int, "chunk": int}, ...]}

Times are seconds in the finished book's timeline; ``chunks`` are in book order (``index`` increasing) and
``text`` is exactly what was sent; the words of a chunk are its text's words, in order. ``chapters.json``
(:mod:`voxbatch.audio.sidecars`) names one chapter per distinct ``chapter`` of the chunks, in order.

A file that does not hold this raises :class:`ReadalongError` with one line naming the file, the entry and why.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORDS_VERSION = 1
END_SLACK_S = 0.001  # a chunk may end this far past the book (rounding)


class ReadalongError(ValueError):
    """A read-along EPUB cannot be made (inconsistent timing files, unusable audio) or is not valid; one line."""


@dataclass(frozen=True)
class TimedWord:
    """One word as spoken: its text and when, in the book's timeline."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class TimedChunk:
    """One chunk as spoken: the text sent, its chapter, when its speech runs, and its words in order."""

    index: int
    chapter: int
    text: str
    start_s: float
    end_s: float
    words: tuple[TimedWord, ...] = ()


@dataclass(frozen=True)
class BookTiming:
    """Every chunk of a finished book, in order, with the audio file it is timed against."""

    audio: str  # the book's file name
    duration_s: float
    chunks: tuple[TimedChunk, ...]

    def chapters(self) -> list[tuple[int, tuple[TimedChunk, ...]]]:
        """The chunks grouped by chapter, chapters in book order: ``[(chapter, chunks), ...]``."""
        groups: list[tuple[int, list[TimedChunk]]] = []
        for chunk in self.chunks:
            if not groups or groups[-1][0] != chunk.chapter:
                groups.append((chunk.chapter, []))
            groups[-1][1].append(chunk)
        return [(chapter, tuple(chunks)) for chapter, chunks in groups]


def _number(entry: dict[str, Any], key: str, where: str) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ReadalongError(f"{where}: {key} must be a number of seconds >= 0; got {value!r}")
    return float(value)


def _integer(entry: dict[str, Any], key: str, where: str) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReadalongError(f"{where}: {key} must be a whole number; got {value!r}")
    return value


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise ReadalongError(f"{where}: {key} must be text; got {value!r}")
    return value


def _entries(data: dict[str, Any], key: str, name: str) -> list[dict[str, Any]]:
    entries = data.get(key)
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ReadalongError(f"{name}: {key} must be a list of objects")
    return entries


def _chunk(entry: dict[str, Any], where: str) -> TimedChunk:
    start_s, end_s = _number(entry, "start_s", where), _number(entry, "end_s", where)
    if end_s < start_s:
        raise ReadalongError(f"{where}: ends ({end_s:g} s) before it starts ({start_s:g} s)")
    index, chapter = _integer(entry, "index", where), _integer(entry, "chapter", where)
    return TimedChunk(index, chapter, _text(entry, "text", where), start_s, end_s)


def parse_book_timing(data: object, name: str = "words.json") -> BookTiming:
    """The timing in a parsed ``words.json`` document; ``name`` is how errors call the file."""
    if not isinstance(data, dict):
        raise ReadalongError(f"{name}: must be a JSON object")
    if data.get("version") != WORDS_VERSION:
        raise ReadalongError(f"{name}: version must be {WORDS_VERSION}; got {data.get('version')!r}")
    audio = _text(data, "audio", name)
    duration_s = _number(data, "duration_s", name)
    chunks: list[TimedChunk] = []
    chapters_seen: set[int] = set()
    for number, entry in enumerate(_entries(data, "chunks", name)):
        chunk = _chunk(entry, f"{name}: chunk {number}")
        if chunks and chunk.index <= chunks[-1].index:
            raise ReadalongError(f"{name}: chunk {number}: index {chunk.index} does not follow {chunks[-1].index}")
        if chunk.chapter in chapters_seen and chunks[-1].chapter != chunk.chapter:
            raise ReadalongError(f"{name}: chunk {number}: chapter {chunk.chapter} resumes after another chapter")
        if chunk.end_s > duration_s + END_SLACK_S:
            raise ReadalongError(f"{name}: chunk {number}: ends at {chunk.end_s:g} s, after the book's end")
        chapters_seen.add(chunk.chapter)
        chunks.append(chunk)
    if not chunks:
        raise ReadalongError(f"{name}: has no chunks")
    words: dict[int, list[TimedWord]] = {chunk.index: [] for chunk in chunks}
    for number, entry in enumerate(_entries(data, "words", name)):
        where = f"{name}: word {number}"
        chunk_index = _integer(entry, "chunk", where)
        if chunk_index not in words:
            raise ReadalongError(f"{where}: chunk {chunk_index} is not one of the chunks")
        start_s, end_s = _number(entry, "start_s", where), _number(entry, "end_s", where)
        words[chunk_index].append(TimedWord(_text(entry, "text", where), start_s, max(start_s, end_s)))
    timed = tuple(TimedChunk(c.index, c.chapter, c.text, c.start_s, c.end_s, tuple(words[c.index])) for c in chunks)
    return BookTiming(audio, duration_s, timed)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReadalongError(f"{path.name} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReadalongError(f"{path.name} cannot be read as JSON: {exc}") from exc


def load_book_timing(path: Path) -> BookTiming:
    """The timing in the ``words.json`` at ``path``."""
    return parse_book_timing(_read_json(path), path.name)


def load_chapter_titles(path: Path) -> list[str]:
    """The chapter titles of a ``chapters.json`` (``[{"title", "start", "end"}, ...]``), in order."""
    data = _read_json(path)
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ReadalongError(f"{path.name}: must be a list of chapters")
    return [_text(row, "title", f"{path.name}: chapter {number}") for number, row in enumerate(data)]
