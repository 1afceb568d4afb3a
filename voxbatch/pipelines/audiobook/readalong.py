"""A finished book's read-along EPUB (``<id>.readalong.epub``), written after the book, its chapters.json and its
words.json, when the row asks for it (``readalong``; by default, for EPUB manuscripts).

The EPUB is made from the timing in ``<id>.words.json``; a book without that file gets none (a warning says so). The
plan adds what the timing does not say: which chunk is a chapter's heading, where paragraphs end (a chunk cut
inside a paragraph continues it), and the words as written where a lexicon changed what was sent. It is used only
when it is the plan of these very chunks (same indices, same texts); otherwise the read-along falls back to the
timing's own text.
"""

from __future__ import annotations

import logging
from pathlib import Path

from voxbatch.pipelines.audiobook.plan import BookPlan
from voxbatch.readalong.epub import BookInfo, write_readalong_epub
from voxbatch.readalong.layout import ChunkHints
from voxbatch.readalong.timing import BookTiming, ReadalongError, load_book_timing, load_chapter_titles

logger = logging.getLogger(__name__)


def words_path(out_dir: Path, item_id: str) -> Path:
    """Where a book's word timing is written (by the assemble step)."""
    return out_dir / f"{item_id}.words.json"


def readalong_path(out_dir: Path, item_id: str) -> Path:
    """Where a book's read-along EPUB is written."""
    return out_dir / f"{item_id}.readalong.epub"


def readalong_missing(plan: BookPlan, out_dir: Path) -> bool:
    """Whether a finished book lacks the read-along EPUB it should have (its words.json exists, the EPUB not)."""
    item_id = plan.row.id
    return (
        plan.row.readalong and words_path(out_dir, item_id).is_file() and not readalong_path(out_dir, item_id).is_file()
    )


def chunk_hints(plan: BookPlan, timing: BookTiming) -> dict[int, ChunkHints] | None:
    """Headings, paragraph ends and written words of the timing's chunks, from the plan; None when the timing is not
    of the plan's chunks."""
    jobs = {job.chunk.index: job.chunk for job in plan.jobs}
    if any(jobs.get(timed.index) is None or jobs[timed.index].spoken != timed.text for timed in timing.chunks):
        return None
    return {
        index: ChunkHints(chunk.is_heading, paragraph_after=chunk.pause_after != "sentence", shown=chunk.written)
        for index, chunk in jobs.items()
    }


def write_book_readalong(plan: BookPlan, audio: Path, chapters_json: Path, cover: Path | None) -> Path | None:
    """Write the read-along EPUB beside the finished book ``audio`` when its row wants one and its words.json exists;
    return its path (None: none written). Raises :class:`ReadalongError` (one line) when it cannot be made."""
    row = plan.row
    if not row.readalong:
        return None
    words = words_path(audio.parent, row.id)
    if not words.is_file():
        logger.warning("book %s: no %s, so no read-along EPUB", row.id, words.name)
        return None
    try:
        timing = load_book_timing(words)
        info = BookInfo(row.id, row.title, row.author, row.language, cover, narrator=row.voice)
        result = write_readalong_epub(
            readalong_path(audio.parent, row.id),
            audio,
            timing,
            load_chapter_titles(chapters_json),
            info,
            hints=chunk_hints(plan, timing),
        )
    except ReadalongError as exc:
        raise ReadalongError(f"book {row.id}: read-along EPUB: {exc}") from exc
    return result.path
