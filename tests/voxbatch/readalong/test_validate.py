"""The structural validator finds what a broken read-along EPUB gets wrong (so a clean report means something)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.voxbatch.readalong.factory import FinishedBook, make_book
from voxbatch.readalong.epub import BookInfo, write_readalong_epub
from voxbatch.readalong.timing import ReadalongError
from voxbatch.readalong.validate import check_epub, clock_seconds, epub_problems

SMIL_1 = "OEBPS/chapter-001.smil"
OPF = "OEBPS/content.opf"
Edit = Callable[[str], str]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FinishedBook]:
    folder = tmp_path_factory.mktemp("validate")
    book = make_book(folder / "book")
    titles = [row.title for row in book.result.chapters]
    path = folder / "good.epub"
    write_readalong_epub(path, book.audio, book.timing, titles, BookInfo("book", "Book"))
    return path, book


def _rewrite(
    source: Path,
    target: Path,
    edits: dict[str, Edit | None] | None = None,
    extra: dict[str, bytes] | None = None,
    mimetype_compressed: bool = False,
) -> Path:
    """A copy of ``source`` with text entries edited (None: removed) and entries added."""
    edits = edits or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            edit = edits.get(info.filename, lambda text: text)
            if info.filename in edits and edit is None:
                continue
            data = old.read(info)
            if edit is not None and info.filename in edits:
                data = edit(data.decode()).encode()
            stored = info.filename != "mimetype" or not mimetype_compressed
            new.writestr(info.filename, data, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            new.writestr(name, data)
    return target


def _pars(smil: str) -> list[str]:
    return re.findall(r"<par .*?</par>", smil, flags=re.S)


def _drop_second_par(smil: str) -> str:
    return smil.replace(_pars(smil)[1], "", 1)


def _swap_pars(smil: str) -> str:
    first, second = _pars(smil)[:2]
    return smil.replace(first, "\0").replace(second, first).replace("\0", second)


def _overlap(smil: str) -> str:
    second = _pars(smil)[1]
    return smil.replace(second, re.sub(r'clipBegin="[^"]+"', 'clipBegin="0:00:00.000"', second), 1)


def test_the_good_epub_has_no_problem_and_check_epub_passes(good: tuple[Path, FinishedBook]) -> None:
    path, book = good
    assert epub_problems(path, book.result.duration_s) == []
    check_epub(path, "good.epub", book.result.duration_s)


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        ({SMIL_1: _drop_second_par}, "sentence #c1s2 is not covered"),
        ({SMIL_1: _swap_pars}, "sentence #c1s1 is not covered"),
        ({SMIL_1: _overlap}, "before the previous one ends"),
        ({OPF: lambda opf: opf.replace(' media-overlay="mo-002"', "")}, "spine item 'page-002' has no Media Overlay"),
        ({OPF: lambda opf: re.sub(r'(refines="#mo-001">)[^<]+', r"\g<1>0:00:01.000", opf)}, "overlay mo-001"),
        ({OPF: lambda opf: re.sub(r"<meta property=\"dcterms:modified\">[^<]+</meta>", "", opf)}, "dcterms:modified"),
        ({OPF: lambda opf: opf.replace("<dc:language>en</dc:language>", "")}, "no dc:language"),
        ({OPF: lambda opf: opf.replace('version="3.0"', 'version="2.0"')}, "not an EPUB 3.0 package"),
        ({OPF: lambda opf: opf.replace("audio/mpeg", "audio/wav")}, "not an EPUB core media type"),
        ({"OEBPS/chapter-002.xhtml": None}, "(chapter-002.xhtml) is not in the EPUB"),
        ({"OEBPS/nav.xhtml": lambda nav: nav.replace('epub:type="toc"', "")}, "no toc nav"),
        ({"OEBPS/chapter-001.xhtml": lambda page: page.replace("</section>", "")}, "not well-formed XML"),
        ({"META-INF/container.xml": None}, "META-INF/container.xml is missing"),
    ],
)
def test_each_kind_of_breakage_is_named(
    good: tuple[Path, FinishedBook], tmp_path: Path, edits: dict[str, Edit | None], expected: str
) -> None:
    broken = _rewrite(good[0], tmp_path / "broken.epub", edits)
    problems = epub_problems(broken)
    assert any(expected in problem for problem in problems), problems


def test_container_problems_and_the_audio_duration_are_named(good: tuple[Path, FinishedBook], tmp_path: Path) -> None:
    path, book = good
    compressed = _rewrite(path, tmp_path / "a.epub", mimetype_compressed=True)
    assert "mimetype is compressed or has an extra field" in epub_problems(compressed)
    stray = _rewrite(path, tmp_path / "b.epub", extra={"OEBPS/notes.txt": b"x"})
    assert "OEBPS/notes.txt is in the EPUB but not in the manifest" in epub_problems(stray)
    assert any("its audio" in problem for problem in epub_problems(path, book.result.duration_s + 0.05))
    (tmp_path / "c.epub").write_bytes(b"not a zip")
    assert epub_problems(tmp_path / "c.epub")[0].startswith("not a readable ZIP file")
    with pytest.raises(ReadalongError, match=r"c.epub is not a valid read-along EPUB: not a readable ZIP"):
        check_epub(tmp_path / "c.epub", "c.epub")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1:02:03.5", 3723.5), ("02:03.250", 123.25), ("3.5", 3.5), ("3.5s", 3.5), ("500ms", 0.5), ("2min", 120.0)],
)
def test_smil_clock_values(value: str, seconds: float) -> None:
    assert clock_seconds(value) == pytest.approx(seconds)


def test_a_clock_value_that_is_none_is_none() -> None:
    assert clock_seconds("soon") is None and clock_seconds("1:75:00") is None
