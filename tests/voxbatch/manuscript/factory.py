"""Small synthetic manuscripts for tests: EPUB 2/3, PDF (text, image-only, with outline, encrypted), DOCX, PNG.

Everything is built from code with fixed dates, so the same call gives the same bytes.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

import docx
import pypdf
from pypdf.generic import Fit

ZIP_DATE = (2020, 1, 1, 0, 0, 0)
XHTML_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
    '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="en">'
    "<head><title>{title}</title><style>p {{ margin: 0 }}</style></head><body{body_attrs}>"
)


def png_bytes(width: int = 4, height: int = 4) -> bytes:
    """A tiny grey PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# The twelve chapter titles of the real Alice in tests/data (EPUB, DOCX), as the book writes them (straight quotes).
ALICE_CHAPTER_TITLES = [
    "CHAPTER I. Down the Rabbit-Hole",
    "CHAPTER II. The Pool of Tears",
    "CHAPTER III. A Caucus-Race and a Long Tale",
    "CHAPTER IV. The Rabbit Sends in a Little Bill",
    "CHAPTER V. Advice from a Caterpillar",
    "CHAPTER VI. Pig and Pepper",
    "CHAPTER VII. A Mad Tea-Party",
    "CHAPTER VIII. The Queen's Croquet-Ground",
    "CHAPTER IX. The Mock Turtle's Story",
    "CHAPTER X. The Lobster Quadrille",
    "CHAPTER XI. Who Stole the Tarts?",
    "CHAPTER XII. Alice's Evidence",
]


@dataclass
class TocEntry:
    """One table-of-contents entry: its label, its target (``file.xhtml#id``) and nested entries."""

    label: str
    href: str
    children: list[TocEntry] = field(default_factory=list)


@dataclass
class EpubDoc:
    """One spine document: file name, body markup, and body attributes (``epub:type``...)."""

    name: str
    body: str
    body_attrs: str = ""
    linear: bool = True


def xhtml(title: str, body: str, body_attrs: str = "") -> str:
    return (
        XHTML_HEAD.format(title=escape(title), body_attrs=f" {body_attrs}" if body_attrs else "")
        + body
        + "</body></html>"
    )


def _nav(entries: list[TocEntry]) -> str:
    def items(level: list[TocEntry]) -> str:
        out = "<ol>"
        for e in level:
            out += f'<li><a href="{e.href}">{escape(e.label)}</a>' + (items(e.children) if e.children else "") + "</li>"
        return out + "</ol>"

    return xhtml("Contents", f'<nav epub:type="toc" id="toc"><h1>Contents</h1>{items(entries)}</nav>')


def _ncx(entries: list[TocEntry], title: str) -> str:
    counter = [0]

    def points(level: list[TocEntry]) -> str:
        out = ""
        for e in level:
            counter[0] += 1
            n = counter[0]
            out += (
                f'<navPoint id="np{n}" playOrder="{n}"><navLabel><text>{escape(e.label)}</text></navLabel>'
                f'<content src="{e.href}"/>{points(e.children)}</navPoint>'
            )
        return out

    return (
        '<?xml version="1.0" encoding="UTF-8"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">'
        f"<head/><docTitle><text>{escape(title)}</text></docTitle><navMap>{points(entries)}</navMap></ncx>"
    )


def epub_bytes(
    docs: list[EpubDoc],
    toc: list[TocEntry],
    *,
    version: int = 3,
    title: str = "A Test Book",
    author: str | None = "Ann Author",
    language: str | None = "en-GB",
    cover: bytes | None = None,
    guide: dict[str, str] | None = None,
    mimetype: bool = True,
    extra: dict[str, str] | None = None,
) -> bytes:
    """An EPUB (3 with a nav document, or 2 with an NCX only) with these spine documents and table of contents;
    ``extra`` files (archive path: text) are added as they are."""
    manifest = [
        f'<item id="d{i}" href="text/{d.name}" media-type="application/xhtml+xml"/>' for i, d in enumerate(docs)
    ]
    not_linear = ' linear="no"'
    spine = [f'<itemref idref="d{i}"{"" if d.linear else not_linear}/>' for i, d in enumerate(docs)]
    manifest.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
    if version == 3:
        manifest.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
    meta = f"<dc:title>{escape(title)}</dc:title>"
    if author:
        meta += f'<dc:creator id="a1">{escape(author)}</dc:creator><meta refines="#a1" property="role">aut</meta>'
        meta += '<dc:creator id="a2">Ian Illustrator</dc:creator><meta refines="#a2" property="role">ill</meta>'
    if language:
        meta += f"<dc:language>{language}</dc:language>"
    if cover is not None:
        props = ' properties="cover-image"' if version == 3 else ""
        manifest.append(f'<item id="cover-img" href="images/cover.png" media-type="image/png"{props}/>')
        meta += '<meta name="cover" content="cover-img"/>'
    guide_xml = ""
    if guide:
        guide_xml = "<guide>" + "".join(f'<reference type="{t}" href="{h}"/>' for t, h in guide.items()) + "</guide>"
    package = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<package xmlns="http://www.idpf.org/2007/opf" version="{version}.0" unique-identifier="id">'
        f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">{meta}</metadata>'
        f'<manifest>{"".join(manifest)}</manifest><spine toc="ncx">{"".join(spine)}</spine>{guide_xml}</package>'
    )
    container = (
        '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    files: list[tuple[str, bytes | str]] = []
    if mimetype:
        files.append(("mimetype", "application/epub+zip"))
    files += [("META-INF/container.xml", container), ("OEBPS/content.opf", package)]
    files += [(f"OEBPS/text/{d.name}", xhtml(title, d.body, d.body_attrs)) for d in docs]
    files.append(("OEBPS/toc.ncx", _ncx(_relative(toc, "text/"), title)))
    if version == 3:
        files.append(("OEBPS/nav.xhtml", _nav(_relative(toc, "text/"))))
    if cover is not None:
        files.append(("OEBPS/images/cover.png", cover))
    files += list((extra or {}).items())
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def _relative(entries: list[TocEntry], prefix: str) -> list[TocEntry]:
    return [TocEntry(e.label, prefix + e.href, _relative(e.children, prefix)) for e in entries]


# --- PDF ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PdfText:
    """A line of text drawn at (x, y) in points, y from the bottom of a US Letter page."""

    x: float
    y: float
    text: str
    size: float = 11.0


PAGE_WIDTH_PT, PAGE_HEIGHT_PT = 612, 792


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def pdf_bytes(
    pages: list[list[PdfText]], *, image_pages: frozenset[int] = frozenset(), title: str | None = None
) -> bytes:
    """A PDF whose pages draw these lines (Helvetica); pages in ``image_pages`` draw only an image (a scan)."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")
    pages_id = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    image = add(
        b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 "
        b"/Length 4 >>\nstream\n\x00\xff\xff\x00\nendstream"
    )
    kids = []
    for number, lines in enumerate(pages):
        if number in image_pages:
            content = b"q 400 0 0 500 100 150 cm /Im1 Do Q"
        else:
            content = b"".join(
                b"BT /F1 %.1f Tf %.1f %.1f Td %s Tj ET\n" % (line.size, line.x, line.y, _pdf_string(line.text))
                for line in lines
            )
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R >> "
                b"/XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>"
                % (pages_id, PAGE_WIDTH_PT, PAGE_HEIGHT_PT, font, image, stream)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[pages_id - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))
    info = add(b"<< /Title %s >>" % _pdf_string(title)) if title else None
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"<< /Size %d /Root %d 0 R" % (len(objects) + 1, catalog)
    trailer += b" /Info %d 0 R >>" % info if info else b" >>"
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def rewrite_pdf(
    data: bytes,
    *,
    outline: Sequence[tuple[str, int, float | None, Sequence[tuple[str, int, float | None]]]] = (),
    user_password: str | None = None,
) -> bytes:
    """``data`` with an outline added and/or encrypted (AES-256, owner password set).

    Outline entries are (title, page, top or None for the whole page, children as (title, page, top)).
    """
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(BytesIO(data)))

    def fit(top: float | None) -> Fit:
        return Fit.fit() if top is None else Fit.xyz(left=0, top=top)

    for title, page, top, children in outline:
        parent = writer.add_outline_item(title=title, page_number=page, fit=fit(top))
        for child_title, child_page, child_top in children:
            writer.add_outline_item(title=child_title, page_number=child_page, parent=parent, fit=fit(child_top))
    if user_password is not None:
        writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-256")
    buffer = BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# --- DOCX ---------------------------------------------------------------------------------------------------------


def write_docx(path: Path, paragraphs: list[tuple[str, str]], *, title: str = "", author: str = "") -> Path:
    """A DOCX of (style, text) paragraphs: style ``Title``, ``Heading N`` or ``Normal``; core title and author."""
    document = docx.Document()
    for style, text in paragraphs:
        document.add_paragraph(text, style=style)
    document.core_properties.title = title
    document.core_properties.author = author
    document.save(str(path))
    return path


# --- the demo's EPUB ----------------------------------------------------------------------------------------------

DEMO_CHAPTERS = 3


def alice_excerpt_epub(source: Path, chapters: int = DEMO_CHAPTERS) -> bytes:
    """An EPUB 3 of the first paragraph of each of Alice's first ``chapters`` chapters, cut from the real book
    (``source``), with a title page and a contents page (front matter) and a small cover image."""
    from voxbatch.manuscript.epub import read_epub

    book = read_epub(source)
    body = [s for s in book.sections if s.matter == "body"][:chapters]
    contents = "".join(f'<p><a href="c{n}.xhtml">{escape(s.title or "")}</a></p>' for n, s in enumerate(body, 1))
    docs = [
        EpubDoc("title.xhtml", f"<h1>{escape(book.title or '')}</h1><p>by {escape(book.author or '')}</p>"),
        EpubDoc("contents.xhtml", f"<h1>Contents</h1>{contents}"),
    ]
    docs += [
        EpubDoc(f"c{n}.xhtml", f'<h2 id="h{n}">{escape(s.title or "")}</h2><p>{escape(s.paragraphs[0])}</p>')
        for n, s in enumerate(body, 1)
    ]
    toc = [TocEntry(book.title or "", "title.xhtml"), TocEntry("Contents", "contents.xhtml")]
    toc += [TocEntry(s.title or "", f"c{n}.xhtml#h{n}") for n, s in enumerate(body, 1)]
    title = f"{book.title} (the first {chapters} chapters' openings)"
    return epub_bytes(docs, toc, title=title, author=book.author, language="en", cover=png_bytes(64, 64))


if __name__ == "__main__":  # PYTHONPATH=. python -m tests.voxbatch.manuscript.factory OUT.epub
    import sys

    repo = Path(__file__).resolve().parents[3]
    Path(sys.argv[1]).write_bytes(alice_excerpt_epub(repo / "tests" / "data" / "carroll-alice.epub"))
