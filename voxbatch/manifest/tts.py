"""The audiobook manifest: one row per book, validated into :class:`BookRow` or :class:`RowError`.

Columns: ``id`` (required, unique, see :mod:`voxbatch.manifest.ids`), ``text`` or ``text_path`` (an EPUB, DOCX,
PDF, HTML, plain-text or Markdown file, recognised by its bytes: :mod:`voxbatch.manuscript`), and optional
``title``, ``author``, ``model``, ``voice``, ``language``, ``format`` (mp3, m4b, wav, flac, opus), ``cover_path``
and ``front_matter`` (``keep`` or ``skip``: whether a manuscript's front and back matter is read) and ``readalong``
(``yes`` or ``no``: whether ``<id>.readalong.epub`` is written too; by default only for an EPUB manuscript).
A manuscript's own title, author, language and cover fill the columns left empty, before the run's defaults do.
``transport`` (rest, sse, websocket) and ``sample_rate`` (Hz; empty: the model's own rate) say how speech is asked for.
The markup columns of :mod:`voxbatch.manifest.markup` (dialogue voice, cast, lexicon, pauses) say who reads what
and how; their tags are checked in the text as it will be read (a manuscript's too).
Paths are relative to the manifest's folder and must stay inside it or inside an allowed folder
(:mod:`voxbatch.manifest.paths`). Empty optional cells take the run's defaults; an empty ``voice`` with no run
default takes the row's model's default voice (:func:`voxbatch.defaults.default_voice`). Every bad row is
reported and skipped; the others run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from voxbatch.defaults import DEFAULT_AUDIO_FORMAT, DEFAULT_TTS_MODEL, default_voice
from voxbatch.manifest.errors import RowError
from voxbatch.manifest.ids import id_problem
from voxbatch.manifest.markup import BookMarkup, MarkupDefaults, MarkupReader, check_tags
from voxbatch.manifest.paths import PathPolicy, PathRefused
from voxbatch.manifest.table import read_table
from voxbatch.manuscript.book import Cover, Manuscript, ManuscriptError
from voxbatch.manuscript.reader import read_manuscript
from voxbatch.manuscript.render import render_manuscript
from voxbatch.manuscript.repair import repair_text
from voxbatch.text.chapter_selection import ChapterSelectionError, parse_selection

AUDIO_FORMATS = ("mp3", "m4b", "wav", "flac", "opus")
FRONT_MATTER_CHOICES = {"keep": True, "skip": False}
READALONG_CHOICES = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False}
TRANSPORTS = ("rest", "sse", "websocket")  # how each chunk's speech travels (voxbatch.client.wire)
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
    keep_front_matter: bool = False  # read a manuscript's front and back matter (cover, contents, licence...) too
    transport: str = "rest"
    sample_rate_hz: int | None = None  # None: each row's model's own rate
    markup: MarkupDefaults = field(default_factory=MarkupDefaults)
    chapters: str = ""  # --chapters: which body chapters are read ("": all)
    readalong: bool | None = None  # --readalong: write <id>.readalong.epub (None: for EPUB manuscripts only)


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
    matter: tuple[str, ...] = ()  # each chapter's kind (front, body, back); () for plain text: the text rules decide
    embedded_cover: Cover | None = None  # the manuscript's own cover, used when there is no cover_path
    transport: str = "rest"
    sample_rate_hz: int | None = None  # None: the model's own rate (voxbatch.client.models.native_sample_rate_hz)
    markup: BookMarkup = field(default_factory=BookMarkup)
    chapters: str = ""  # which body chapters are read (1-3,7 or titles; voxbatch.text.chapter_selection); "": all
    readalong: bool = False  # also write <id>.readalong.epub (voxbatch.readalong), once the book's words.json exists
    voice_is_default: bool = False  # nobody named the voice: the model's default, which the catalog may correct


def load_tts_manifest(
    path: Path, defaults: BookDefaults = BookDefaults(), allowed: Iterable[str | Path] = ()
) -> tuple[list[BookRow], list[RowError]]:
    """Every valid row and every problem, in manifest order.

    Paths may lead inside the manifest's folder and inside the ``allowed`` folders (``--allow-path``).
    """
    table = read_table(path, required=("id",))
    policy = PathPolicy.for_folder(path.parent, allowed)
    markup = MarkupReader(policy, defaults.markup)
    rows: list[BookRow] = []
    errors: list[RowError] = list(table.errors)
    seen: dict[str, int] = {}
    for record in table.rows:
        problems, book = _validate(record.cells, record.row, policy, defaults, seen, markup)
        errors += problems
        if book is not None:
            rows.append(book)
    errors.sort(key=lambda e: e.row or 0)
    return rows, errors


def _validate(
    cell: dict[str, str],
    row: int,
    policy: PathPolicy,
    defaults: BookDefaults,
    seen: dict[str, int],
    markup: MarkupReader,
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
    manuscript, source = _manuscript(cell, policy, problem)
    audio_format = (cell.get("format") or defaults.audio_format).lower()
    if audio_format not in AUDIO_FORMATS:
        problem("format", f"must be one of {', '.join(AUDIO_FORMATS)}; got {audio_format!r}")
    cover = _cover(cell.get("cover_path", ""), policy, problem)
    keep = _keep_front_matter(cell.get("front_matter", ""), defaults, problem)
    readalong = _readalong(cell.get("readalong", ""), defaults, problem)
    transport = (cell.get("transport") or defaults.transport).lower()
    if transport not in TRANSPORTS:
        problem("transport", f"must be one of {', '.join(TRANSPORTS)}; got {transport!r}")
    rate = _sample_rate(cell.get("sample_rate", ""), problem)
    book_markup = markup.read(cell, problem)
    chapters = cell.get("chapters") or defaults.chapters
    try:
        parse_selection(chapters)
    except ChapterSelectionError as exc:
        problem("chapters", str(exc))
    if problems:
        return problems, None
    assert manuscript is not None
    title = cell.get("title") or manuscript.title or item_id
    try:
        rendered = render_manuscript(manuscript, title=title, keep_matter=keep)
    except ManuscriptError as exc:
        problem("text_path", f"file {source} {exc}")
        return problems, None
    check_tags(rendered.text, rendered.markdown, book_markup, problem)  # the tags of the text as it will be read
    if problems:
        return problems, None
    model = cell.get("model") or defaults.model
    return [], BookRow(
        row=row,
        id=item_id,
        text=rendered.text,
        markdown=rendered.markdown,
        title=title,
        author=cell.get("author") or manuscript.author or defaults.author,
        model=model,
        voice=cell.get("voice") or defaults.voice or default_voice(model),
        language=cell.get("language") or manuscript.language or defaults.language,
        audio_format=audio_format,
        cover_path=cover,
        matter=rendered.matter,
        embedded_cover=manuscript.cover if cover is None else None,
        transport=transport,
        sample_rate_hz=rate or defaults.sample_rate_hz,
        markup=book_markup,
        chapters=chapters,
        readalong=manuscript.format == "epub" if readalong is None else readalong,
        voice_is_default=not (cell.get("voice") or defaults.voice),
    )


def _keep_front_matter(value: str, defaults: BookDefaults, problem: Report) -> bool:
    if not value:
        return defaults.keep_front_matter
    keep = FRONT_MATTER_CHOICES.get(value.strip().lower())
    if keep is None:
        problem("front_matter", f"must be keep or skip; got {value!r}")
        return False
    return keep


def _readalong(value: str, defaults: BookDefaults, problem: Report) -> bool | None:
    """The ``readalong`` cell (yes or no), else the run's default; None: the manuscript's format decides."""
    if not value.strip():
        return defaults.readalong
    wanted = READALONG_CHOICES.get(value.strip().lower())
    if wanted is None:
        problem("readalong", f"must be yes or no; got {value!r}")
    return wanted


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


def _manuscript(cell: dict[str, str], policy: PathPolicy, report: Report) -> tuple[Manuscript | None, str]:
    """The row's manuscript (inline text, or the file ``text_path`` names) and how errors name it."""
    inline, text_path = cell.get("text", ""), cell.get("text_path", "")
    if inline and text_path:
        report("text", "give either text or text_path, not both")
        return None, ""
    if not text_path:
        if not inline:
            report("text", "is empty; give the text or a text_path")
            return None, ""
        return Manuscript("text", source_text=repair_text(inline)), "text"
    path = _local_path(text_path, "text_path", policy, report)
    if path is None:
        return None, ""
    try:
        manuscript = read_manuscript(path)
    except FileNotFoundError:
        report("text_path", f"file {path} does not exist")
        return None, ""
    except ManuscriptError as exc:
        report("text_path", f"file {path.name} {exc}")
        return None, ""
    except OSError as exc:
        report("text_path", f"file {path} could not be read: {exc.strerror or exc}")
        return None, ""
    if manuscript.source_text is not None and not manuscript.source_text.strip():
        report("text_path", f"file {path} is empty")
        return None, ""
    return manuscript, path.name


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
