"""Rendering: one ``#`` chapter per kept section, nothing in a paragraph read as Markdown, matter left out."""

from __future__ import annotations

import pytest

from voxbatch.manuscript.book import Manuscript, ManuscriptError, Section
from voxbatch.manuscript.render import render_manuscript
from voxbatch.text.chapters import layout_chapters
from voxbatch.text.normalize import normalize_document, normalize_text

TRICKY = (
    "# not a heading",
    "## nor this one",
    "a [link](http://example.com) and an ![image](x.png)",
    "<b>tags</b> and <!-- comments --> and <http://auto.link>",
    "`code` and ~~struck~~ words",
    "| a | b |",
    "|---|---|",
    "*** START OF THE PROJECT GUTENBERG EBOOK X ***",
    "> a quotation",
    "+ plus and * star",
    "* a starred line",
    "```",
    "[ref]: http://example.com",
    "a back\\slash and C:\\path\\to",
    "Title line",
    "===",
)


def test_paragraphs_are_read_back_as_exactly_their_words() -> None:
    book = Manuscript("epub", sections=(Section("One", TRICKY), Section("Two", ("Second chapter.",))))
    rendered = render_manuscript(book, title="Book")
    document = normalize_document(rendered.text, markdown=True)
    chapters = [layout.chapter for layout in layout_chapters(document)]
    assert [c.title for c in chapters] == ["One", "Two"]
    first = document.text[chapters[0].start : chapters[0].end].strip().split("\n\n")
    # As a plain-text line would be read ("--" a spaced dash; a line of "=" alone a separator, read as nothing); a
    # Gutenberg marker inside a chapter is text (plain-text normalization would cut the book there).
    expected = [p if p.startswith("***") else normalize_text(p) for p in TRICKY if p != "==="]
    assert first[1:] == expected


def test_front_and_back_matter_are_left_out_unless_kept() -> None:
    sections = (
        Section("Contents", ("One", "Two"), "front"),
        Section("One", ("Text one.",)),
        Section(None, ("Untitled middle text.",)),
        Section("Index", ("apples",), "back"),
    )
    book = Manuscript("epub", sections=sections)
    skipped = render_manuscript(book, title="The Book")
    kept = render_manuscript(book, title="The Book", keep_matter=True)
    assert skipped.matter == ("body", "body") and kept.matter == ("front", "body", "body", "back")
    for rendered, titles in ((skipped, ["One", "The Book"]), (kept, ["Contents", "One", "The Book", "Index"])):
        assert rendered.markdown
        document = normalize_document(rendered.text, markdown=True)
        assert [layout.chapter.title for layout in layout_chapters(document)] == titles


def test_one_untitled_section_is_plain_text_named_after_the_book() -> None:
    book = Manuscript("docx", sections=(Section(None, ("First paragraph.", "Second paragraph.")),))
    rendered = render_manuscript(book, title="The Book")
    assert (rendered.text, rendered.markdown, rendered.matter) == (
        "First paragraph.\n\nSecond paragraph.",
        False,
        ("body",),
    )


def test_plain_text_and_markdown_pass_through() -> None:
    text = Manuscript("markdown", source_text="# A\n\ntext")
    assert render_manuscript(text, title="T").text == "# A\n\ntext"
    assert render_manuscript(text, title="T").markdown
    assert render_manuscript(Manuscript("text", source_text="x"), title="T").matter == ()


def test_nothing_to_read_is_an_error() -> None:
    only_matter = Manuscript("epub", sections=(Section("Contents", ("One",), "front"),))
    with pytest.raises(ManuscriptError, match="has only front and back matter"):
        render_manuscript(only_matter, title="T")
    with pytest.raises(ManuscriptError, match="has no text to read"):
        render_manuscript(Manuscript("epub"), title="T")
