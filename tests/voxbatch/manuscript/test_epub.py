"""EPUB 2 and 3: reading order from the spine, chapter titles from the nav or NCX, metadata, front and back matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.voxbatch.manuscript.factory import ALICE_CHAPTER_TITLES, EpubDoc, TocEntry, epub_bytes, png_bytes
from voxbatch.manuscript.book import ManuscriptError, Section
from voxbatch.manuscript.epub import read_epub

ALICE_EPUB = REPO_ROOT / "tests" / "data" / "carroll-alice.epub"
ALICE_CHAPTERS = [title.replace("'", "\u2019") for title in ALICE_CHAPTER_TITLES]  # the EPUB's own curly quotes


def _body(sections: tuple[Section, ...]) -> list[Section]:
    return [s for s in sections if s.matter == "body"]


def test_alice_has_its_twelve_chapters_titled_from_the_table_of_contents() -> None:
    book = read_epub(ALICE_EPUB)
    assert [s.title for s in _body(book.sections)] == ALICE_CHAPTERS
    first = _body(book.sections)[0]
    assert first.paragraphs[0].startswith("Alice was beginning to get very tired")  # the heading is not repeated
    assert _body(book.sections)[-1].paragraphs[-1] == "THE END"


def test_alice_metadata_and_cover_come_from_the_package() -> None:
    book = read_epub(ALICE_EPUB)
    assert (book.title, book.author, book.language) == ("Alice's Adventures in Wonderland", "Lewis Carroll", "en")
    assert book.cover is not None and book.cover.suffix == ".jpg" and len(book.cover.data) == 104775


def test_alice_front_and_back_matter_are_marked() -> None:
    book = read_epub(ALICE_EPUB)
    matter = [(s.matter, s.title) for s in book.sections if s.matter != "body"]
    assert matter == [
        ("front", "Project Gutenberg header"),
        ("front", "Alice’s Adventures in Wonderland"),  # the title page, by its title
        ("front", "Contents"),  # the edition line, a title without text, is read at its start
        ("back", "Project Gutenberg licence"),
    ]
    contents = next(s for s in book.sections if s.title == "Contents")
    assert contents.paragraphs[0] == "THE MILLENNIUM FULCRUM EDITION 3.0"
    every_body_word = " ".join(p for s in _body(book.sections) for p in s.paragraphs)
    assert "Gutenberg" not in every_body_word and "START OF" not in every_body_word


def _chapter(number: int, extra: str = "") -> str:
    return (
        f'<h2 id="c{number}">Chapter {number}</h2><p>Text of chapter {number}, a sentence long enough.'
        f'<a epub:type="noteref" href="notes.xhtml#n{number}">{number}</a></p>'
        f'<p>More<sup><a href="#fn{number}">[{number}]</a></sup> text<span epub:type="pagebreak" id="p{number}" '
        f'title="{number * 10}">{number * 10}</span> here.{extra}</p>'
        f'<aside epub:type="footnote" id="fn{number}"><p>A footnote nobody hears.</p></aside>'
    )


def _nested_epub(version: int) -> bytes:
    docs = [
        EpubDoc("cover.xhtml", '<section epub:type="cover"><p>Cover words</p></section>'),
        EpubDoc("copyright.xhtml", "<h1>Copyright</h1><p>All rights reserved, 2020.</p>"),
        EpubDoc("part1.xhtml", "<h1>Part One</h1>"),
        EpubDoc("ch1.xhtml", _chapter(1)),
        EpubDoc("ch2.xhtml", _chapter(2, ' <script>alert("no")</script><style>p{}</style>')),
        EpubDoc("notes.xhtml", "<p id='n1'>Endnote one.</p>", linear=False),
        EpubDoc("ch3.xhtml", _chapter(3) + '<h2 id="c4">Chapter 4</h2><p>The fourth chapter shares a file.</p>'),
        EpubDoc("index.xhtml", "<h1>Index</h1><p>apples, 3</p>"),
    ]
    toc = [
        TocEntry("Copyright", "copyright.xhtml"),
        TocEntry(
            "Part One",
            "part1.xhtml",
            [TocEntry("Chapter 1", "ch1.xhtml#c1"), TocEntry("Chapter 2", "ch2.xhtml")],
        ),
        TocEntry(
            "Part Two", "ch3.xhtml", [TocEntry("Chapter 3", "ch3.xhtml#c3"), TocEntry("Chapter 4", "ch3.xhtml#c4")]
        ),
        TocEntry("Index", "index.xhtml"),
    ]
    return epub_bytes(docs, toc, version=version, cover=png_bytes())


@pytest.mark.parametrize("version", [2, 3])
def test_nested_entries_order_and_matter_in_epub_2_and_3(tmp_path: Path, version: int) -> None:
    path = tmp_path / "nested.epub"
    path.write_bytes(_nested_epub(version))
    book = read_epub(path)
    assert [(s.matter, s.title) for s in book.sections] == [
        ("front", None),  # the cover page's text, before the first entry
        ("front", "Copyright"),
        ("body", "Chapter 1"),
        ("body", "Chapter 2"),
        ("body", "Chapter 3"),  # "Part Two" points at the same place: the nested, specific entry wins
        ("body", "Chapter 4"),
        ("back", "Index"),
    ]
    chapter_1 = book.sections[2]
    assert chapter_1.paragraphs == ("Part One", "Text of chapter 1, a sentence long enough.", "More text here.")
    assert book.sections[3].paragraphs == ("Text of chapter 2, a sentence long enough.", "More text here.")
    assert (book.title, book.author, book.language) == ("A Test Book", "Ann Author", "en-GB")
    assert book.cover is not None and book.cover.suffix == ".png"


def test_without_a_table_of_contents_the_headings_decide(tmp_path: Path) -> None:
    docs = [EpubDoc("a.xhtml", _chapter(1)), EpubDoc("b.xhtml", _chapter(2))]
    path = tmp_path / "untitled.epub"
    path.write_bytes(epub_bytes(docs, [], version=2))
    assert [s.title for s in read_epub(path).sections] == ["Chapter 1", "Chapter 2"]


def test_the_guide_marks_whole_files_as_front_matter(tmp_path: Path) -> None:
    docs = [
        EpubDoc("title.xhtml", "<p>A Test Book</p><p>by Ann Author, with a long line about the edition.</p>"),
        EpubDoc("ch1.xhtml", _chapter(1)),
        EpubDoc("ch2.xhtml", _chapter(2)),
    ]
    toc = [TocEntry("Welcome", "title.xhtml"), TocEntry("One", "ch1.xhtml"), TocEntry("Two", "ch2.xhtml")]
    path = tmp_path / "guided.epub"
    path.write_bytes(epub_bytes(docs, toc, version=2, guide={"title-page": "text/title.xhtml"}))
    assert [(s.matter, s.title) for s in read_epub(path).sections] == [
        ("front", "Welcome"),
        ("body", "One"),
        ("body", "Two"),
    ]


def test_a_damaged_package_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.epub"
    path.write_bytes(
        epub_bytes([EpubDoc("a.xhtml", "<p>x</p>")], [], mimetype=True).replace(b"content.opf", b"missing.opf")
    )
    with pytest.raises(ManuscriptError, match="is a damaged EPUB book"):
        read_epub(path)


ENCRYPTION = (
    '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" xmlns:enc="http://www.w3.org/2001/04/xmlenc#">'
    '<enc:EncryptedData><enc:EncryptionMethod Algorithm="{algorithm}"/>'
    '<enc:CipherData><enc:CipherReference URI="OEBPS/{target}"/></enc:CipherData></enc:EncryptedData></encryption>'
)


def test_a_drm_protected_book_is_refused_but_obfuscated_fonts_are_fine(tmp_path: Path) -> None:
    docs = [EpubDoc("a.xhtml", _chapter(1)), EpubDoc("b.xhtml", _chapter(2))]
    drm = ENCRYPTION.format(algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc", target="text/a.xhtml")
    fonts = ENCRYPTION.format(algorithm="http://www.idpf.org/2008/embedding", target="fonts/serif.otf")
    (tmp_path / "drm.epub").write_bytes(epub_bytes(docs, [], extra={"META-INF/encryption.xml": drm}))
    (tmp_path / "fonts.epub").write_bytes(epub_bytes(docs, [], extra={"META-INF/encryption.xml": fonts}))
    with pytest.raises(ManuscriptError, match=r"^is a DRM-protected \(encrypted\) EPUB book; voxbatch cannot read it$"):
        read_epub(tmp_path / "drm.epub")
    assert [s.title for s in read_epub(tmp_path / "fonts.epub").sections] == ["Chapter 1", "Chapter 2"]
