"""Reading a manuscript file, whatever its format: recognised by its bytes, read by its format's module, repaired.

This is the one entry point (:func:`read_manuscript`); the manifest calls it for every ``text_path``. Plain text
and Markdown are read as they always were (UTF-8 only, checked by :mod:`voxbatch.manifest.content`), then
repaired (:mod:`.repair`); EPUB, DOCX, PDF and HTML are read by :mod:`.epub`, :mod:`.docx`, :mod:`.pdf` and
:mod:`.html`. A file that is not what its extension says, or that is no manuscript at all, raises
:class:`~voxbatch.manuscript.book.ManuscriptError` before anything else reads it; so does a file its parser
fails on in an unforeseen way (that row fails, the others run).
"""

from __future__ import annotations

import importlib
import re
import stat
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from voxbatch.manifest.content import TEXT_MAX_BYTES, ContentError, read_text_file
from voxbatch.manuscript.book import FORMAT_NAMES, Format, Manuscript, ManuscriptError
from voxbatch.manuscript.repair import repair_text
from voxbatch.manuscript.sniff import expected_kind, mismatch, sniff_file

MANUSCRIPT_MAX_BYTES = 1024 * 1024 * 1024  # an illustrated EPUB or PDF may be large; its text is capped per part
_LANGUAGE_RE = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")


def _imported_when_read(module: str, function: str) -> Callable[[Path], Manuscript]:
    """The reader ``module.function``, imported the first time a file of its format is read (python-docx, pypdf
    and the rest cost about half a CPU-second to import; most runs read none of them)."""

    def read(path: Path) -> Manuscript:
        reader: Callable[[Path], Manuscript] = getattr(importlib.import_module(module), function)
        return reader(path)

    return read


_READERS: dict[Format, Callable[[Path], Manuscript]] = {
    "epub": _imported_when_read("voxbatch.manuscript.epub", "read_epub"),
    "docx": _imported_when_read("voxbatch.manuscript.docx", "read_docx"),
    "pdf": _imported_when_read("voxbatch.manuscript.pdf", "read_pdf"),
    "html": _imported_when_read("voxbatch.manuscript.html", "read_html"),
}


def primary_language(value: str | None) -> str | None:
    """The language code of a metadata language tag (``en-GB`` -> ``en``), None when it is not one."""
    match = _LANGUAGE_RE.fullmatch((value or "").strip())
    return match[1].lower() if match else None


def _check_file(path: Path) -> None:
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise ManuscriptError("is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise ManuscriptError("is not a regular file (a device, pipe or socket)")
    if info.st_size > MANUSCRIPT_MAX_BYTES:
        raise ManuscriptError(f"is {info.st_size} bytes; manuscripts may have at most {MANUSCRIPT_MAX_BYTES}")


def read_manuscript(path: Path) -> Manuscript:
    """The manuscript in ``path``; raises :class:`ManuscriptError` (what the file is instead) or OSError."""
    _check_file(path)
    expected = expected_kind(path)
    sniffed = sniff_file(path, expected)
    problem = mismatch(sniffed, expected)
    if problem is not None:
        raise ManuscriptError(problem)
    if sniffed.kind == "text":
        try:
            text = read_text_file(path, TEXT_MAX_BYTES)
        except ContentError as exc:
            raise ManuscriptError(str(exc)) from exc
        return Manuscript("markdown" if expected == "markdown" else "text", source_text=repair_text(text))
    assert sniffed.kind is not None
    try:
        manuscript = _READERS[sniffed.kind](path)
    except (ManuscriptError, OSError):
        raise
    except Exception as exc:  # a parser's surprise on a hostile file fails this row, never the whole manifest
        raise ManuscriptError(f"is {FORMAT_NAMES[sniffed.kind]} that could not be read ({type(exc).__name__})") from exc
    return replace(manuscript, language=primary_language(manuscript.language))
