"""A chapter's page: its title, paragraphs of sentence spans with word spans, verse lines broken, text escaped."""

from __future__ import annotations

from lxml import etree

from voxbatch.readalong.layout import Block, ChapterText, Sentence, Word
from voxbatch.readalong.pages import chapter_page, navigation

XHTML = "{http://www.w3.org/1999/xhtml}"


def test_an_unspoken_title_is_shown_and_sentences_are_spans_of_words() -> None:
    verse = Sentence("c1s2", ("Improve his tail",), 2.0, word_timed=False, new_line=True)
    first = Sentence("c1s1", (Word("c1s1w1", "Fish", 1.0), " & <chips>"), 1.0, word_timed=False)
    page = chapter_page(ChapterText(1, "Tom & Jerry", (Block(False, (first, verse)),)), "de")
    assert page.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<!DOCTYPE html>")
    root = etree.fromstring(page)
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    assert root.findtext(f".//{XHTML}h1") == "Tom & Jerry"
    (paragraph,) = root.iter(f"{XHTML}p")
    assert "".join(paragraph.itertext()) == "Fish & <chips>Improve his tail"
    assert [child.tag.split("}")[1] for child in paragraph] == ["span", "br", "span"]
    assert paragraph[0][0].get("id") == "c1s1w1" and paragraph[0][0].get("class") == "word"


def test_a_spoken_heading_is_the_title_and_the_nav_lists_every_chapter() -> None:
    heading = Sentence("c1s1", ("CHAPTER I.",), 0.0, word_timed=False)
    root = etree.fromstring(chapter_page(ChapterText(1, "CHAPTER I.", (Block(True, (heading,)),)), "en"))
    assert [h.find(f"{XHTML}span").get("id") for h in root.iter(f"{XHTML}h1")] == ["c1s1"]
    nav = etree.fromstring(navigation("Book", "en", [("One", "chapter-001.xhtml"), ("Two", "chapter-002.xhtml")]))
    assert [(a.text, a.get("href")) for a in nav.iter(f"{XHTML}a")] == [
        ("One", "chapter-001.xhtml"),
        ("Two", "chapter-002.xhtml"),
    ]
