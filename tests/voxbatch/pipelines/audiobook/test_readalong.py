"""The assemble step writes a book's read-along EPUB once its words.json exists, with the plan's headings and
paragraphs; a finished book that lacks the EPUB it should have is assembled again."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from lxml import etree

from tests.voxbatch.readalong.factory import decoded_duration_s
from voxbatch.cache import CachedChunk
from voxbatch.manifest.tts import BookRow
from voxbatch.pipelines.audiobook.assemble import already_built, assemble_book
from voxbatch.pipelines.audiobook.plan import BookPlan, plan_book
from voxbatch.pipelines.audiobook.readalong import chunk_hints, readalong_path, words_path, write_book_readalong
from voxbatch.pipelines.audiobook.synthesize import ChunkOutcome
from voxbatch.readalong.timing import BookTiming, TimedChunk
from voxbatch.readalong.validate import epub_problems

RATE_HZ = 24000
SECONDS_PER_WORD = 0.15
PARAGRAPH = "Anna opened the door and listened. The hall was dark, and somewhere far above a clock was ticking. "
TEXT = (
    "CHAPTER I.\nThe Door\n\n"
    + PARAGRAPH * 6  # longer than a Kokoro chunk: cut inside the paragraph
    + "\n\nShe found a lamp.\n\n"
    + "CHAPTER II.\nThe Stairs\n\n"
    + PARAGRAPH * 3
    + "\n\nShe climbed the stairs.\n"
)
ROW = BookRow(2, "book", TEXT, False, "Book", "Ann", "hexgrad/Kokoro-82M", "af_heart", "en", "mp3", None)
XHTML = "{http://www.w3.org/1999/xhtml}"
_SRT_TIME_RE = re.compile(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)")


def _outcomes(plan: BookPlan, folder: Path) -> list[ChunkOutcome]:
    """Every chunk 'synthesized' as a tone as long as its words."""
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for job in plan.jobs:
        seconds = SECONDS_PER_WORD * len(job.chunk.spoken.split())
        pcm = folder / f"{job.chunk.index}.pcm"
        (np.sin(np.arange(round(seconds * RATE_HZ)) * 0.07) * 4000).astype("<i2").tofile(pcm)
        chunk = CachedChunk(job.key, pcm, RATE_HZ, "pcm_s16le", seconds, ())
        outcomes.append(ChunkOutcome(job.item_id, job.chunk.index, chunk, from_cache=False))
    return outcomes


def _seconds(parts: tuple[str, ...]) -> float:
    hours, minutes, seconds, millis = (int(p) for p in parts)
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def test_a_readalong_asked_for_after_the_book_was_made_is_made_from_the_cache(tmp_path: Path) -> None:
    out = tmp_path / "out"
    plain = plan_book(replace(ROW, readalong=False), "endpoint")
    outcomes = _outcomes(plain, tmp_path / "chunks")
    assemble_book(plain, outcomes, out)
    assert words_path(out, "book").is_file() and not readalong_path(out, "book").exists()
    assert already_built(plain, out) is not None
    plan = plan_book(replace(ROW, readalong=True), "endpoint")
    assert already_built(plan, out) is None  # asked for, possible, and missing: assemble again (from the cache)
    assemble_book(plan, outcomes, out)
    epub = readalong_path(out, "book")
    assert epub_problems(epub, decoded_duration_s(out / "book.mp3")) == []
    assert already_built(plan, out) is not None
    with zipfile.ZipFile(epub) as archive:
        page = etree.fromstring(archive.read("OEBPS/chapter-001.xhtml"))
    headings = ["".join(h.itertext()) for h in page.iter(f"{XHTML}h1")]
    paragraphs = ["".join(p.itertext()) for p in page.iter(f"{XHTML}p")]
    assert headings == ["CHAPTER I. The Door"]  # the heading chunk, as one sentence
    assert paragraphs == [(PARAGRAPH * 6).strip(), "She found a lamp."]  # the plan's paragraphs, not its chunks


def test_the_assemble_step_writes_words_json_and_the_readalong_itself(tmp_path: Path) -> None:
    plan = plan_book(replace(ROW, readalong=True), "endpoint")
    assemble_book(plan, _outcomes(plan, tmp_path / "chunks"), tmp_path / "out")
    assert words_path(tmp_path / "out", "book").is_file()
    epub = readalong_path(tmp_path / "out", "book")
    assert epub_problems(epub, decoded_duration_s(tmp_path / "out" / "book.mp3")) == []


def test_no_readalong_unless_the_row_wants_one(tmp_path: Path) -> None:
    plan = plan_book(ROW, "endpoint")
    (tmp_path / "book.words.json").write_text("{}")
    assert write_book_readalong(plan, tmp_path / "book.mp3", tmp_path / "book.chapters.json", None) is None


def test_hints_come_from_the_plan_only_when_the_timing_is_of_its_chunks() -> None:
    plan = plan_book(ROW, "endpoint")
    chunks = tuple(TimedChunk(job.chunk.index, job.chunk.chapter_index, job.chunk.spoken, 0, 0) for job in plan.jobs)
    hints = chunk_hints(plan, BookTiming("book.mp3", 1.0, chunks))
    assert hints is not None and hints[0].heading and not hints[1].heading
    assert [hints[job.chunk.index].paragraph_after for job in plan.jobs] == [
        job.chunk.pause_after != "sentence" for job in plan.jobs
    ]
    other = (replace(chunks[0], text="Something else"), *chunks[1:])
    assert chunk_hints(plan, BookTiming("book.mp3", 1.0, other)) is None
