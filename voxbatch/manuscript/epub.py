"""EPUB 2 and 3: the reading order from the spine, chapter titles from the table of contents, metadata from the package.

* Reading order: the spine's linear items (``linear="no"`` items, such as a footnotes file, are not read).
* Chapters: the EPUB 3 navigation document's ``toc`` nav, else the EPUB 2 NCX ``navMap``, nested entries
  included, in document order; each entry's target (file and fragment) is where its chapter begins. Without a
  usable table of contents, the headings and then the text rules decide (:mod:`voxbatch.manuscript.sections`).
* Metadata: ``dc:title``, the authors among the ``dc:creator`` entries, ``dc:language``, and the cover image
  (EPUB 3 ``properties="cover-image"``, else EPUB 2 ``<meta name="cover">``), kept only if it is a JPEG or PNG.
* Front and back matter: besides the titles and markup :mod:`voxbatch.manuscript.matter` knows, the EPUB 2
  ``<guide>`` marks whole files (cover, title page, table of contents, copyright page, index, colophon).

The package's XML is parsed without DTDs, entities or network access; every member read is size-capped, so a
crafted archive cannot exhaust memory. A DRM-protected book (``META-INF/encryption.xml`` encrypting more than
fonts) is refused: its text is ciphertext.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag

from lxml import etree

from voxbatch.manuscript.book import Block, Cover, Manuscript, ManuscriptError
from voxbatch.manuscript.html import html_blocks, parse_html
from voxbatch.manuscript.repair import repair_text
from voxbatch.manuscript.sections import build_sections

EPUB_MEMBER_MAX_BYTES = 64 * 1024 * 1024  # one XHTML file, the package file or the cover image
EPUB_TOTAL_MAX_BYTES = 512 * 1024 * 1024  # everything read from one book
CONTAINER_PATH = "META-INF/container.xml"
ENCRYPTION_PATH = "META-INF/encryption.xml"
FONT_OBFUSCATION_ALGORITHMS = frozenset({"http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"})
PACKAGE_MEDIA_TYPE = "application/oebps-package+xml"
NCX_MEDIA_TYPE = "application/x-dtbncx+xml"
CONTENT_MEDIA_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/x-dtbook+xml"})
HEADING_LEVELS = (1, 2)
COVER_MAGIC = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"))
AUTHOR_ROLES = frozenset({"", "aut"})
GUIDE_HINTS = {
    "cover": "cover",
    "title-page": "titlepage",
    "toc": "toc",
    "copyright-page": "copyright-page",
    "index": "index",
    "colophon": "colophon",
}
_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False)


@dataclass(frozen=True)
class _Item:
    path: str  # the member's path inside the archive
    media_type: str
    properties: frozenset[str]


class _Archive:
    """The EPUB's ZIP, read member by member under the size caps."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self._archive = archive
        self._names = {name.lower(): name for name in archive.namelist()}
        self._read = 0

    def has(self, path: str) -> bool:
        return path.lower() in self._names

    def read(self, path: str) -> bytes:
        name = self._names.get(path.lower())
        if name is None:
            raise ManuscriptError(f"is a damaged EPUB book: {path} is missing")
        size = self._archive.getinfo(name).file_size
        if size > EPUB_MEMBER_MAX_BYTES or self._read + size > EPUB_TOTAL_MAX_BYTES:
            raise ManuscriptError(f"is an EPUB book with {path} of {size} bytes; too large to read")
        self._read += size
        return self._archive.read(name)

    def xml(self, path: str) -> Any:
        root = etree.fromstring(self.read(path), _XML)
        if root is None:
            raise ManuscriptError(f"is a damaged EPUB book: {path} is not XML")
        return root


def _resolve(base: str, href: str) -> tuple[str, str]:
    """The archive path and fragment ``href`` (relative to the file ``base``) names."""
    target, fragment = urldefrag(href)
    path = posixpath.normpath(posixpath.join(posixpath.dirname(base), unquote(target))) if target else base
    return path.lstrip("/"), unquote(fragment)


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _package_path(archive: _Archive) -> str:
    container = archive.xml(CONTAINER_PATH)
    for rootfile in container.iter("{*}rootfile"):
        if rootfile.get("media-type", PACKAGE_MEDIA_TYPE) == PACKAGE_MEDIA_TYPE and rootfile.get("full-path"):
            return str(rootfile.get("full-path"))
    raise ManuscriptError(f"is a damaged EPUB book: {CONTAINER_PATH} names no package file")


def _manifest(package: Any, package_path: str) -> dict[str, _Item]:
    items = {}
    for item in package.iter("{*}item"):
        if item.get("id") and item.get("href"):
            path, _ = _resolve(package_path, item.get("href"))
            properties = frozenset((item.get("properties") or "").split())
            items[item.get("id")] = _Item(path, (item.get("media-type") or "").lower(), properties)
    return items


def _metadata(package: Any) -> tuple[str | None, str | None, str | None]:
    """Title, authors and language from the package's metadata."""
    metadata = package.find("{*}metadata")
    if metadata is None:
        return None, None, None
    roles = {
        (meta.get("refines") or "").lstrip("#"): _text(meta).lower()
        for meta in metadata.iter("{*}meta")
        if meta.get("property") == "role"
    }
    title = _text(metadata.find("{*}title"))
    authors = []
    for creator in metadata.iter("{*}creator"):
        role = next((v for k, v in creator.attrib.items() if k.endswith("role")), None)
        if (role if role is not None else roles.get(creator.get("id") or "", "")).lower() in AUTHOR_ROLES:
            authors.append(_text(creator))
    language = _text(metadata.find("{*}language"))
    return repair_text(title) or None, repair_text(" & ".join(a for a in authors if a)) or None, language or None


def _cover(archive: _Archive, package: Any, items: dict[str, _Item]) -> Cover | None:
    chosen = next((item for item in items.values() if "cover-image" in item.properties), None)
    if chosen is None:
        for meta in package.iter("{*}meta"):
            if meta.get("name") == "cover" and meta.get("content") in items:
                chosen = items[meta.get("content")]
                break
    if chosen is None or not archive.has(chosen.path):
        return None
    data = archive.read(chosen.path)
    for magic, suffix in COVER_MAGIC:
        if data.startswith(magic):
            return Cover(data, suffix)
    return None  # a GIF or SVG cover cannot be embedded in the audiobook


def _nav_entries(archive: _Archive, items: dict[str, _Item]) -> list[tuple[str, str, str]]:
    """(path, fragment, title) of the EPUB 3 navigation document's ``toc`` entries, nested ones included."""
    nav_item = next((item for item in items.values() if "nav" in item.properties), None)
    if nav_item is None or not archive.has(nav_item.path):
        return []
    root = parse_html(archive.read(nav_item.path))
    if root is None:
        return []
    navs = list(root.iter("nav"))
    toc = next((nav for nav in navs if "toc" in (nav.get("epub:type") or "").split()), navs[0] if navs else None)
    if toc is None:
        return []
    entries = []
    for link in toc.iter("a"):
        if link.get("href"):
            path, fragment = _resolve(nav_item.path, link.get("href"))
            entries.append((path, fragment, _text(link)))
    return entries


def _ncx_entries(archive: _Archive, package: Any, items: dict[str, _Item]) -> list[tuple[str, str, str]]:
    """(path, fragment, title) of the EPUB 2 NCX's navigation points, nested ones included."""
    spine = package.find("{*}spine")
    ncx_item = items.get(spine.get("toc") or "") if spine is not None else None
    ncx_item = ncx_item or next((item for item in items.values() if item.media_type == NCX_MEDIA_TYPE), None)
    if ncx_item is None or not archive.has(ncx_item.path):
        return []
    entries = []
    for point in archive.xml(ncx_item.path).iter("{*}navPoint"):
        content = point.find("{*}content")
        if content is not None and content.get("src"):
            path, fragment = _resolve(ncx_item.path, content.get("src"))
            entries.append((path, fragment, _text(point.find("{*}navLabel"))))
    return entries


def _guide_hints(package: Any, package_path: str) -> dict[str, str]:
    hints = {}
    for reference in package.iter("{*}reference"):
        hint = GUIDE_HINTS.get((reference.get("type") or "").lower())
        if hint and reference.get("href"):
            hints[_resolve(package_path, reference.get("href"))[0]] = hint
    return hints


def _check_not_encrypted(archive: _Archive) -> None:
    """Refuse a DRM-protected book: its text would be ciphertext. Obfuscated fonts alone are harmless."""
    if not archive.has(ENCRYPTION_PATH):
        return
    for data in archive.xml(ENCRYPTION_PATH).iter("{*}EncryptedData"):
        method = data.find("{*}EncryptionMethod")
        algorithm = method.get("Algorithm") if method is not None else None
        if algorithm not in FONT_OBFUSCATION_ALGORITHMS:
            raise ManuscriptError("is a DRM-protected (encrypted) EPUB book; voxbatch cannot read it")


def _read(archive: _Archive) -> Manuscript:
    _check_not_encrypted(archive)
    package_path = _package_path(archive)
    package = archive.xml(package_path)
    items = _manifest(package, package_path)
    title, author, language = _metadata(package)
    guide = _guide_hints(package, package_path)
    blocks: list[Block] = []
    where: dict[tuple[str, str], int] = {}
    spine = package.find("{*}spine")
    for itemref in spine.iter("{*}itemref") if spine is not None else ():
        item = items.get(itemref.get("idref") or "")
        if item is None or itemref.get("linear") == "no" or item.media_type not in CONTENT_MEDIA_TYPES:
            continue
        if not archive.has(item.path):
            continue
        document, trailing = html_blocks(parse_html(archive.read(item.path)))
        where.setdefault((item.path, ""), len(blocks))
        for block in document:
            for anchor in block.anchors:
                where.setdefault((item.path, anchor), len(blocks))
            hint = block.hint or guide.get(item.path)
            blocks.append(Block(block.text, block.level, block.anchors, hint))
        for anchor in trailing:
            where.setdefault((item.path, anchor), len(blocks))
    entries = _nav_entries(archive, items) or _ncx_entries(archive, package, items)
    starts = []
    for path, fragment, label in entries:
        index = where.get((path, fragment), where.get((path, "")))
        if index is not None and label:
            starts.append((index, repair_text(label)))
    sections = build_sections(blocks, starts=starts, heading_levels=HEADING_LEVELS, book_title=title)
    cover = _cover(archive, package, items)
    return Manuscript("epub", sections=sections, title=title, author=author, language=language, cover=cover)


def read_epub(path: Path) -> Manuscript:
    """An EPUB 2 or 3 book (see the module docstring); raises :class:`ManuscriptError` for a damaged one."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _read(_Archive(archive))
    except (zipfile.BadZipFile, zlib.error, EOFError, etree.XMLSyntaxError, KeyError) as exc:
        raise ManuscriptError(f"is a damaged EPUB book: {exc}") from exc
