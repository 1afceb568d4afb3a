"""PDF lines into paragraphs: what counts as a running header, a footer, a page number, and a paragraph break."""

from __future__ import annotations

from voxbatch.manuscript.pdf_layout import PdfLine, lines_from_runs, paragraphs, without_headers_and_footers

PAGE = (0.0, 792.0)
IDENTITY = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]


def _page(number: int, top: str, body: list[str], bottom: str) -> list[PdfLine]:
    lines = [PdfLine(top, number, 200, 760, 9)]
    lines += [PdfLine(text, number, 72, 700 - 14 * i, 11) for i, text in enumerate(body)]
    return [*lines, PdfLine(bottom, number, 290, 30, 9)]


def test_lines_come_from_the_visitors_runs_with_their_positions() -> None:
    runs = [("Hello ", IDENTITY, [11, 0, 0, 11, 72, 700], 1.0), ("world\n", IDENTITY, [11, 0, 0, 11, 100, 700], 1.0)]
    runs.append(("Next line\n", IDENTITY, [11, 0, 0, 11, 72, 686], 1.0))
    assert lines_from_runs(runs, 3) == [PdfLine("Hello world", 3, 72, 700, 11), PdfLine("Next line", 3, 72, 686, 11)]


def test_running_headers_and_page_numbers_go_chapter_headings_stay() -> None:
    pages = [
        _page(0, "Chapter 1", ["Text of the first page goes on."], "1"),
        _page(1, "A NOVEL - 12", ["More text on the second page."], "- 2 -"),
        _page(2, "A NOVEL - 13", ["Chapter 2"], "Page 3 of 9"),
        _page(3, "A NOVEL - 14", ["Text."], "xiv"),
    ]
    kept = without_headers_and_footers(pages, [PAGE] * 4)
    assert [[line.text for line in page] for page in kept] == [
        ["Chapter 1", "Text of the first page goes on."],  # at the top of one page only: a heading, kept
        ["More text on the second page."],
        ["Chapter 2"],
        ["Text."],
    ]


def test_paragraphs_break_at_gaps_indents_and_short_sentence_ends() -> None:
    lines = [
        PdfLine("The first paragraph starts here and runs on to", 0, 90, 700, 11),
        PdfLine("the end of the line and then stops right here.", 0, 72, 686, 11),
        PdfLine("A block paragraph after a wider gap goes on and", 0, 72, 666, 11),
        PdfLine("ends short.", 0, 72, 652, 11),
        PdfLine("Then one more line that goes on past the page, con-", 0, 72, 638, 11),
        PdfLine("tinued on the next page.", 1, 72, 700, 11),
    ]
    assert [p.text for p in paragraphs([lines[:5], lines[5:]])] == [
        "The first paragraph starts here and runs on to the end of the line and then stops right here.",
        "A block paragraph after a wider gap goes on and ends short.",
        "Then one more line that goes on past the page, continued on the next page.",
    ]
