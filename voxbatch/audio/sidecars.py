"""Files written next to a stitched book: ``chapters.json`` and an ``.srt`` with one cue per chunk."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from voxbatch.atomic import write_text_atomic

if TYPE_CHECKING:
    from pathlib import Path

    from voxbatch.audio.stitch import StitchResult

_BLANK_LINES = re.compile(r"\n\s*\n+")


def srt_timestamp(seconds: float) -> str:
    """``HH:MM:SS,mmm`` (SubRip), rounded to the millisecond."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d},{rest % 1000:03d}"


def chapters_json(result: StitchResult) -> str:
    """``[{"title", "start", "end"}, ...]`` with times in seconds (millisecond precision)."""
    rows = [{"title": c.title, "start": round(c.start_s, 3), "end": round(c.end_s, 3)} for c in result.chapters]
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def srt(result: StitchResult) -> str:
    """SubRip text: one cue per piece, numbered from 1; blank lines inside a text are closed up
    (a blank line would end the cue)."""
    blocks = []
    for cue in result.cues:
        text = _BLANK_LINES.sub("\n", cue.text.replace("\r\n", "\n")).strip()
        blocks.append(f"{cue.index}\n{srt_timestamp(cue.start_s)} --> {srt_timestamp(cue.end_s)}\n{text}\n")
    return "\n".join(blocks)


def write_chapters_json(result: StitchResult, path: Path) -> Path:
    """Write :func:`chapters_json` atomically."""
    return write_text_atomic(path, chapters_json(result))


def write_srt(result: StitchResult, path: Path) -> Path:
    """Write :func:`srt` atomically."""
    return write_text_atomic(path, srt(result))
