"""Manifest rows naming EPUB, DOCX, PDF and HTML manuscripts: metadata fills empty columns, mismatches are row errors.

Every refusal names the row, the column (``text_path``) and what the file really is, before anything is billed.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.voxbatch.manuscript.factory import EpubDoc, TocEntry, epub_bytes, pdf_bytes, png_bytes, rewrite_pdf
from tests.voxbatch.manuscript.test_pdf import keeper_pdf
from voxbatch.manifest.tts import BookDefaults, load_tts_manifest

ALICE_EPUB = REPO_ROOT / "tests" / "data" / "carroll-alice.epub"
ALICE_DOCX = REPO_ROOT / "tests" / "data" / "carroll-alice.docx"


def _manifest(tmp_path: Path, rows: str, header: str = "id,text_path") -> Path:
    path = tmp_path / "books.csv"
    path.write_text(f"{header}\n{rows}")
    return path


def test_epub_metadata_fills_empty_columns_and_columns_override(tmp_path: Path) -> None:
    shutil.copy(ALICE_EPUB, tmp_path / "alice.epub")
    manifest = _manifest(
        tmp_path,
        "alice,alice.epub,,,,\nalice2,alice.epub,My Alice,Someone,de,keep\n",
        header="id,text_path,title,author,language,front_matter",
    )
    (book, book2), errors = load_tts_manifest(manifest, BookDefaults(language="fr", author="Default Author"))
    assert errors == []
    assert (book.title, book.author, book.language) == ("Alice's Adventures in Wonderland", "Lewis Carroll", "en")
    assert book.markdown and book.matter == ("body",) * 12
    assert book.text.startswith("# CHAPTER I. Down the Rabbit-Hole\n\nAlice was beginning")
    assert book.embedded_cover is not None and book.embedded_cover.suffix == ".jpg" and book.cover_path is None
    assert (book2.title, book2.author, book2.language) == ("My Alice", "Someone", "de")
    assert book2.matter == ("front",) * 3 + ("body",) * 12 + ("back",)


def test_the_command_default_keeps_front_matter_for_rows_without_the_column(tmp_path: Path) -> None:
    shutil.copy(ALICE_DOCX, tmp_path / "alice.docx")
    manifest = _manifest(tmp_path, "a,alice.docx,\nb,alice.docx,skip\n", header="id,text_path,front_matter")
    (kept, skipped), errors = load_tts_manifest(manifest, BookDefaults(keep_front_matter=True))
    assert errors == []
    assert kept.matter[0] == "front" and skipped.matter == ("body",) * 12
    assert kept.title == "Alice’s Adventures in Wonderland"


def test_a_plain_text_book_without_headings_keeps_its_text_and_is_named_after_its_title(tmp_path: Path) -> None:
    (tmp_path / "story.txt").write_text("It was a dark night. The wind howled.\n")
    (book,), errors = load_tts_manifest(_manifest(tmp_path, "story,story.txt,A Dark Night\n", "id,text_path,title"))
    assert errors == [] and book.text == "It was a dark night. The wind howled.\n" and not book.markdown
    assert book.matter == () and book.title == "A Dark Night"


def test_mojibake_is_repaired_in_files_and_cells(tmp_path: Path) -> None:
    (tmp_path / "broken.txt").write_text("She said: donâ€™t go.\n")
    manifest = _manifest(tmp_path, "a,broken.txt,\nb,,Ã©tÃ© is here\n", header="id,text_path,text")
    (a, b), errors = load_tts_manifest(manifest)
    assert errors == [] and a.text == "She said: don’t go.\n" and b.text == "été is here"


def _bad_files(folder: Path) -> None:
    (folder / "notes.epub").write_text("Just some notes, not a book.\n")
    with zipfile.ZipFile(folder / "archive.epub", "w") as archive:
        archive.writestr("chapter1.html", "<p>hello</p>")
    (folder / "paper.txt").write_bytes(pdf_bytes([[]]))
    shutil.copy(ALICE_DOCX, folder / "cut.docx")
    data = (folder / "cut.docx").read_bytes()
    (folder / "cut.docx").write_bytes(data[: len(data) // 3])
    (folder / "scan.pdf").write_bytes(pdf_bytes([[]], image_pages=frozenset({0})))
    (folder / "locked.pdf").write_bytes(rewrite_pdf(keeper_pdf(), user_password="secret"))
    (folder / "image.bin").write_bytes(png_bytes())
    docs = [EpubDoc("t.xhtml", "<p>A Test Book</p>"), EpubDoc("c.xhtml", "<h1>Contents</h1><p>One</p>")]
    toc = [TocEntry("Title Page", "t.xhtml"), TocEntry("Contents", "c.xhtml")]
    (folder / "matter.epub").write_bytes(epub_bytes(docs, toc))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("notes.epub", "file notes.epub is plain text, not an EPUB book"),
        (
            "archive.epub",
            "file archive.epub is a ZIP archive, not an EPUB book "
            "(it has neither an EPUB mimetype and META-INF/container.xml nor word/document.xml)",
        ),
        ("paper.txt", "file paper.txt is a PDF document, not plain text"),
        ("cut.docx", "file cut.docx is a truncated or damaged Word document (.docx): its ZIP directory is missing"),
        (
            "scan.pdf",
            "file scan.pdf is a PDF document without a text layer (0 letters in 1 page: scanned images?); "
            "run OCR on it (e.g. ocrmypdf) first",
        ),
        ("locked.pdf", "file locked.pdf is an encrypted PDF document that needs a password; remove the password first"),
        (
            "image.bin",
            "file image.bin is a PNG image, which voxbatch cannot read (EPUB, DOCX, PDF, HTML, plain text or Markdown)",
        ),
        (
            "matter.epub",
            "file matter.epub has only front and back matter (cover, contents, licence...); keep it with "
            "--keep-front-matter or the front_matter column",
        ),
    ],
)
def test_files_that_are_not_what_they_say_are_row_errors(tmp_path: Path, name: str, reason: str) -> None:
    _bad_files(tmp_path)
    rows, errors = load_tts_manifest(_manifest(tmp_path, f"good,Fine text.,\nbad,,{name}\n", "id,text,text_path"))
    assert [r.id for r in rows] == ["good"]
    assert [(e.row, e.column, e.reason) for e in errors] == [(3, "text_path", reason)]


def test_a_bad_front_matter_value_is_a_row_error(tmp_path: Path) -> None:
    rows, errors = load_tts_manifest(_manifest(tmp_path, "a,Text.,maybe\n", "id,text,front_matter"))
    assert rows == [] and [(e.column, e.reason) for e in errors] == [
        ("front_matter", "must be keep or skip; got 'maybe'")
    ]
