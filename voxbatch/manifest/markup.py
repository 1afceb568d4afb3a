"""A book's markup columns: its dialogue voice, cast, lexicon and pauses, checked when the manifest is read.

Columns (each falls back to the run's option of the same meaning):

* ``dialogue_voice`` (``--dialogue-voice``): the voice of quoted speech (:mod:`voxbatch.text.dialogue`);
* ``cast_path`` (``--cast``): a cast file, speaker -> voice (:mod:`voxbatch.text.cast`); the row's file replaces
  the option's;
* ``lexicon_path`` (``--lexicon``): a lexicon file, term -> spoken form (:mod:`voxbatch.text.lexicon`); the row's
  entries are added to the option's and win for the same term;
* ``pause_sentence_s``, ``pause_paragraph_s``, ``pause_chapter_s`` (``--pause-sentence-s``...): seconds of silence
  after a sentence, a paragraph, a chapter.

A file that cannot be used, a bad number, a pause tag that cannot be obeyed or a speaker tag naming someone not
in the cast is a row error, reported before anything is billed. Files named by a column follow the manifest's
path rules; files named by an option were checked by the command. Each file is read once per manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from voxbatch.manifest.paths import PathPolicy, PathRefused
from voxbatch.text.cast import Cast, CastError, read_cast
from voxbatch.text.lexicon import Lexicon, LexiconError, read_lexicon
from voxbatch.text.markup import MarkupError
from voxbatch.text.normalize import normalize_document
from voxbatch.text.pauses import PauseOptions, pause_problem
from voxbatch.text.voicing import check_markup

Report = Callable[[str, str], None]  # (column, reason)
PAUSE_COLUMNS = ("pause_sentence_s", "pause_paragraph_s", "pause_chapter_s")


@dataclass(frozen=True)
class MarkupDefaults:
    """The run's markup options (the command's ``--dialogue-voice``, ``--cast``, ``--lexicon``, ``--pause-*-s``),
    what a row gets for an empty markup column; paths are absolute or relative to the working folder."""

    dialogue_voice: str | None = None
    cast_path: str | None = None
    lexicon_path: str | None = None
    pause_sentence_s: float | None = None
    pause_paragraph_s: float | None = None
    pause_chapter_s: float | None = None


@dataclass(frozen=True)
class BookMarkup:
    """One book's markup, its files read: who reads what, how words are said, and its pauses."""

    dialogue_voice: str | None = None
    cast: Cast | None = None
    lexicon: Lexicon | None = None
    pauses: PauseOptions = field(default_factory=PauseOptions)


@dataclass
class MarkupReader:
    """Reads the markup columns of every row of one manifest (each file once)."""

    policy: PathPolicy
    defaults: MarkupDefaults = field(default_factory=MarkupDefaults)
    _files: dict[tuple[str, Path], Cast | Lexicon | str] = field(default_factory=dict)

    def _load(self, kind: str, path: Path) -> Cast | Lexicon | str:
        """The cast or lexicon in ``path``, or why it cannot be used."""
        if (kind, path) not in self._files:
            try:
                self._files[kind, path] = read_cast(path) if kind == "cast" else read_lexicon(path)
            except (CastError, LexiconError) as exc:
                self._files[kind, path] = str(exc)
        return self._files[kind, path]

    def _file(self, kind: str, cell: dict[str, str], default: str | None, report: Report) -> Cast | Lexicon | None:
        column = f"{kind}_path"
        value = cell.get(column, "")
        if value:
            if "://" in value:
                report(column, f"must be a local file path, not a URL ({value!r})")
                return None
            try:
                path = self.policy.resolve(value)
            except PathRefused as exc:
                report(column, str(exc))
                return None
        elif default:
            path, column = Path(default).resolve(), f"--{kind}"
        else:
            return None
        loaded = self._load(kind, path)
        if isinstance(loaded, str):
            report(column, loaded)
            return None
        return loaded

    def _pauses(self, cell: dict[str, str], report: Report) -> PauseOptions:
        values: list[float | None] = []
        for column in PAUSE_COLUMNS:
            raw = cell.get(column, "")
            value: float | None = getattr(self.defaults, column)
            if raw:
                try:
                    value = float(raw)
                except ValueError:
                    report(column, f"must be a number of seconds; got {raw!r}")
                    value = None
            problem = None if value is None else pause_problem(value)
            if problem is not None:
                report(column, problem)
            values.append(value)
        return PauseOptions(*values)

    def read(self, cell: dict[str, str], report: Report) -> BookMarkup:
        """The row's markup, its files read; every problem is reported (column, reason). Its text's tags are
        checked by :func:`check_tags` once the text is read."""
        cast = self._file("cast", cell, self.defaults.cast_path, report)
        lexicon = self._file("lexicon", cell, None, report)
        base = self._file("lexicon", {}, self.defaults.lexicon_path, report)
        assert cast is None or isinstance(cast, Cast)
        assert lexicon is None or isinstance(lexicon, Lexicon)
        assert base is None or isinstance(base, Lexicon)
        return BookMarkup(
            dialogue_voice=cell.get("dialogue_voice") or self.defaults.dialogue_voice,
            cast=cast,
            lexicon=lexicon if base is None else base.merged(lexicon),
            pauses=self._pauses(cell, report),
        )


def check_tags(text: str, markdown: bool, markup: BookMarkup, report: Report) -> None:
    """Report (column ``text``) a tag of the book's text (as the chunker will read it) that could not be obeyed."""
    if "[" not in text:  # only a tag can fail; most books have none
        return
    try:
        check_markup(normalize_document(text, markdown=markdown).text, markup.cast)
    except MarkupError as exc:
        report("text", str(exc))
