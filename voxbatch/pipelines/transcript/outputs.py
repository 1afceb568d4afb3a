"""A recording's transcript files, written as soon as it is done, and how a later run knows they are done.

Every chosen format (``txt``, ``srt``, ``vtt``, ``json``) is written atomically; then a small marker,
``<out>/.voxbatch-done/<id>.json``, records the fingerprint (audio hash plus options) the files were made
for. A later run skips the file when the marker's fingerprint matches and every format asked for exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxbatch.atomic import write_text_atomic

OUTPUT_FORMATS = ("txt", "srt", "vtt", "json")
MARKER_DIR = ".voxbatch-done"


@dataclass(frozen=True)
class Finished:
    """Outputs already made for exactly this audio and these options."""

    paths: dict[str, Path]
    duration_s: float
    chunks: int


def marker_path(out_dir: Path, item_id: str) -> Path:
    return out_dir / MARKER_DIR / f"{item_id}.json"


def parse_formats(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"txt,srt"`` or a list into a tuple in canonical order; raises ValueError for unknown formats."""
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = {item.strip().lower() for item in items if item.strip()}
    if "all" in wanted:
        return OUTPUT_FORMATS
    unknown = sorted(wanted - set(OUTPUT_FORMATS))
    if unknown:
        raise ValueError(f"unknown output format(s) {', '.join(unknown)}; choose from {', '.join(OUTPUT_FORMATS)}")
    if not wanted:
        raise ValueError(f"choose at least one output format from {', '.join(OUTPUT_FORMATS)}")
    return tuple(f for f in OUTPUT_FORMATS if f in wanted)


def find_finished(out_dir: Path, item_id: str, fingerprint: str, formats: tuple[str, ...]) -> Finished | None:
    """The outputs of ``item_id`` if they were made for ``fingerprint`` and every format in ``formats`` exists."""
    try:
        marker = json.loads(marker_path(out_dir, item_id).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("fingerprint") != fingerprint:
        return None
    made = marker.get("outputs") or {}
    paths = {fmt: out_dir / str(made[fmt]) for fmt in formats if fmt in made}
    if len(paths) != len(formats) or not all(p.is_file() for p in paths.values()):
        return None
    return Finished(paths, float(marker.get("duration_s") or 0.0), int(marker.get("chunks") or 0))


def write_outputs(
    out_dir: Path,
    item_id: str,
    rendered: Mapping[str, str],
    *,
    fingerprint: str,
    duration_s: float,
    chunks: int,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``rendered`` (format -> text) as ``<id>.<format>``, then the marker that says they are done."""
    paths = {fmt: write_text_atomic(out_dir / f"{item_id}.{fmt}", text) for fmt, text in rendered.items()}
    marker = {
        "id": item_id,
        "fingerprint": fingerprint,
        "outputs": {fmt: path.name for fmt, path in paths.items()},
        "duration_s": duration_s,
        "chunks": chunks,
        **(extra or {}),
    }
    write_text_atomic(marker_path(out_dir, item_id), json.dumps(marker, ensure_ascii=False, indent=2) + "\n")
    return paths
