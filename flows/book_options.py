"""The ``voxbatch tts`` options that every book gets unless its row says otherwise: whether a manuscript's front
matter is read, how speech travels and at what rate, its markup (:mod:`flows.markup_options`), whether a
read-along EPUB is written beside it, and how every book's chunks are checked (``--audit``, :mod:`flows.audit_options`).

Each is the default of the manifest column of the same meaning (:mod:`voxbatch.manifest.tts`), and a parameter of
:func:`flows.audiobook.audiobook_flow` of the same name (the audit is the flow's alone: it has no column).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from flows import in_process, run_command
from flows.audit_options import audit_setting
from flows.cli_checks import check_choice

if TYPE_CHECKING:
    from voxbatch.manifest.markup import MarkupDefaults
    from voxbatch.manifest.tts import BookDefaults

TRANSPORT_CHOICES = ("rest", "sse", "websocket")

KeepFrontMatterOption = Annotated[
    bool, typer.Option("--keep-front-matter", help="Also read front and back matter (contents, copyright, licence...).")
]
TransportOption = Annotated[str, typer.Option(help="How speech travels: rest, sse or websocket.")]
SampleRateOption = Annotated[int | None, typer.Option(help="Sample rate in Hz (default: the model's own).")]
ReadalongOption = Annotated[
    bool | None,
    typer.Option(
        "--readalong/--no-readalong",
        help="Also write <id>.readalong.epub, the text highlighted as the audio plays (default: for EPUB manuscripts).",
    ),
]
ChaptersOption = Annotated[
    str, typer.Option(help="Only these body chapters: numbers and ranges (1-3,7) or titles; the dry run lists them.")
]


@dataclass(frozen=True)
class BookOptions:
    """The options, named as the flow's parameters and the manifest defaults' fields."""

    keep_front_matter: bool
    transport: str
    sample_rate_hz: int | None  # None: each book's model's own rate
    markup: MarkupDefaults
    chapters: str = ""  # "": every chapter
    readalong: bool | None = None  # None: for EPUB manuscripts only
    audit: str = "off"  # off, on, free or a speech-to-text model (voxbatch.audit.options)

    def parameters(self) -> dict[str, Any]:
        """As keyword arguments of the flow."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

    def defaults(self) -> dict[str, Any]:
        """As keyword arguments of :class:`~voxbatch.manifest.tts.BookDefaults` (the audit is no column)."""
        return {name: value for name, value in self.parameters().items() if name != "audit"}


def book_options(
    keep_front_matter: bool,
    transport: str,
    sample_rate_hz: int | None,
    markup: MarkupDefaults,
    chapters: str = "",
    readalong: bool | None = None,
    audit: str = "off",
) -> BookOptions:
    """The options, checked (a transport that does not exist, a selection or audit that cannot be read: exit 2)."""
    from voxbatch.text.chapter_selection import ChapterSelectionError, parse_selection

    check_choice("--transport", transport, TRANSPORT_CHOICES)
    try:
        parse_selection(chapters)
    except ChapterSelectionError as exc:
        raise typer.BadParameter(str(exc), param_hint="--chapters") from exc
    return BookOptions(keep_front_matter, transport, sample_rate_hz, markup, chapters, readalong, audit_setting(audit))


@dataclass(frozen=True)
class BookRows:
    """Where the command's books come from, and the defaults their rows are read with (as the flow reads them)."""

    manifest: Path
    allowed: list[str]
    book: BookOptions
    model: str
    voice: str | None
    language: str | None
    audio_format: str
    author: str | None

    def read(self) -> tuple[list[Any], list[Any]]:
        """The manifest's books and row errors."""
        from voxbatch.manifest.tts import load_tts_manifest

        defaults = book_defaults(self.model, self.voice, self.language, self.audio_format, self.author, self.book)
        rows, errors = load_tts_manifest(self.manifest, defaults, self.allowed)
        return list(rows), list(errors)


def book_defaults(
    model: str, voice: str | None, language: str | None, audio_format: str, author: str | None, book: BookOptions
) -> BookDefaults:
    """What every row gets for an empty column: the one mapping of options to defaults, for the flow
    (:func:`flows.audiobook.audiobook_flow`) and for the command's own reading (:class:`BookRows`)."""
    from voxbatch.manifest.tts import BookDefaults

    return BookDefaults(
        model=model, voice=voice, language=language, audio_format=audio_format, author=author, **book.defaults()
    )


def dry_run(out: Path, spec: Any, books: BookRows) -> None:
    """``voxbatch tts --dry-run``: the chapters of every book that will run (body chapters numbered, with their size
    and price), then the run's plan and price, in this process and calling nothing (it ends the command)."""
    from voxbatch.audit.options import parse_audit
    from voxbatch.pipelines.audiobook.contents import contents_text
    from voxbatch.pipelines.audiobook.pipeline import AudiobookPipeline

    rows, errors = books.read()
    report = run_command.dry_run(AudiobookPipeline(out, audit=parse_audit(books.book.audit)), rows, errors, spec)
    estimated = report.estimate.items if report.estimate is not None else {}
    listed = [row for row in rows if row.id in estimated]  # not a row the catalog refused: it will not be paid
    if listed:
        typer.echo(contents_text(listed))
    run_command.finish(report)


def finish_if_done(out: Path, spec: Any, books: BookRows) -> None:
    """A run whose every book is already built for exactly these inputs ends here, with no server of any kind
    (:mod:`flows.in_process`); returns when a book has work."""
    in_process.books_if_done(books.manifest, out, spec, books.read)
