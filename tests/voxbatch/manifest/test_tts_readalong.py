"""The readalong column: on by default for EPUB manuscripts only; the run's --readalong/--no-readalong and a row's
yes/no override that, and anything else is a row error."""

from __future__ import annotations

from pathlib import Path

from tests.voxbatch.manuscript.factory import EpubDoc, TocEntry, epub_bytes
from voxbatch.manifest.tts import BookDefaults, load_tts_manifest

BODY = "<h1>Chapter One</h1><p>" + "Anna opened the door and went in. " * 12 + "</p>"


def _load(tmp_path: Path, rows: str, defaults: BookDefaults = BookDefaults()) -> tuple[list[bool], list[str]]:
    (tmp_path / "book.epub").write_bytes(epub_bytes([EpubDoc("one.xhtml", BODY)], [TocEntry("One", "one.xhtml")]))
    (tmp_path / "book.txt").write_text("Anna opened the door. She went in.\n")
    (tmp_path / "books.csv").write_text("id,text_path,readalong\n" + rows)
    books, errors = load_tts_manifest(tmp_path / "books.csv", defaults)
    return [book.readalong for book in books], [str(error) for error in errors]


def test_an_epub_gets_a_readalong_by_default_and_other_formats_do_not(tmp_path: Path) -> None:
    assert _load(tmp_path, "e,book.epub,\nt,book.txt,\n") == ([True, False], [])


def test_the_run_default_and_the_row_override_the_format(tmp_path: Path) -> None:
    rows = "e,book.epub,\nt,book.txt,\nyes,book.txt,yes\nno,book.epub,No\n"
    assert _load(tmp_path, rows, BookDefaults(readalong=False)) == ([False, False, True, False], [])
    assert _load(tmp_path, rows, BookDefaults(readalong=True)) == ([True, True, True, False], [])


def test_a_readalong_cell_that_is_not_yes_or_no_is_a_row_error(tmp_path: Path) -> None:
    readalong, errors = _load(tmp_path, "e,book.epub,maybe\n")
    assert readalong == [] and len(errors) == 1
    assert "readalong" in errors[0] and "must be yes or no; got 'maybe'" in errors[0]
