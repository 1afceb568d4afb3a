"""The transcript inputs: a manifest (CSV or Parquet) of audio files, or a folder of them.

Manifest columns: ``audio_path`` (required: a path relative to the manifest's folder, or an http(s) URL),
and optional ``id`` (derived from the file name when empty, made unique and safe), ``language`` (one the
model knows, see :mod:`voxbatch.manifest.languages`), ``model``, ``prompt``, ``diarize`` (true/false) and
``task`` (``transcribe`` or ``translate``). Empty optional cells take the run's defaults. Local paths must
stay inside the manifest's folder (a folder's files inside the folder, symlinks included) or inside an
allowed folder (:mod:`voxbatch.manifest.paths`). A folder contributes every file under it (recursively)
whose extension is an audio extension; whether it really is audio is decided later, by probing it. Every
bad row is reported and skipped; the others run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from voxbatch.defaults import DEFAULT_STT_MODEL
from voxbatch.manifest.content import not_audio
from voxbatch.manifest.errors import RowError
from voxbatch.manifest.ids import FALLBACK_ID, id_problem, safe_id, shorten
from voxbatch.manifest.languages import language_problem, normalize_language
from voxbatch.manifest.paths import PathPolicy, PathRefused
from voxbatch.manifest.table import read_table

__all__ = ["FALLBACK_ID", "AudioRow", "SttDefaults", "load_stt_folder", "load_stt_inputs", "load_stt_manifest"]
__all__ += ["safe_id", "unique_ids"]

SttTask = Literal["transcribe", "translate"]
TASKS: tuple[SttTask, ...] = ("transcribe", "translate")
AUDIO_SUFFIXES = frozenset(
    ".aac .aif .aiff .amr .au .caf .flac .m4a .m4b .mka .mkv .mov .mp2 .mp3 .mp4 .mpga .oga .ogg .opus .wav .weba "
    ".webm .wma .wv".split()
)
TRUE_WORDS = frozenset({"true", "yes", "1", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", ""})

Report = Callable[[str, str], None]  # (column, reason)


@dataclass(frozen=True)
class SttDefaults:
    """What a row gets for an empty optional column (the flow's parameters)."""

    model: str = DEFAULT_STT_MODEL
    language: str | None = None
    prompt: str | None = None
    diarize: bool = False
    task: SttTask = "transcribe"


@dataclass(frozen=True)
class AudioRow:
    """One input recording: where it is and how to transcribe it.

    ``source`` is a local path (absolute) or an http(s) URL; ``row`` is the manifest row (None for folders).
    """

    row: int | None
    id: str
    source: str
    model: str
    language: str | None
    prompt: str | None
    diarize: bool
    task: SttTask

    @property
    def is_url(self) -> bool:
        return is_url(self.source)

    def error(self, column: str, reason: str) -> RowError:
        """A :class:`RowError` about this input."""
        return RowError(self.row, column, reason, self.id, None if self.row is not None else self.source)


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def unique_ids(wanted: Iterable[str], taken: set[str]) -> list[str]:
    """Make each wanted id unique against ``taken`` (and each other) by appending ``-2``, ``-3``, ..."""
    out = []
    for base in wanted:
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = shorten(f"{base}-{n}"), n + 1
        taken.add(candidate)
        out.append(candidate)
    return out


def _id_from_source(source: str) -> str:
    """The id a row without one gets: the file name without extension (for URLs, the last path part)."""
    name = unquote(urlparse(source).path.rstrip("/").rsplit("/", 1)[-1]) if is_url(source) else Path(source).name
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return safe_id(stem)


def load_stt_manifest(
    path: Path, defaults: SttDefaults = SttDefaults(), allowed: Iterable[str | Path] = ()
) -> tuple[list[AudioRow], list[RowError]]:
    """Every valid row and every problem, in manifest order.

    Local paths may lead inside the manifest's folder and inside the ``allowed`` folders (``--allow-path``).
    """
    table = read_table(path, required=("audio_path",))
    policy = PathPolicy.for_folder(path.parent, allowed)
    ids = _Ids(explicit={r.cells.get("id", "") for r in table.rows if r.cells.get("id", "")})
    rows: list[AudioRow] = []
    errors: list[RowError] = list(table.errors)
    for record in table.rows:
        problems, row = _validate(record.cells, record.row, policy, defaults, ids)
        errors += problems
        if row is not None:
            rows.append(row)
    errors.sort(key=lambda e: e.row or 0)
    return rows, errors


@dataclass
class _Ids:
    """Ids handed out so far: explicit ones by row, and every id taken (derived ids avoid all of them)."""

    explicit: set[str]
    seen: dict[str, int] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)


def _validate(
    cells: dict[str, str], row_number: int, policy: PathPolicy, defaults: SttDefaults, ids: _Ids
) -> tuple[list[RowError], AudioRow | None]:
    problems: list[RowError] = []
    item_id = cells.get("id", "")

    def problem(column: str, reason: str) -> None:
        problems.append(RowError(row_number, column, reason, item_id or None))

    if item_id:
        bad_id = id_problem(item_id)
        if bad_id is not None:
            problem("id", bad_id)
        elif item_id in ids.seen:
            problem("id", f"duplicates the id of row {ids.seen[item_id]}")
        else:
            ids.seen[item_id] = row_number
            ids.taken.add(item_id)
    source = _source(cells.get("audio_path", ""), policy, problem)
    if not item_id and source is not None:
        # derived ids never take an id another row states explicitly
        (item_id,) = unique_ids([_id_from_source(source)], ids.taken | ids.explicit)
        ids.taken.add(item_id)
    task = (cells.get("task") or defaults.task).lower()
    if task not in TASKS:
        problem("task", f"must be transcribe or translate; got {task!r}")
    diarize = _flag(cells.get("diarize", ""), defaults.diarize, "diarize", problem)
    if diarize and task == "translate":
        problem("diarize", "translations are not diarized; set diarize to false or task to transcribe")
    model = cells.get("model") or defaults.model
    language = normalize_language(cells.get("language", "")) or defaults.language
    if language is not None:
        bad_language = language_problem(model, language)
        if bad_language is not None:
            given = "" if cells.get("language") else " (from --language)"
            problem("language", bad_language + given)
    if problems or source is None:
        return problems, None
    return [], AudioRow(
        row=row_number,
        id=item_id,
        source=source,
        model=model,
        language=language,
        prompt=cells.get("prompt") or defaults.prompt,
        diarize=diarize,
        task="translate" if task == "translate" else "transcribe",
    )


def _source(value: str, policy: PathPolicy, problem: Report) -> str | None:
    if not value:
        problem("audio_path", "is empty; give a file path or an http(s) URL")
        return None
    if is_url(value):
        return value
    if "://" in value:
        problem("audio_path", f"only local paths and http(s) URLs are supported; got {value!r}")
        return None
    try:
        path = policy.resolve(value)
    except PathRefused as exc:
        problem("audio_path", str(exc))
        return None
    if not path.exists():
        problem("audio_path", f"file {path} does not exist")
        return None
    if not path.is_file():
        problem("audio_path", f"{path} is not a file")
        return None
    try:
        what = not_audio(path)
    except OSError as exc:
        problem("audio_path", f"file {path} cannot be read: {exc.strerror or exc}")
        return None
    if what is not None:
        problem("audio_path", f"file {path.name} {what}")
        return None
    return str(path)


def _flag(value: str, default: bool, column: str, problem: Report) -> bool:
    lowered = value.strip().lower()
    if not lowered:
        return default
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    problem(column, f"must be true or false; got {value!r}")
    return default


def load_stt_folder(
    folder: Path, defaults: SttDefaults = SttDefaults(), allowed: Iterable[str | Path] = ()
) -> tuple[list[AudioRow], list[RowError]]:
    """Every file under ``folder`` (recursively, in path order) with an audio extension, and the refused ones.

    Ids are the path relative to the folder without its extension (``/`` becomes ``_``). Files whose ids
    would clash (``talk.mp3`` and ``talk.wav``) all get their extension too (``talk_mp3``, ``talk_wav``), and
    a clash even then adds a short hash of the path: an id depends only on the file and the names it clashes
    with, so a file added later never takes over another recording's id and outputs.
    Hidden files and folders (and voxbatch's own output folders) are ignored. A symlink that leads outside
    the folder (and outside every ``allowed`` folder) is refused: an error, and nothing of it is read.
    """
    root = folder.resolve()
    policy = PathPolicy.for_folder(root, allowed, label="the input folder")
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in AUDIO_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    ids = _folder_ids([p.relative_to(root) for p in files])
    rows: list[AudioRow] = []
    errors: list[RowError] = []
    for item_id, path in zip(ids, files, strict=True):
        try:
            policy.check(path.resolve(), shown=str(path.relative_to(root)))
            what = not_audio(path)
        except (PathRefused, OSError, RuntimeError) as exc:
            errors.append(RowError(None, "audio_path", str(exc), item_id, str(path)))
            continue
        if what is not None:
            errors.append(RowError(None, "audio_path", f"file {path.name} {what}", item_id, str(path)))
            continue
        rows.append(_row_with_defaults(item_id, path, defaults))
    return rows, errors


def _row_with_defaults(item_id: str, path: Path, defaults: SttDefaults) -> AudioRow:
    """A recording found in a folder or given directly: every option from the run's defaults."""
    return AudioRow(
        row=None,
        id=item_id,
        source=str(path),
        model=defaults.model,
        language=defaults.language,
        prompt=defaults.prompt,
        diarize=defaults.diarize,
        task=defaults.task,
    )


def _folder_ids(relative: list[Path]) -> list[str]:
    base = [safe_id("_".join(p.with_suffix("").parts)) for p in relative]
    clashing = {b for b in base if base.count(b) > 1}
    ids = [
        shorten(f"{b}_{p.suffix.lstrip('.').lower()}") if b in clashing else b
        for b, p in zip(base, relative, strict=True)
    ]
    still = {i for i in ids if ids.count(i) > 1}
    return [
        shorten(f"{i}-{hashlib.sha1(p.as_posix().encode()).hexdigest()[:6]}") if i in still else i
        for i, p in zip(ids, relative, strict=True)
    ]


def load_stt_inputs(
    source: Path, defaults: SttDefaults = SttDefaults(), allowed: Iterable[str | Path] = ()
) -> tuple[list[AudioRow], list[RowError]]:
    """A folder's audio files, a manifest's rows, or one audio file given directly (which is always allowed)."""
    if source.is_dir():
        return load_stt_folder(source, defaults, allowed)
    if source.is_file() and source.suffix.lower() in AUDIO_SUFFIXES:
        path = source.resolve()
        return [_row_with_defaults(safe_id(path.stem), path, defaults)], []
    return load_stt_manifest(source, defaults, allowed)
