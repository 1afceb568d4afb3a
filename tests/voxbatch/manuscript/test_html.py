"""HTML and XHTML: chapters from h1/h2, script, style and nav left out, entities decoded."""

from __future__ import annotations

from pathlib import Path

from voxbatch.manuscript.html import read_html

PROSE = "She walked along the river at dawn and counted the boats that had come in with the tide. " * 3


def _page(tmp_path: Path, body: str, head: str = "<title>River Days</title>", charset: str = "utf-8") -> Path:
    path = tmp_path / "page.html"
    markup = (
        f'<!DOCTYPE html><html lang="fr-CA"><head><meta charset="{charset}">{head}</head><body>{body}</body></html>'
    )
    path.write_bytes(markup.encode(charset))
    return path


def test_h2_chapters_under_one_h1_title(tmp_path: Path) -> None:
    body = (
        "<nav><a href='#a'>Menu</a></nav><script>var x = '<p>no</p>';</script><style>h2 {color: red}</style>"
        "<h1>River Days</h1><p>by Mae Author</p>"
        f"<h2>Morning &amp; Tide</h2><p>{PROSE}</p><p>Caf&eacute; &lt;open&gt; &#8212; &quot;yes&quot;.</p>"
        f"<h2>Evening</h2><ul><li>First item</li><li>Second item</li></ul><p>{PROSE}</p>"
        "<table><tr><td>Left</td><td>Right</td></tr></table>"
    )
    book = read_html(_page(tmp_path, body, head='<title>River Days</title><meta name="author" content="Mae Author">'))
    assert [(s.matter, s.title) for s in book.sections] == [
        ("front", None),
        ("body", "Morning & Tide"),
        ("body", "Evening"),
    ]
    assert book.sections[1].paragraphs[1] == 'Café <open> — "yes".'
    assert book.sections[2].paragraphs == ("First item", "Second item", PROSE.strip(), "Left Right")
    words = " ".join(p for s in book.sections for p in s.paragraphs)
    assert "Menu" not in words and "var x" not in words and "color" not in words
    assert (book.title, book.author, book.language) == ("River Days", "Mae Author", "fr-CA")


def test_repeated_h1_are_the_chapters(tmp_path: Path) -> None:
    body = f"<h1>One</h1><h2>Scene</h2><p>{PROSE}</p><h1>Two</h1><p>{PROSE}</p>"
    book = read_html(_page(tmp_path, body))
    assert [s.title for s in book.sections] == ["One", "Two"]
    assert book.sections[0].paragraphs[0] == "Scene"


def test_a_page_in_another_declared_charset(tmp_path: Path) -> None:
    book = read_html(_page(tmp_path, f"<p>Déjà vu, naïve café. {PROSE}</p>", charset="iso-8859-1"))
    assert book.sections[0].paragraphs[0].startswith("Déjà vu, naïve café.")


def test_plain_paragraphs_fall_back_to_the_text_rules(tmp_path: Path) -> None:
    body = f"<p>CHAPTER I.</p><p>The Start</p><p>{PROSE}</p><p>CHAPTER II.</p><p>The End</p><p>{PROSE}</p>"
    book = read_html(_page(tmp_path, body))
    assert [s.title for s in book.sections] == ["CHAPTER I. The Start", "CHAPTER II. The End"]
