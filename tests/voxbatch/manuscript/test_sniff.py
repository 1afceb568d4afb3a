"""A file is what its bytes say: the extension is checked against them, never trusted."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.voxbatch.manuscript.factory import EpubDoc, TocEntry, epub_bytes, pdf_bytes, write_docx
from voxbatch.manuscript.sniff import expected_kind, mismatch, sniff_file


def _zip(path: Path, names: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in names.items():
            archive.writestr(name, text)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    docs = [EpubDoc("c1.xhtml", "<h1>One</h1><p>Text.</p>")]
    made = {
        "epub": tmp_path / "book.bin",
        "docx": write_docx(tmp_path / "doc.bin", [("Normal", "Hello.")]),
        "pdf": tmp_path / "paper.bin",
        "html": tmp_path / "page.bin",
        "text": tmp_path / "notes.bin",
        "zip": _zip(tmp_path / "plain.bin", {"a.txt": "a"}),
        "odt": _zip(tmp_path / "odt.bin", {"mimetype": "application/vnd.oasis.opendocument.text"}),
        "png": tmp_path / "image.bin",
    }
    made["epub"].write_bytes(epub_bytes(docs, [TocEntry("One", "c1.xhtml")]))
    made["pdf"].write_bytes(pdf_bytes([[]]))
    made["html"].write_text("<!DOCTYPE html><html><body><p>x</p></body></html>")
    made["text"].write_text("Just text.\n")
    made["png"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    return made


@pytest.mark.parametrize(
    ("name", "kind", "what"),
    [
        ("epub", "epub", "a ZIP archive (an EPUB book)"),
        ("docx", "docx", "a ZIP archive (a Word document, .docx)"),
        ("pdf", "pdf", "a PDF document"),
        ("html", "html", "an HTML page"),
        ("text", "text", "plain text"),
        ("zip", None, "a ZIP archive"),
        ("odt", None, "a ZIP archive (an OpenDocument text, .odt; save it as DOCX or EPUB)"),
        ("png", None, "a PNG image"),
    ],
)
def test_each_kind_is_known_by_its_bytes(files: dict[str, Path], name: str, kind: str | None, what: str) -> None:
    sniffed = sniff_file(files[name])
    assert (sniffed.kind, sniffed.what) == (kind, what)


def test_a_truncated_docx_is_named_from_its_first_local_header(files: dict[str, Path], tmp_path: Path) -> None:
    data = files["docx"].read_bytes()
    cut = tmp_path / "cut.docx"
    cut.write_bytes(data[: len(data) // 2])
    sniffed = sniff_file(cut)
    assert sniffed.kind is None
    assert sniffed.what == "a truncated or damaged Word document (.docx): its ZIP directory is missing"


@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        (".epub", "epub"),
        (".EPUB", "epub"),
        (".docx", "docx"),
        (".pdf", "pdf"),
        (".htm", "html"),
        (".xhtml", "html"),
        (".txt", "text"),
        (".md", "markdown"),
        (".markdown", "markdown"),
        ("", None),
        (".rst", None),
    ],
)
def test_the_extension_is_a_claim(suffix: str, expected: str | None) -> None:
    assert expected_kind(Path(f"book{suffix}")) == expected


def test_mismatches_say_what_the_file_really_is(files: dict[str, Path]) -> None:
    assert mismatch(sniff_file(files["text"]), "epub") == "is plain text, not an EPUB book"
    assert mismatch(sniff_file(files["zip"]), "epub") == (
        "is a ZIP archive, not an EPUB book "
        "(it has neither an EPUB mimetype and META-INF/container.xml nor word/document.xml)"
    )
    assert mismatch(sniff_file(files["pdf"]), "text") == "is a PDF document, not plain text"
    assert mismatch(sniff_file(files["docx"]), "text") == "is a ZIP archive (a Word document, .docx), not plain text"
    assert mismatch(sniff_file(files["png"]), None) == (
        "is a PNG image, which voxbatch cannot read (EPUB, DOCX, PDF, HTML, plain text or Markdown)"
    )


def test_matching_and_unclaimed_files_are_read_by_their_bytes(files: dict[str, Path]) -> None:
    assert mismatch(sniff_file(files["epub"]), "epub") is None
    assert mismatch(sniff_file(files["text"]), "markdown") is None
    assert mismatch(sniff_file(files["pdf"]), None) is None  # no extension claims anything: a PDF is read


def test_an_html_fragment_is_html_when_named_so_and_markdown_when_named_so(tmp_path: Path) -> None:
    fragment = tmp_path / "chapter.html"
    fragment.write_text("<!-- chapter one -->\n<h1>One</h1>\n<p>Text.</p>\n")
    assert sniff_file(fragment, "html").kind == "html"
    assert sniff_file(fragment, "markdown").kind == "text"  # Markdown may hold HTML: read as Markdown
    assert sniff_file(fragment).kind == "text"
