"""What a manuscript file is, by its bytes: the extension is a claim to check, never the answer.

A file is an EPUB (a ZIP with the EPUB ``mimetype`` or ``META-INF/container.xml``), a Word document (a ZIP with
``word/document.xml``), a PDF, an HTML page, or text; anything else (an image, audio, an archive, an old Word
``.doc``, a program) is not a manuscript. When the extension names one of these formats and the bytes say
another, the file is refused with what it really is, so a plain-text file or an ordinary ZIP named ``.epub``, a
PDF named ``.txt`` or a truncated DOCX is a clear row error before anything is billed. A file whose extension
names no format (``notes``, ``book.text2``) is read as what its bytes say.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from voxbatch.manifest.content import SNIFF_BYTES, describe_binary
from voxbatch.manuscript.book import FORMAT_NAMES, Format

PDF_MAGIC = b"%PDF-"
PDF_MAGIC_WITHIN_BYTES = 1024  # the PDF header may follow some junk bytes (the spec allows it within 1024)
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
EPUB_MIMETYPE = b"application/epub+zip"
ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"
MIMETYPE_MAX_BYTES = 128

EXPECTED_BY_SUFFIX: dict[str, Format] = {
    ".epub": "epub",
    ".docx": "docx",
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".xht": "html",
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
}
READABLE = "EPUB, DOCX, PDF, HTML, plain text or Markdown"
_HTML_FRAGMENT_RE = re.compile(
    rb"\s*(?:<!--.*?-->\s*)*<(?:p|div|h[1-6]|section|article|main|header|body|head|title|meta|span|table|ul|ol|br)\b",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class Sniffed:
    """What the bytes say: a readable ``kind`` (None: not a manuscript) and a description for messages."""

    kind: Format | None
    what: str  # "a PDF document", "a ZIP archive (a Word document, .docx)", "plain text"...
    detail: str = ""  # why a ZIP is not the EPUB or DOCX it might be taken for
    damaged: Format | None = None  # the format the file was meant to be, when it is a damaged one


def _zip(path: Path, head: bytes) -> Sniffed:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:
                with archive.open("mimetype") as fh:
                    mimetype = fh.read(MIMETYPE_MAX_BYTES).strip()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        # No central directory: cut short or damaged. Its first local headers still say what it was meant to be.
        if b"word/" in head or b"[Content_Types].xml" in head:
            what = "a truncated or damaged Word document (.docx): its ZIP directory is missing"
            return Sniffed(None, what, damaged="docx")
        if EPUB_MIMETYPE in head:
            return Sniffed(None, "a truncated or damaged EPUB book: its ZIP directory is missing", damaged="epub")
        return Sniffed(None, "a truncated or damaged ZIP archive")
    if mimetype == EPUB_MIMETYPE or "META-INF/container.xml" in names:
        return Sniffed("epub", "a ZIP archive (an EPUB book)")
    if "word/document.xml" in names:
        return Sniffed("docx", "a ZIP archive (a Word document, .docx)")
    if "xl/workbook.xml" in names:
        return Sniffed(None, "a ZIP archive (an Excel workbook, .xlsx)")
    if "ppt/presentation.xml" in names:
        return Sniffed(None, "a ZIP archive (a PowerPoint presentation, .pptx)")
    if mimetype.startswith(ODT_MIMETYPE):
        return Sniffed(None, "a ZIP archive (an OpenDocument text, .odt; save it as DOCX or EPUB)")
    return Sniffed(
        None, "a ZIP archive", "it has neither an EPUB mimetype and META-INF/container.xml nor word/document.xml"
    )


def sniff_file(path: Path, expected: Format | None = None) -> Sniffed:
    """What ``path`` is by its first bytes (and, for a ZIP, its table of contents).

    A file named as HTML that starts with a tag (``<h1>``, ``<p>``: a page without ``<html>``) is HTML; the same
    bytes named ``.md`` are Markdown, which may hold HTML.
    """
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if PDF_MAGIC in head[:PDF_MAGIC_WITHIN_BYTES]:
        return Sniffed("pdf", "a PDF document")
    if head.startswith(ZIP_MAGIC):
        return _zip(path, head)
    what = describe_binary(head)
    if what == "an HTML page":
        return Sniffed("html", what)
    if what is not None:
        return Sniffed(None, what)
    if expected == "html" and _HTML_FRAGMENT_RE.match(head.removeprefix(codecs.BOM_UTF8)):
        return Sniffed("html", "an HTML fragment")
    return Sniffed("text", "plain text")


def expected_kind(path: Path) -> Format | None:
    """The format ``path``'s extension claims, or None when it claims none voxbatch reads."""
    return EXPECTED_BY_SUFFIX.get(path.suffix.lower())


def mismatch(sniffed: Sniffed, expected: Format | None) -> str | None:
    """Why a file that ``sniffed`` says is one thing cannot be read as ``expected`` (None when it can be read)."""
    family = {"markdown": "text"}
    if sniffed.kind is not None and (expected is None or family.get(expected, expected) == sniffed.kind):
        return None
    if sniffed.damaged is not None and sniffed.damaged in (expected, None):
        return f"is {sniffed.what}"
    if expected is None:
        return f"is {sniffed.what}, which voxbatch cannot read ({READABLE})"
    because = f" ({sniffed.detail})" if sniffed.detail else ""
    return f"is {sniffed.what}, not {FORMAT_NAMES[expected]}{because}"
