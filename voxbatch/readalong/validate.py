"""A structural check of a read-along EPUB (no epubcheck here: it is Java): what the writer promises, verified.

:func:`epub_problems` opens the file as a reader would and lists every way it falls short:

* the container: a ZIP whose first entry is ``mimetype``, stored (not compressed), without extra field, holding
  ``application/epub+zip``; ``META-INF/container.xml`` naming a package document that exists;
* the package (OPF 3.0): a ``dc:identifier`` that ``unique-identifier`` names, a title, a language, one
  ``dcterms:modified`` (``CCYY-MM-DDThh:mm:ssZ``), ``media:active-class``; every manifest item exists, ids are
  unique, media types are EPUB core media types, every file of the ZIP is in the manifest, one nav document with
  a ``toc`` nav whose links lead to manifest items; every spine item exists and has a Media Overlay;
* the pages and overlays: every XHTML page and SMIL file parses, ids in a page are unique, an overlay's text
  sources point into its own page, and it covers every sentence of the page (``span.sentence``) exactly once and in
  document order, either the sentence itself or each of its words (``span.word``) in order; clips (in spine order,
  across the book) start before they end and never go back in time or overlap;
* durations: every overlay's ``media:duration`` equals the sum of its clips, the book's equals the sum of the
  overlays', and, given the audio's duration, the book's equals it within ``tolerance_s``.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from lxml import etree

from voxbatch.readalong.timing import ReadalongError

OPF_NS = "http://www.idpf.org/2007/opf"
DC_NS = "http://purl.org/dc/elements/1.1/"
XHTML_NS = "http://www.w3.org/1999/xhtml"
EPUB_NS = "http://www.idpf.org/2007/ops"
SMIL_NS = "http://www.w3.org/ns/SMIL"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
DURATION_MATCH_S = 0.0015  # a rounded millisecond either way
DEFAULT_TOLERANCE_S = 0.005  # the book's overlays against its audio
CORE_MEDIA_TYPES = frozenset(
    {
        "application/xhtml+xml",
        "application/smil+xml",
        "application/x-dtbncx+xml",
        "text/css",
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/svg+xml",
        "image/webp",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg; codecs=opus",
    }
)
AUDIO_MEDIA_TYPES = frozenset({"audio/mpeg", "audio/mp4", "audio/ogg; codecs=opus"})
_MODIFIED_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_CLOCK_RE = re.compile(r"(?:(?:(\d+):)?([0-5]?\d):)?(\d+(?:\.\d+)?)")
_TIMECOUNT_RE = re.compile(r"(\d+(?:\.\d+)?)(h|min|s|ms)")
_TIMECOUNT_S = {"h": 3600.0, "min": 60.0, "s": 1.0, "ms": 0.001}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def clock_seconds(value: str) -> float | None:
    """Seconds of a SMIL clock value (``1:02:03.5``, ``02:03.5``, ``3.5``, ``3.5s``, ``500ms``, ``1h``...)."""
    text = value.strip()
    count = _TIMECOUNT_RE.fullmatch(text)
    if count:
        return float(count[1]) * _TIMECOUNT_S[count[2]]
    match = _CLOCK_RE.fullmatch(text)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


@dataclass(frozen=True)
class _Item:
    path: str  # inside the ZIP
    media_type: str
    properties: tuple[str, ...]
    overlay: str | None


class _Check:
    """One validation: the open ZIP and the problems found so far."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.zip = archive
        self.names = {info.filename for info in archive.infolist() if not info.is_dir()}
        self.problems: list[str] = []

    def fail(self, problem: str) -> None:
        self.problems.append(problem)

    def parse(self, name: str) -> etree._Element | None:
        if name not in self.names:
            self.fail(f"{name} is missing")
            return None
        try:
            return etree.fromstring(self.zip.read(name), _PARSER)
        except etree.XMLSyntaxError as exc:
            self.fail(f"{name} is not well-formed XML: {exc}")
            return None


def _check_mimetype(check: _Check) -> None:
    infos = check.zip.infolist()
    first = infos[0] if infos else None
    if first is None or first.filename != "mimetype":
        check.fail("the first entry of the ZIP is not mimetype")
        return
    if first.compress_type != zipfile.ZIP_STORED or first.extra:
        check.fail("mimetype is compressed or has an extra field")
    if check.zip.read(first) != b"application/epub+zip":
        check.fail("mimetype does not hold application/epub+zip")


def _package_path(check: _Check) -> str | None:
    container = check.parse("META-INF/container.xml")
    if container is None:
        return None
    rootfile = container.find(f"{{{CONTAINER_NS}}}rootfiles/{{{CONTAINER_NS}}}rootfile")
    path = None if rootfile is None else rootfile.get("full-path")
    if not path:
        check.fail("META-INF/container.xml names no package document")
    return path


def _check_metadata(check: _Check, package: etree._Element) -> etree._Element | None:
    if package.tag != f"{{{OPF_NS}}}package" or package.get("version") != "3.0":
        check.fail("the package document is not an EPUB 3.0 package")
    metadata = package.find(f"{{{OPF_NS}}}metadata")
    if metadata is None:
        check.fail("the package has no metadata")
        return None
    unique = package.get("unique-identifier")
    if not any(e.get("id") == unique and (e.text or "").strip() for e in metadata.iter(f"{{{DC_NS}}}identifier")):
        check.fail("no dc:identifier is the package's unique-identifier")
    for name in ("title", "language"):
        if not (metadata.findtext(f"{{{DC_NS}}}{name}") or "").strip():
            check.fail(f"the package has no dc:{name}")
    modified = [m.text or "" for m in metadata.iter(f"{{{OPF_NS}}}meta") if m.get("property") == "dcterms:modified"]
    if len(modified) != 1 or not _MODIFIED_RE.fullmatch(modified[0].strip()):
        check.fail("the package needs exactly one dcterms:modified of the form CCYY-MM-DDThh:mm:ssZ")
    if not any(m.get("property") == "media:active-class" for m in metadata.iter(f"{{{OPF_NS}}}meta")):
        check.fail("the package has no media:active-class")
    return metadata


def _manifest(check: _Check, package: etree._Element, package_path: str) -> dict[str, _Item]:
    base = posixpath.dirname(package_path)
    items: dict[str, _Item] = {}
    for entry in package.iterfind(f"{{{OPF_NS}}}manifest/{{{OPF_NS}}}item"):
        item_id, href, media_type = entry.get("id", ""), entry.get("href", ""), entry.get("media-type", "")
        path = posixpath.normpath(posixpath.join(base, unquote(href)))
        if item_id in items:
            check.fail(f"manifest id {item_id!r} is used twice")
        if path not in check.names:
            check.fail(f"manifest item {item_id!r} ({href}) is not in the EPUB")
        if media_type not in CORE_MEDIA_TYPES:
            check.fail(f"manifest item {item_id!r} has {media_type!r}, not an EPUB core media type")
        items[item_id] = _Item(path, media_type, tuple(entry.get("properties", "").split()), entry.get("media-overlay"))
    declared = {item.path for item in items.values()}
    for name in sorted(check.names - declared - {"mimetype", package_path}):
        if not name.startswith("META-INF/"):
            check.fail(f"{name} is in the EPUB but not in the manifest")
    return items


def _check_nav(check: _Check, items: dict[str, _Item]) -> None:
    navs = [item for item in items.values() if "nav" in item.properties]
    if len(navs) != 1:
        check.fail(f"the manifest has {len(navs)} nav documents, not 1")
        return
    page = check.parse(navs[0].path)
    if page is None:
        return
    tocs = [nav for nav in page.iter(f"{{{XHTML_NS}}}nav") if "toc" in nav.get(f"{{{EPUB_NS}}}type", "").split()]
    if len(tocs) != 1:
        check.fail("the nav document has no toc nav")
        return
    paths = {item.path for item in items.values()}
    base = posixpath.dirname(navs[0].path)
    for link in tocs[0].iter(f"{{{XHTML_NS}}}a"):
        target = posixpath.normpath(posixpath.join(base, unquote(link.get("href", "").split("#")[0])))
        if target not in paths:
            check.fail(f"the toc links to {link.get('href')!r}, which is not in the manifest")


def _sentences(check: _Check, page: etree._Element, name: str) -> list[tuple[str, list[str]]]:
    """The page's sentences in document order, each with its words' ids."""
    ids = [element.get("id") for element in page.iter() if element.get("id")]
    if len(ids) != len(set(ids)):
        check.fail(f"{name} has duplicate ids")
    found = []
    for span in page.iter(f"{{{XHTML_NS}}}span"):
        if "sentence" in span.get("class", "").split():
            words = [w.get("id", "") for w in span.iter(f"{{{XHTML_NS}}}span") if "word" in w.get("class", "").split()]
            found.append((span.get("id", ""), words))
    return found


class _Clock:
    """Where the book's clips have got to (spine order), to catch one that goes back or overlaps."""

    def __init__(self) -> None:
        self.position_s = 0.0


def _check_overlay(check: _Check, page_item: _Item, overlay: _Item, book: _Clock) -> float:
    """Check one page against its overlay; return the sum of the overlay's clips in seconds."""
    page, smil = check.parse(page_item.path), check.parse(overlay.path)
    if page is None or smil is None:
        return 0.0
    sentences = _sentences(check, page, page_item.path)
    base = posixpath.dirname(overlay.path)
    targets: list[str] = []
    total_s = 0.0
    for par in smil.iter(f"{{{SMIL_NS}}}par"):
        text, audio = par.find(f"{{{SMIL_NS}}}text"), par.find(f"{{{SMIL_NS}}}audio")
        if text is None or audio is None:
            check.fail(f"{overlay.path}: a par lacks its text or audio")
            continue
        file, _, fragment = text.get("src", "").partition("#")
        if posixpath.normpath(posixpath.join(base, unquote(file))) != page_item.path:
            check.fail(f"{overlay.path}: text {text.get('src')!r} is not in {page_item.path}")
        targets.append(fragment)
        begin, end = clock_seconds(audio.get("clipBegin", "0")), clock_seconds(audio.get("clipEnd", ""))
        if begin is None or end is None or not begin < end:
            span = f"{audio.get('clipBegin')} to {audio.get('clipEnd')}"
            check.fail(f"{overlay.path}: clip of #{fragment} ({span}) does not start before it ends")
            continue
        if begin < book.position_s - 1e-9:
            check.fail(f"{overlay.path}: clip of #{fragment} starts at {begin:.3f} s, before the previous one ends")
        book.position_s = max(book.position_s, end)
        total_s += end - begin
    at = 0
    for sentence_id, words in sentences:
        if targets[at : at + 1] == [sentence_id]:
            at += 1
        elif words and targets[at : at + len(words)] == words:
            at += len(words)
        else:
            check.fail(f"{overlay.path}: sentence #{sentence_id} is not covered where it should be (in order, once)")
            return total_s
    if at != len(targets):
        check.fail(f"{overlay.path}: pars after the last sentence, or for no sentence: {targets[at:][:3]}")
    return total_s


def _declared_s(check: _Check, metadata: etree._Element, refines: str | None) -> float | None:
    values = [
        meta.text or ""
        for meta in metadata.iter(f"{{{OPF_NS}}}meta")
        if meta.get("property") == "media:duration" and meta.get("refines") == refines
    ]
    seconds = clock_seconds(values[0]) if len(values) == 1 else None
    if seconds is None:
        check.fail(f"the package needs one media:duration{f' for {refines}' if refines else ''}; found {values}")
    return seconds


def _check_spine(check: _Check, package: etree._Element, metadata: etree._Element, items: dict[str, _Item]) -> float:
    """Check every spine item and its overlay; return the sum of all clips in seconds."""
    spine = [ref.get("idref", "") for ref in package.iterfind(f"{{{OPF_NS}}}spine/{{{OPF_NS}}}itemref")]
    if not spine:
        check.fail("the spine is empty")
    book = _Clock()
    total_s = 0.0
    for idref in spine:
        item = items.get(idref)
        if item is None:
            check.fail(f"spine item {idref!r} is not in the manifest")
            continue
        overlay = items.get(item.overlay or "")
        if overlay is None or overlay.media_type != "application/smil+xml":
            check.fail(f"spine item {idref!r} has no Media Overlay")
            continue
        clips_s = _check_overlay(check, item, overlay, book)
        declared = _declared_s(check, metadata, f"#{item.overlay}")
        if declared is not None and abs(declared - clips_s) > DURATION_MATCH_S:
            check.fail(f"overlay {item.overlay}: media:duration {declared:.3f} s, its clips {clips_s:.3f} s")
        total_s += clips_s
    return total_s


def epub_problems(
    source: Path | BinaryIO, audio_duration_s: float | None = None, tolerance_s: float = DEFAULT_TOLERANCE_S
) -> list[str]:
    """Every way the read-along EPUB ``source`` falls short (empty: none found)."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        return [f"not a readable ZIP file: {exc}"]
    with archive:
        check = _Check(archive)
        _check_mimetype(check)
        path = _package_path(check)
        package = None if path is None else check.parse(path)
        if package is None or path is None:
            return check.problems
        metadata = _check_metadata(check, package)
        items = _manifest(check, package, path)
        _check_nav(check, items)
        if metadata is None:
            return check.problems
        clips_s = _check_spine(check, package, metadata, items)
        declared = _declared_s(check, metadata, None)
        if declared is not None and abs(declared - clips_s) > DURATION_MATCH_S:
            check.fail(f"the book's media:duration is {declared:.3f} s, its overlays' {clips_s:.3f} s")
        if declared is not None and audio_duration_s is not None and abs(declared - audio_duration_s) > tolerance_s:
            check.fail(f"the book's media:duration is {declared:.3f} s, its audio {audio_duration_s:.3f} s")
        if not any(item.media_type in AUDIO_MEDIA_TYPES for item in items.values()):
            check.fail("the manifest has no audio")
        return check.problems


def check_epub(source: Path | BinaryIO, name: str, audio_duration_s: float | None = None) -> None:
    """Raise :class:`ReadalongError` naming the first problem of ``source`` (and how many more), if any."""
    problems = epub_problems(source, audio_duration_s)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ReadalongError(f"{name} is not a valid read-along EPUB: {problems[0]}{more}")
