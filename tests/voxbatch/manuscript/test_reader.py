"""The one entry point: formats dispatched by their bytes, languages reduced to their code, surprises contained."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from voxbatch.manuscript import reader
from voxbatch.manuscript.book import ManuscriptError
from voxbatch.manuscript.reader import primary_language, read_manuscript


def test_each_format_is_read_by_its_own_module_whatever_the_name(tmp_path: Path) -> None:
    epub = tmp_path / "alice"  # no extension: the bytes decide
    epub.write_bytes((REPO_ROOT / "tests" / "data" / "carroll-alice.epub").read_bytes())
    assert read_manuscript(epub).format == "epub"
    (tmp_path / "notes.md").write_text("# One\n\nText.\n")
    markdown = read_manuscript(tmp_path / "notes.md")
    assert (markdown.format, markdown.source_text) == ("markdown", "# One\n\nText.\n")


@pytest.mark.parametrize(("tag", "code"), [("en-GB", "en"), ("EN", "en"), ("fra", "fra"), ("", None), ("x", None)])
def test_metadata_languages_are_reduced_to_their_code(tag: str, code: str | None) -> None:
    assert primary_language(tag) == code


def test_folders_and_unforeseen_parser_failures_are_row_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ManuscriptError, match=r"^is a folder, not a file$"):
        read_manuscript(tmp_path)
    page = tmp_path / "page.html"
    page.write_text("<html><body><p>x</p></body></html>")

    def explode(path: Path) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setitem(reader._READERS, "html", explode)
    with pytest.raises(ManuscriptError, match=r"^is an HTML page that could not be read \(RecursionError\)$"):
        read_manuscript(page)
