"""Planning a book: its chunks, and for each the cache key of the audio it will become.

Every chunk of a book is asked for at one rate, so they stitch directly: the row's ``sample_rate`` (``--sample-rate``)
or else its model's own (:func:`voxbatch.client.models.native_sample_rate_hz`: 24 kHz for Orpheus and Kokoro,
44.1 kHz for Cartesia), so nothing is resampled on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from voxbatch.cache import chunk_key
from voxbatch.client.call_options import SpeechOptions, Transport
from voxbatch.client.models import native_sample_rate_hz
from voxbatch.manifest.tts import BookRow
from voxbatch.manuscript.book import Matter
from voxbatch.manuscript.matter import chapter_numbers
from voxbatch.pipelines.audiobook.speakers import book_voices
from voxbatch.text.chapter_selection import parse_selection, select_chapters
from voxbatch.text.chunking import Chunk, ChunkedText, chunk_budget, chunk_text

BOOK_ENCODING = "pcm_s16le"


@dataclass(frozen=True)
class ChunkJob:
    """One chunk to synthesize (or find in the cache)."""

    item_id: str
    chunk: Chunk
    key: str
    speech: SpeechOptions


@dataclass(frozen=True)
class BookPlan:
    """A book broken into chunk jobs, grouped by chapter for the synthesis batches."""

    row: BookRow
    chunked: ChunkedText
    jobs: tuple[ChunkJob, ...]

    def chapter_batches(self) -> list[tuple[ChunkJob, ...]]:
        """The jobs of each chapter (the unit of one synthesis task run)."""
        batches: dict[int, list[ChunkJob]] = {}
        for job in self.jobs:
            batches.setdefault(job.chunk.chapter_index, []).append(job)
        return [tuple(batches[i]) for i in sorted(batches)]

    @property
    def sample_rate_hz(self) -> int:
        """The rate every chunk of the book is asked for, and the book is stitched at."""
        return book_sample_rate_hz(self.row)


def book_sample_rate_hz(row: BookRow) -> int:
    """The rate a book is asked for and stitched at: the row's, or its model's own."""
    return row.sample_rate_hz or native_sample_rate_hz(row.model)


def speech_options(row: BookRow) -> SpeechOptions:
    """How every chunk of ``row`` is synthesized; a streamed chunk comes with its words' times (``alignment=word``,
    the book's words.json and captions use them)."""
    return SpeechOptions(
        model=row.model,
        voice=row.voice,
        language=row.language,
        transport=cast(Transport, row.transport),
        sample_rate_hz=book_sample_rate_hz(row),
        encoding=BOOK_ENCODING,
        word_timestamps=row.transport != "rest",
    )


def _job(item_id: str, chunk: Chunk, speech: SpeechOptions, endpoint_id: str) -> ChunkJob:
    key = chunk_key(
        endpoint=endpoint_id,
        model=speech.model,
        voice=speech.voice,
        language=speech.language,
        sample_rate_hz=speech.sample_rate_hz,
        encoding=speech.encoding,
        text=chunk.spoken,
    )
    return ChunkJob(item_id=item_id, chunk=chunk, key=key, speech=speech)


def plan_book(row: BookRow, endpoint_id: str) -> BookPlan:
    """Chunk the book and key every chunk by everything that shapes its audio (``endpoint_id`` included).

    Each chunk is read by one voice (the narrator, the dialogue voice or a speaker of the cast, see
    :mod:`.speakers`) and keyed with it; a lexicon rewrites the chunks' words before they are keyed.
    """
    voices = book_voices(row, speech_options(row))
    lexicon = row.markup.lexicon
    chunked = chunk_text(
        row.text,
        max_chars=min(chunk_budget(model) for model in voices.models),
        language=row.language or "en",
        markdown=row.markdown,
        title=row.title,
        voicing=voices.voicing,
        rewrite=None if lexicon is None else lexicon.apply,
    )
    chosen = chosen_chapters(row, [chapter.title for chapter in chunked.chapters])
    jobs = tuple(
        _job(row.id, chunk, voices.speech[chunk.voice], endpoint_id)
        for chunk in chunked.chunks
        if chunk.chapter_index in chosen
    )
    return BookPlan(row=row, chunked=chunked, jobs=jobs)


def chosen_chapters(row: BookRow, titles: list[str]) -> frozenset[int]:
    """The indices of the chapters ``row.chapters`` selects (all when empty); raises ChapterSelectionError."""
    matter = row.matter if len(row.matter) == len(titles) else ()
    numbers = chapter_numbers(titles, cast(Sequence[Matter], matter))
    return select_chapters(parse_selection(row.chapters), titles, numbers)
