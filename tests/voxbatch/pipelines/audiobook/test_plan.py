"""Planning books from every manuscript format: chapters as read, nothing but the book's words spoken, and an edit
to one chapter of an EPUB changes only that chapter's chunk keys (so only they are paid for again)."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.voxbatch.manuscript.factory import ALICE_CHAPTER_TITLES, EpubDoc, TocEntry, epub_bytes
from tests.voxbatch.manuscript.test_pdf import keeper_pdf
from voxbatch.manifest.tts import BookRow, load_tts_manifest
from voxbatch.pipelines.audiobook.plan import BookPlan, plan_book

DATA = REPO_ROOT / "tests" / "data"
ENDPOINT = "test-endpoint"
ALICE_TITLES = ALICE_CHAPTER_TITLES
# What must never be spoken: markup, escapes, boilerplate, running headers and footers, footnote and page markers.
NEVER_SPOKEN = re.compile(
    r"<|>|&[a-z]+;|\\|^#|epub:|xhtml|Gutenberg|START OF|END OF|LICEN[SC]E|KEEPER'S LOG|Page \d+ of|"
    r"[a-z][.!?]\d|More\d|\[\d\]|text\d+ here",
    re.MULTILINE,
)


def _row(folder: Path, name: str) -> BookRow:
    (folder / "books.csv").write_text(f"id,text_path\nbook,{name}\n")
    (row,), errors = load_tts_manifest(folder / "books.csv")
    assert errors == []
    return row


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BookPlan]:
    folder = tmp_path_factory.mktemp("books")
    shutil.copy(DATA / "carroll-alice.epub", folder / "alice.epub")
    shutil.copy(DATA / "carroll-alice.docx", folder / "alice.docx")
    shutil.copy(DATA / "defoe-robinson-crusoe-excerpt.pdf", folder / "crusoe.pdf")
    (folder / "keeper.pdf").write_bytes(keeper_pdf())
    (folder / "notes.epub").write_bytes(_epub(["First", "Second", "Third"]))
    names = ["alice.epub", "alice.docx", "crusoe.pdf", "keeper.pdf", "notes.epub"]
    return {name: plan_book(_row(folder, name), ENDPOINT) for name in names}


@pytest.mark.parametrize(
    ("name", "titles"),
    [
        ("alice.epub", ALICE_TITLES),
        ("alice.docx", ALICE_TITLES),
        ("crusoe.pdf", ["CHAPTER I. START IN LIFE", "CHAPTER XIII. WRECK OF A SPANISH SHIP"]),
        ("keeper.pdf", ["Chapter 1: The Storm", "Chapter 2: The Rescue", "Chapter 3: The Letter"]),
        ("notes.epub", ["Chapter 1", "Chapter 2", "Chapter 3"]),
    ],
)
def test_chapters_are_the_books_chapters(plans: dict[str, BookPlan], name: str, titles: list[str]) -> None:
    plan = plans[name]
    assert [c.title for c in plan.chunked.chapters] == titles
    assert len(plan.row.matter) == len(titles)
    headings = [job.chunk.spoken for job in plan.jobs if job.chunk.is_heading]
    assert headings == titles  # each chapter's title is spoken once, as its heading


@pytest.mark.parametrize("name", ["alice.epub", "alice.docx", "crusoe.pdf", "keeper.pdf", "notes.epub"])
def test_no_chunk_speaks_markup_boilerplate_headers_or_markers(plans: dict[str, BookPlan], name: str) -> None:
    plan = plans[name]
    for job in plan.jobs:
        found = NEVER_SPOKEN.search(job.chunk.spoken)
        assert found is None, f"{name} chunk {job.chunk.index} speaks {found[0]!r}: {job.chunk.spoken[:200]!r}"
        assert not job.chunk.spoken.strip().isdigit(), f"{name} chunk {job.chunk.index} is a page number"
    spoken = " ".join(job.chunk.spoken for job in plan.jobs)
    if name == "keeper.pdf":
        assert "watching for the lighthouse beam" in spoken and "afternoon continued" in spoken
    if name == "crusoe.pdf":
        assert "I was born in the year 1632, in the city of York" in spoken and "Contents" not in spoken


def _epub(texts: list[str]) -> bytes:
    docs = [
        EpubDoc(
            f"c{n}.xhtml",
            f"<h1>Chapter {n}</h1><p>{text} chapter begins here, and it has a sentence of its own."
            f'<a epub:type="noteref" href="#fn{n}">{n}</a></p>'
            f"<p>More<sup><a href='#x{n}'>[{n}]</a></sup> text<span epub:type='pagebreak'>{n}</span> here.</p>"
            + "<p>The middle of the chapter goes on for a while, long enough to need a few chunks of its own. </p>"
            * 12,
        )
        for n, text in enumerate(texts, start=1)
    ]
    toc = [TocEntry(f"Chapter {n}", f"c{n}.xhtml") for n in range(1, len(texts) + 1)]
    return epub_bytes(docs, toc, title="Notes")


def test_editing_one_chapter_of_an_epub_changes_only_that_chapters_keys(tmp_path: Path) -> None:
    (tmp_path / "notes.epub").write_bytes(_epub(["First", "Second", "Third"]))
    before = plan_book(_row(tmp_path, "notes.epub"), ENDPOINT)
    (tmp_path / "notes.epub").write_bytes(_epub(["First", "Edited second", "Third"]))
    after = plan_book(_row(tmp_path, "notes.epub"), ENDPOINT)

    def keys(plan: BookPlan) -> dict[int, list[str]]:
        return {i: [job.key for job in batch] for i, batch in enumerate(plan.chapter_batches())}

    old, new = keys(before), keys(after)
    assert old.keys() == new.keys() == {0, 1, 2}
    assert old[0] == new[0] and old[2] == new[2]
    changed = [k for k in new[1] if k not in old[1]]
    assert len(changed) == 1 and len(new[1]) > 2  # only the edited chunk of chapter 2 is new


def test_a_chapter_selection_plans_only_those_body_chapters(tmp_path: Path) -> None:
    """``1-3,7`` counts Alice's body chapters in the EPUB (its title page and licence are not chapters)."""
    shutil.copy(DATA / "carroll-alice.epub", tmp_path / "alice.epub")
    (tmp_path / "books.csv").write_text('id,text_path,chapters\nbook,alice.epub,"1-3,7"\npart,alice.epub,Tarts\n')
    (book, part), errors = load_tts_manifest(tmp_path / "books.csv")
    assert errors == []
    whole = plan_book(replace(book, chapters=""), ENDPOINT)
    chosen = plan_book(book, ENDPOINT)
    titles = [chosen.chunked.chapters[j.chunk.chapter_index].title for j in chosen.jobs]
    assert sorted(set(titles), key=ALICE_TITLES.index) == [ALICE_TITLES[i] for i in (0, 1, 2, 6)]
    assert {j.key for j in chosen.jobs} < {j.key for j in whole.jobs}  # the same chunks, the same keys: no re-pay
    only = plan_book(part, ENDPOINT)
    assert {only.chunked.chapters[j.chunk.chapter_index].title for j in only.jobs} == {ALICE_TITLES[10]}


def test_a_selection_the_book_cannot_meet_is_a_row_error(tmp_path: Path) -> None:
    from voxbatch.pipelines.audiobook.pipeline import AudiobookPipeline
    from voxbatch.run.kernel import PlanPlace

    shutil.copy(DATA / "carroll-alice.epub", tmp_path / "alice.epub")
    (tmp_path / "books.csv").write_text("id,text_path,chapters\nbook,alice.epub,13\nbad,alice.epub,2-1\n")
    (row,), errors = load_tts_manifest(tmp_path / "books.csv")
    assert [str(e) for e in errors] == [
        "row 3 (id 'bad'), column 'chapters': '2-1' is not a chapter range (chapters count from 1, as in 1-3)"
    ]
    planned = AudiobookPipeline(tmp_path / "out").plan(row, PlanPlace(ENDPOINT, tmp_path, tmp_path))
    assert planned.plan is None
    assert planned.row_error == "row 2 (id 'book'), column 'chapters': chapter 13 is past the book's 12 chapters"
