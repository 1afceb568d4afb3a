"""The audiobook manifest: one row per book, validated into :class:`BookRow` or :class:`RowError`.

Columns: ``id`` (required, unique, see :mod:`voxbatch.manifest.ids`), ``text`` or ``text_path`` (plain UTF-8
text or Markdown; checked by its content, see :mod:`voxbatch.manifest.content`), and optional ``title``,
``author``, ``model``, ``voice``, ``language``, ``format`` (mp3, m4b, wav, flac, opus), ``cover_path``,
``transport`` (rest, sse, websocket) and ``sample_rate`` (Hz; empty: the model's own rate).
Paths are relative to the manifest's folder and must stay inside it or inside an allowed folder
(:mod:`voxbatch.manifest.paths`). Empty optional cells take the run's defaults; an empty ``voice`` with no run
default takes the row's model's default voice (:func:`voxbatch.defaults.default_voice`). Every bad row is
reported and skipped; the others run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from voxbatch.defaults import DEFAULT_AUDIO_FORMAT, DEFAULT_TTS_MODEL, default_voice
from voxbatch.manifest.content import ContentError, read_text_file
from voxbatch.manifest.errors import RowError
from voxbatch.manifest.ids import id_problem
from voxbatch.manifest.paths import PathPolicy, PathRefused
from voxbatch.manifest.table import read_table

AUDIO_FORMATS = ("mp3", "m4b", "wav", "flac", "opus")
TRANSPORTS = ("rest", "sse", "websocket")  # how each chunk's speech travels (voxbatch.client.wire)
MARKDOWN_SUFFIXES = (".md", ".markdown")
COVER_SUFFIXES = (".jpg", ".jpeg", ".png")
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

Report = Callable[[str, str], None]  # (column, reason)


@dataclass(frozen=True)
class BookDefaults:
    """What a row gets for an empty optional column (the flow's parameters)."""

    model: str = DEFAULT_TTS_MODEL
    voice: str | None = None  # None: each row's model's default voice
    language: str | None = None
    audio_format: str = DEFAULT_AUDIO_FORMAT
    author: str | None = None
    transport: str = "rest"
    sample_rate_hz: int | None = None  # None: each row's model's own rate


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
    transport: str = "rest"
    sample_rate_hz: int | None = None  # None: the model's own rate (voxbatch.client.models.native_sample_rate_hz)


def load_tts_manifest(
    path: Path, defaults: BookDefaults = BookDefaults(), allowed: Iterable[str | Path] = ()
) -> tuple[list[BookRow], list[RowError]]:
    """Every valid row and every problem, in manifest order.

    Paths may lead inside the manifest's folder and inside the ``allowed`` folders (``--allow-path``).
    """
    table = read_table(path, required=("id",))
    policy = PathPolicy.for_folder(path.parent, allowed)
    rows: list[BookRow] = []
    errors: list[RowError] = list(table.errors)
    seen: dict[str, int] = {}
    for record in table.rows:
        problems, book = _validate(record.cells, record.row, policy, defaults, seen)
        errors += problems
        if book is not None:
            rows.append(book)
    errors.sort(key=lambda e: e.row or 0)
    return rows, errors


def _validate(
    cell: dict[str, str], row: int, policy: PathPolicy, defaults: BookDefaults, seen: dict[str, int]
) -> tuple[list[RowError], BookRow | None]:
    item_id = cell.get("id", "")
    problems: list[RowError] = []

    def problem(column: str, reason: str) -> None:
        problems.append(RowError(row, column, reason, item_id or None))

    bad_id = id_problem(item_id)
    if bad_id is not None:
        problem("id", bad_id)
    elif item_id in seen:
        problem("id", f"duplicates the id of row {seen[item_id]}")
    else:
        seen[item_id] = row
    text, markdown = _text(cell, policy, problem)
    audio_format = (cell.get("format") or defaults.audio_format).lower()
    if audio_format not in AUDIO_FORMATS:
        problem("format", f"must be one of {', '.join(AUDIO_FORMATS)}; got {audio_format!r}")
    cover = _cover(cell.get("cover_path", ""), policy, problem)
    transport = (cell.get("transport") or defaults.transport).lower()
    if transport not in TRANSPORTS:
        problem("transport", f"must be one of {', '.join(TRANSPORTS)}; got {transport!r}")
    rate = _sample_rate(cell.get("sample_rate", ""), problem)
    if problems:
        return problems, None
    assert text is not None
    model = cell.get("model") or defaults.model
    return [], BookRow(
        row=row,
        id=item_id,
        text=text,
        markdown=markdown,
        title=cell.get("title") or item_id,
        author=cell.get("author") or defaults.author,
        model=model,
        voice=cell.get("voice") or defaults.voice or default_voice(model),
        language=cell.get("language") or defaults.language,
        audio_format=audio_format,
        cover_path=cover,
        transport=transport,
        sample_rate_hz=rate or defaults.sample_rate_hz,
    )


def _sample_rate(value: str, problem: Report) -> int | None:
    """A ``sample_rate`` cell in Hz (``44100``, or ``44100.0`` from a Parquet float column), or None when empty."""
    if not value.strip():
        return None
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not (rate.is_integer() and 0 < rate < 1e6):
        problem("sample_rate", f"must be a whole number of Hz such as 24000 or 44100; got {value!r}")
        return None
    return int(rate)


def _local_path(value: str, column: str, policy: PathPolicy, report: Report) -> Path | None:
    """The resolved path of a cell that names a local file, or None (reported) when it may not be used."""
    if "://" in value:
        report(column, f"must be a local file path, not a URL ({value!r})")
        return None
    try:
        return policy.resolve(value)
    except PathRefused as exc:
        report(column, str(exc))
        return None


def _text(cell: dict[str, str], policy: PathPolicy, report: Report) -> tuple[str | None, bool]:
    inline, text_path = cell.get("text", ""), cell.get("text_path", "")
    if inline and text_path:
        report("text", "give either text or text_path, not both")
        return None, False
    if text_path:
        path = _local_path(text_path, "text_path", policy, report)
        if path is None:
            return None, False
        try:
            text = read_text_file(path)
        except FileNotFoundError:
            report("text_path", f"file {path} does not exist")
            return None, False
        except ContentError as exc:
            report("text_path", f"file {path.name} {exc}")
            return None, False
        except OSError as exc:
            report("text_path", f"file {path} could not be read: {exc.strerror or exc}")
            return None, False
        if not text.strip():
            report("text_path", f"file {path} is empty")
            return None, False
        return text, path.suffix.lower() in MARKDOWN_SUFFIXES
    if not inline:
        report("text", "is empty; give the text or a text_path")
        return None, False
    return inline, False


def _cover(value: str, policy: PathPolicy, problem: Report) -> Path | None:
    if not value:
        return None
    path = _local_path(value, "cover_path", policy, problem)
    if path is None:
        return None
    if not path.exists():
        problem("cover_path", f"file {path} does not exist")
        return None
    if not path.is_file():
        problem("cover_path", f"{path} is not a file")
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
