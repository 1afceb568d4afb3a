"""The dry run's table of contents: body chapters numbered in reading order, front and back matter unnumbered."""

from __future__ import annotations

from dataclasses import replace

from voxbatch.manifest.tts import BookRow
from voxbatch.manuscript.book import Manuscript, Section
from voxbatch.manuscript.render import render_manuscript
from voxbatch.pipelines.audiobook.contents import book_contents, contents_text
from voxbatch.pricing import default_price_table

MODEL = "hexgrad/Kokoro-82M"
TEXT = "The chapter's text is a sentence or two long. It goes on a little more."


def _row(text: str, markdown: bool, matter: tuple[str, ...], title: str = "The Book") -> BookRow:
    return BookRow(2, "book", text, markdown, title, None, MODEL, "af_heart", None, "mp3", None, matter=matter)


def test_front_and_back_matter_kept_are_listed_without_numbers() -> None:
    sections = (
        Section("Contents", ("One", "Two"), "front"),
        Section("One", (TEXT,)),
        Section("Two", (TEXT, TEXT)),
        Section("Index", ("apples, 3",), "back"),
    )
    rendered = render_manuscript(Manuscript("epub", sections=sections), title="The Book", keep_matter=True)
    entries = book_contents(_row(rendered.text, rendered.markdown, rendered.matter), default_price_table())
    assert [(e.number, e.title, e.matter) for e in entries] == [
        (None, "Contents", "front"),
        (1, "One", "body"),
        (2, "Two", "body"),
        (None, "Index", "back"),
    ]
    # A chapter's size is its normalized text, its spoken heading included: "One", a blank line, the paragraph.
    assert entries[1].chars == len("One") + 2 + len(TEXT)
    assert entries[2].chars == len("Two") + 2 + len(TEXT) + 2 + len(TEXT)
    prices = [e.cost_usd for e in entries]
    assert all(p is not None and p > 0 for p in prices)


def test_plain_text_front_matter_and_a_book_without_headings() -> None:
    front = "Preface text that runs on. " * 30
    body = "It was a dark night and the story begins. " * 10
    text = f"{front}\n\nCHAPTER I.\n\n{body}\n\nCHAPTER II.\n\n{body}"
    listed = book_contents(_row(text, False, ()), default_price_table())
    assert [(e.number, e.title) for e in listed] == [(None, "Front matter"), (1, "Chapter I"), (2, "Chapter II")]
    single = book_contents(_row(body, False, (), title="A Dark Night"), default_price_table())
    assert [(e.number, e.title) for e in single] == [(1, "A Dark Night")]


def test_the_listing_names_the_book_and_each_chapter() -> None:
    row = _row(f"# One\n\n{TEXT}\n\n# Two\n\n{TEXT}", True, ("body", "body"))
    text = contents_text([row], default_price_table())
    lines = text.splitlines()
    assert lines[0] == "book: 2 chapters (The Book)"
    assert lines[1].split()[:2] == ["1", "One"] and lines[2].split()[:2] == ["2", "Two"]
    assert "chars" in lines[1] and "$" in lines[1]


def test_a_book_read_in_part_lists_every_chapter_and_marks_the_chosen() -> None:
    text = "\n\n".join(f"# {title}\n\n{TEXT}" for title in ("One", "Two", "Three"))
    row = replace(_row(text, True, ("body",) * 3), chapters="1,Three")
    entries = book_contents(row, default_price_table())
    assert [e.chosen for e in entries] == [True, False, True]
    lines = contents_text([row], default_price_table()).splitlines()
    chosen = [e for e in entries if e.chosen]
    cost = sum(e.cost_usd or 0.0 for e in chosen)
    chars = sum(e.chars for e in chosen)
    assert lines[0] == f"book: 3 chapters (The Book); reading 2 of them (marked *): {chars:,} chars, ${cost:.4f}"
    assert [line[:4] for line in lines[1:]] == ["*  1", "   2", "*  3"]
    whole = contents_text([replace(row, chapters="")], default_price_table()).splitlines()
    assert whole[0] == "book: 3 chapters (The Book)" and [line[:4] for line in whole[1:]] == ["   1", "   2", "   3"]
