"""The read-along EPUB's XHTML: one page per chapter, the navigation document and the stylesheet.

A chapter's page is a ``section`` holding its heading (``h1``) and paragraphs (``p``); every sentence is a
``<span class="sentence" id="c1s2">`` and every word with its own timing a ``<span class="word" id="c1s2w3">``
inside it; a line break inside a paragraph (verse) is a ``<br/>``. A chapter whose heading is not spoken still
shows its title, outside any sentence. The stylesheet gives the class a reading system puts on what is being read
(``media:active-class``) a highlight.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from voxbatch.readalong.layout import ChapterText, Sentence, Word

XHTML_NS = "http://www.w3.org/1999/xhtml"
EPUB_NS = "http://www.idpf.org/2007/ops"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ACTIVE_CLASS = "-epub-media-overlay-active"  # the class named by media:active-class
SENTENCE_CLASS = "sentence"
WORD_CLASS = "word"
STYLESHEET_HREF = "style.css"
STYLESHEET = f"""body {{ line-height: 1.5; }}
h1 {{ text-align: center; margin: 1em 0 1.5em; }}
p {{ text-indent: 1.5em; margin: 0; }}
.{ACTIVE_CLASS} {{ background-color: #fde68a; color: inherit; border-radius: 0.15em; }}
"""


def _tag(name: str) -> str:
    return f"{{{XHTML_NS}}}{name}"


def _add(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, _tag(name), {key.rstrip("_"): value for key, value in attrs.items()})
    element.text = text
    return element


def _append_text(element: etree._Element, text: str) -> None:
    """Text at the end of ``element``; a newline becomes a ``<br/>``."""
    for number, line in enumerate(text.split("\n")):
        if number:
            _add(element, "br")
        if not line:
            continue
        if len(element):
            last = element[-1]
            last.tail = (last.tail or "") + line
        else:
            element.text = (element.text or "") + line


def _sentence(parent: etree._Element, sentence: Sentence) -> None:
    span = _add(parent, "span", id=sentence.id, class_=SENTENCE_CLASS)
    for part in sentence.parts:
        if isinstance(part, Word):
            _add(span, "span", part.text, id=part.id, class_=WORD_CLASS)
        else:
            _append_text(span, part)


def _document(title: str, language: str) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(_tag("html"), nsmap={None: XHTML_NS, "epub": EPUB_NS})
    root.set(XML_LANG, language)
    root.set("lang", language)
    head = _add(root, "head")
    _add(head, "meta", charset="utf-8")
    _add(head, "title", title)
    _add(head, "link", rel="stylesheet", type="text/css", href=STYLESHEET_HREF)
    return root, _add(root, "body")


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>"))


def chapter_page(chapter: ChapterText, language: str) -> bytes:
    """The XHTML page of ``chapter``."""
    root, body = _document(chapter.title, language)
    section = _add(body, "section", id=f"c{chapter.number}", role="doc-chapter")
    section.set(f"{{{EPUB_NS}}}type", "chapter")
    if not chapter.spoken_heading:
        _add(section, "h1", chapter.title)
    for block in chapter.blocks:
        element = _add(section, "h1" if block.heading else "p")
        for number, sentence in enumerate(block.sentences):
            if number:
                _append_text(element, "\n" if sentence.new_line else " ")
            _sentence(element, sentence)
    return _serialize(root)


def navigation(title: str, language: str, chapters: Sequence[tuple[str, str]]) -> bytes:
    """The navigation document: a table of contents of ``(title, page href)``."""
    root, body = _document(title, language)
    nav = _add(body, "nav", id="toc", role="doc-toc")
    nav.set(f"{{{EPUB_NS}}}type", "toc")
    _add(nav, "h1", title)
    entries = _add(nav, "ol")
    for chapter_title, href in chapters:
        _add(_add(entries, "li"), "a", chapter_title, href=href)
    return _serialize(root)
