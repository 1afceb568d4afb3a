"""The audiobook manifest: one row per book, validated into :class:`BookRow` or :class:`RowError`.

Columns: ``id`` (required, unique, ``[A-Za-z0-9._-]+``), ``text`` or ``text_path`` (plain text or Markdown;
relative paths resolve against the manifest's folder), and optional ``title``, ``author``, ``model``,
``voice``, ``language``, ``format`` (mp3, m4b, wav, flac, opus) and ``cover_path``. Empty optional cells
take the run's defaults. Every bad row is reported and skipped; the others run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voxbatch.manifest.errors import RowError
from voxbatch.manifest.table import FIRST_DATA_ROW, ID_PATTERN, read_table

AUDIO_FORMATS = ("mp3", "m4b", "wav", "flac", "opus")
MARKDOWN_SUFFIXES = (".md", ".markdown")
COVER_SUFFIXES = (".jpg", ".jpeg", ".png")
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

Report = Callable[[str, str], None]  # (column, reason)


@dataclass(frozen=True)
class BookDefaults:
    """What a row gets for an empty optional column (the flow's parameters)."""

    model: str = "hexgrad/Kokoro-82M"
    voice: str = "af_heart"
    language: str | None = None
    audio_format: str = "mp3"
    author: str | None = None


@dataclass(frozen=True)
class BookRow:
    """One valid manifest row, its text already read."""

    row: int
    id: str
    text: str
    markdown: bool
    title: str
    author: str | None
    model: str
    voice: str
    language: str | None
    audio_format: str
    cover_path: Path | None


def load_tts_manifest(path: Path, defaults: BookDefaults = BookDefaults()) -> tuple[list[BookRow], list[RowError]]:
    """Every valid row and every problem, in manifest order."""
    frame = read_table(path, required=("id",))
    base = path.parent
    rows: list[BookRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for offset, record in enumerate(frame.to_dict(orient="records")):
        cells = {str(k): str(v) for k, v in record.items()}
        row_number = offset + FIRST_DATA_ROW
        problems, book = _validate(cells, row_number, base, defaults, seen)
        errors += problems
        if book is not None:
            rows.append(book)
    return rows, errors


def _validate(
    cell: dict[str, str], row: int, base: Path, defaults: BookDefaults, seen: dict[str, int]
) -> tuple[list[RowError], BookRow | None]:
    item_id = cell.get("id", "")
    problems: list[RowError] = []

    def problem(column: str, reason: str) -> None:
        problems.append(RowError(row, column, reason, item_id or None))

    if not item_id:
        problem("id", "is empty; every row needs a unique id")
    elif not ID_PATTERN.match(item_id):
        problem("id", "may only contain letters, digits, '.', '_' and '-' (it names the output files)")
    elif item_id in seen:
        problem("id", f"duplicates the id of row {seen[item_id]}")
    else:
        seen[item_id] = row
    text, markdown = _text(cell, base, problem)
    audio_format = (cell.get("format") or defaults.audio_format).lower()
    if audio_format not in AUDIO_FORMATS:
        problem("format", f"must be one of {', '.join(AUDIO_FORMATS)}; got {audio_format!r}")
    cover = _cover(cell.get("cover_path", ""), base, problem)
    if problems:
        return problems, None
    assert text is not None
    return [], BookRow(
        row=row,
        id=item_id,
        text=text,
        markdown=markdown,
        title=cell.get("title") or item_id,
        author=cell.get("author") or defaults.author,
        model=cell.get("model") or defaults.model,
        voice=cell.get("voice") or defaults.voice,
        language=cell.get("language") or defaults.language,
        audio_format=audio_format,
        cover_path=cover,
    )


def _text(cell: dict[str, str], base: Path, report: Report) -> tuple[str | None, bool]:
    inline, text_path = cell.get("text", ""), cell.get("text_path", "")
    if inline and text_path:
        report("text", "give either text or text_path, not both")
        return None, False
    if text_path:
        path = (base / text_path).resolve()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            report("text_path", f"file {path} does not exist")
            return None, False
        except (OSError, UnicodeDecodeError) as exc:
            report("text_path", f"file {path} could not be read as UTF-8 text: {exc}")
            return None, False
        if not text.strip():
            report("text_path", f"file {path} is empty")
            return None, False
        return text, path.suffix.lower() in MARKDOWN_SUFFIXES
    if not inline:
        report("text", "is empty; give the text or a text_path")
        return None, False
    return inline, False


def _cover(value: str, base: Path, problem: Report) -> Path | None:
    if not value:
        return None
    path = (base / value).resolve()
    if not path.is_file():
        problem("cover_path", f"file {path} does not exist")
        return None
    if path.suffix.lower() not in COVER_SUFFIXES:
        problem("cover_path", f"must be a JPEG or PNG image; got {path.name}")
        return None
    with path.open("rb") as fh:
        head = fh.read(len(PNG_MAGIC))
    if not (head.startswith(JPEG_MAGIC) or head.startswith(PNG_MAGIC)):
        problem("cover_path", f"file {path.name} is not a JPEG or PNG image (its first bytes say otherwise)")
        return None
    return path
