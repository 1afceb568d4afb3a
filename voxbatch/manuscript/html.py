"""What of an HTML or XHTML document is read aloud: its blocks of text in reading order, and its metadata.

Read: paragraphs, headings (``h1``-``h6``, their level kept), list items, table rows, quotations, with entities
decoded and whitespace collapsed. Left out: ``script``, ``style``, ``nav``, ``head``, forms, media, SVG and MathML,
hidden elements, footnote and endnote bodies, and the markers that point at them (``epub:type="noteref"``,
``role="doc-noteref"``, a linked ``1``, ``[2]`` or ``*``), and page-number anchors (``epub:type="pagebreak"``,
``role="doc-pagebreak"``, Project Gutenberg's ``span.pagenum``). Every ``id`` (and ``<a name>``) is kept as an
anchor of the block it opens or falls in, so a table of contents can point into the blocks; what the markup says
a part is (``epub:type`` or ``role`` such as ``toc``, ``copyright-page``, ``index``, or Project Gutenberg's
boilerplate) is kept as the block's hint.

An HTML page's chapters are its ``h1`` or ``h2`` headings (:mod:`voxbatch.manuscript.sections` chooses the level).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

from voxbatch.manuscript.book import Block, Manuscript, ManuscriptError
from voxbatch.manuscript.repair import repair_text
from voxbatch.manuscript.sections import build_sections

HTML_MAX_BYTES = 64 * 1024 * 1024  # a whole novel as one page is a few MB
CHARSET_SNIFF_CHARS = 2048
FALLBACK_ENCODING = "cp1252"  # what undeclared non-UTF-8 web pages almost always are
HEADING_LEVELS = (1, 2)  # an HTML page's chapters are h1 or h2 headings

SKIP_TAGS = frozenset(
    "script style nav head noscript template svg math object iframe button select textarea audio video canvas "
    "map embed form input title".split()
)
BLOCK_TAGS = frozenset(
    "p div li blockquote pre tr dt dd section article aside header footer main figure figcaption table ul ol dl "
    "hr address center caption body html details summary".split()
)
CELL_TAGS = frozenset({"td", "th"})
HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
# Markers and notes that are not read: epub:type tokens, ARIA roles and classes.
SKIP_TYPES = frozenset(
    "noteref pagebreak backlink footnote endnote rearnote footnotes endnotes rearnotes note annoref".split()
)
SKIP_ROLES = frozenset("doc-noteref doc-pagebreak doc-backlink doc-footnote doc-endnote doc-endnotes".split())
SKIP_CLASSES = frozenset("pagenum page-number pagenumber pageno page-num pgnum footnote-ref noteref".split())
# What the markup says a part is: the hints front and back matter are recognised by.
HINT_TYPES = frozenset(
    "cover titlepage halftitlepage toc landmarks loi lot copyright-page imprint colophon index".split()
)
HINT_ROLES = {"doc-toc": "toc", "doc-index": "index", "doc-colophon": "colophon", "doc-cover": "cover"}
GUTENBERG_MARKS = frozenset({"pg-boilerplate", "pg-header", "pg-footer"})
_MARKER_TEXT_RE = re.compile(r"\[?\(?(?:\d{1,3}|[*†‡§¶]{1,3}|[a-z]|[ivxlc]{1,6})\)?\]?|↩|↑", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")
_XML_DECLARATION_RE = re.compile(r"\A\s*<\?xml[^>]*\?>")
_CHARSET_RE = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def decode_html(data: bytes) -> str:
    """The page's text: UTF-8 (with or without BOM) when it is, else its declared charset, else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET_RE.search(data[:CHARSET_SNIFF_CHARS])
    for encoding in ([declared[1].decode("ascii")] if declared else []) + [FALLBACK_ENCODING]:
        try:
            return data.decode(encoding, errors="replace")
        except LookupError:
            continue
    return data.decode("latin-1")


def parse_html(data: bytes) -> Any:
    """The document tree of an HTML or XHTML file (namespaced attributes such as ``epub:type`` kept by name)."""
    text = _XML_DECLARATION_RE.sub("", decode_html(data), count=1)
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):  # "Document is empty" and the like
        return None


def _tokens(value: str | None) -> set[str]:
    return set(value.lower().split()) if value else set()


def _tag(element: Any) -> str | None:
    tag = element.tag
    if not isinstance(tag, str):
        return None  # a comment or processing instruction
    return tag.rsplit(":", 1)[-1].rsplit("}", 1)[-1].lower()


def _skipped(element: Any, tag: str) -> bool:
    if tag in SKIP_TAGS or element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    if "display:none" in (element.get("style") or "").replace(" ", "").lower():
        return True
    types = _tokens(element.get("epub:type"))
    if types & SKIP_TYPES or _tokens(element.get("role")) & SKIP_ROLES or _tokens(element.get("class")) & SKIP_CLASSES:
        return True
    # A footnote marker: a link to a fragment (or a superscript holding a link) whose whole text is a number, a
    # letter or a symbol ("1", "[2]", "*", "†").
    if (tag == "a" and "#" in (element.get("href") or "")) or (tag == "sup" and element.find(".//a") is not None):
        return bool(_MARKER_TEXT_RE.fullmatch(element.text_content().strip()))
    return False


def _hint(element: Any) -> str | None:
    for token in _tokens(element.get("epub:type")):
        if token in HINT_TYPES:
            return token
    for role in _tokens(element.get("role")):
        if role in HINT_ROLES:
            return HINT_ROLES[role]
    if _tokens(element.get("class")) & GUTENBERG_MARKS or element.get("id") in GUTENBERG_MARKS:
        return "gutenberg"
    return None


@dataclass
class _Walker:
    """Collects blocks while walking the tree; inline text accumulates until a block boundary."""

    blocks: list[Block]
    parts: list[str]
    anchors: list[str]
    hint: str | None = None

    def flush(self, level: int | None = None) -> None:
        text = _SPACE_RE.sub(" ", "".join(self.parts)).strip()
        self.parts = []
        if text:
            self.blocks.append(Block(text, level, tuple(self.anchors), self.hint))
            self.anchors = []

    def walk(self, element: Any) -> None:
        tag = _tag(element)
        if tag is not None and not _skipped(element, tag):
            self._element(element, tag)
        if element.tail:
            self.parts.append(element.tail)

    def _element(self, element: Any, tag: str) -> None:
        block = tag in BLOCK_TAGS or tag in HEADING_TAGS
        if block:
            self.flush()
        for name in ("id", "name") if tag == "a" else ("id",):
            if element.get(name):
                self.anchors.append(element.get(name))
        outer = self.hint
        self.hint = _hint(element) or outer
        if tag == "br":
            self.parts.append(" ")
        if element.text:
            self.parts.append(element.text)
        for child in element:
            self.walk(child)
        if tag in CELL_TAGS:
            self.parts.append(" ")
        if block:
            self.flush(HEADING_TAGS.get(tag))
        self.hint = outer


def html_blocks(root: Any) -> tuple[list[Block], tuple[str, ...]]:
    """The blocks of a parsed document, and the anchors after its last block (they point at its end)."""
    walker = _Walker([], [], [])
    if root is not None:
        body = root.find("body")
        walker.walk(body if body is not None else root)
        walker.flush()
    blocks = [Block(repair_text(b.text), b.level, b.anchors, b.hint) for b in walker.blocks]
    return blocks, tuple(walker.anchors)


def _meta(root: Any) -> tuple[str | None, str | None, str | None]:
    """Title, author and language from the page's head."""
    title_el = root.find(".//title")
    title = _SPACE_RE.sub(" ", title_el.text_content()).strip() if title_el is not None else ""
    author = ""
    for meta in root.iter("meta"):
        if (meta.get("name") or "").lower() in ("author", "dc.creator", "dcterms.creator"):
            author = (meta.get("content") or "").strip()
            break
    language = root.get("lang") or root.get("xml:lang") or ""
    return repair_text(title) or None, repair_text(author) or None, language.strip() or None


def read_html(path: Path) -> Manuscript:
    """An HTML or XHTML file: chapters from its ``h1``/``h2`` headings (else the text rules), metadata from its head."""
    if path.stat().st_size > HTML_MAX_BYTES:
        raise ManuscriptError(f"is {path.stat().st_size} bytes; HTML files may have at most {HTML_MAX_BYTES}")
    root = parse_html(path.read_bytes())
    blocks, _ = html_blocks(root)
    title, author, language = _meta(root) if root is not None else (None, None, None)
    sections = build_sections(blocks, heading_levels=HEADING_LEVELS, book_title=title)
    return Manuscript("html", sections=sections, title=title, author=author, language=language)
