"""Normalization: paragraph layout, hyphenation, typography, emphasis, Markdown, and the real Alice manuscript."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from voxbatch.text.normalize import HeadingLine, normalize_document, normalize_text, parse_heading_line

ALICE_PATH = Path(__file__).resolve().parents[2] / "data" / "carroll-alice.txt"


@pytest.fixture(scope="module")
def alice_raw() -> str:
    return ALICE_PATH.read_text(encoding="utf-8")


def assert_layout(text: str) -> None:
    """The layout every normalized text has: one-line paragraphs separated by exactly one blank line."""
    assert text == text.strip()
    for paragraph in text.split("\n\n"):
        assert paragraph, "no empty paragraph (no triple newline)"
        assert "\n" not in paragraph
        assert paragraph == paragraph.strip()
        assert "  " not in paragraph
    assert all(ch in " \n" for ch in text if ch.isspace())


# --- paragraphs and hyphenation -----------------------------------------------------------------------------


def test_wrapped_lines_rejoin_into_paragraphs() -> None:
    raw = "Alice was beginning\nto get very tired.\n\n\n  So she was\n   considering.  \n"
    assert normalize_text(raw) == "Alice was beginning to get very tired.\n\nSo she was considering."


def test_blank_lines_with_spaces_and_crlf_separate_paragraphs() -> None:
    assert normalize_text("one\r\ntwo\r\n \t \r\nthree\rfour") == "one two\n\nthree four"


def test_line_end_hyphenation_is_rejoined() -> None:
    assert normalize_text("a white rab-\nbit ran") == "a white rabbit ran"


def test_hyphen_kept_for_a_compound_the_text_uses_elsewhere() -> None:
    raw = "a watch and a waistcoat-\npocket\n\nnever a waistcoat-pocket before"
    assert normalize_text(raw).split("\n\n")[0] == "a watch and a waistcoat-pocket"


def test_hyphen_kept_before_a_capitalised_continuation() -> None:
    assert normalize_text("the Anglo-\nSaxon king") == "the Anglo-Saxon king"


def test_hyphens_inside_a_line_are_never_touched() -> None:
    assert normalize_text("Down the Rabbit-Hole\nand a tea-party") == "Down the Rabbit-Hole and a tea-party"


def test_double_hyphen_at_line_end_is_a_dash_not_hyphenation() -> None:
    assert normalize_text("something like this:--\nFury said") == "something like this: - Fury said"


def test_soft_hyphen_at_line_end_rejoins_and_elsewhere_disappears() -> None:
    assert normalize_text("rab\u00ad\nbit in\u00advisible") == "rabbit invisible"


# --- typography ----------------------------------------------------------------------------------------------


def test_quotes_dashes_and_ellipsis_become_plain() -> None:
    raw = "“Hi,” she said—‘wait’… «non» – yes ― no"
    assert normalize_text(raw) == '"Hi," she said - \'wait\'... "non" - yes - no'


def test_en_dash_between_digits_is_a_range() -> None:
    assert normalize_text("in 1914–1918 and 3 – 4") == "in 1914-1918 and 3 - 4"


def test_ascii_double_dashes_become_a_spaced_dash() -> None:
    assert normalize_text("I think--' (for, you see--") == "I think - ' (for, you see -"


def test_a_dialogue_dash_opening_a_paragraph_is_not_spoken() -> None:
    assert normalize_text("— Bonjour, dit-il.") == "Bonjour, dit-il."


def test_odd_whitespace_and_invisible_characters() -> None:
    raw = "a\u00a0b\tc\u2009d\u3000e\u202ff  g\u200bh\ufeffi\x07j\u2028k"
    assert normalize_text(raw) == "a b c d e f ghij k"


def test_spaced_dots_become_an_ellipsis() -> None:
    assert normalize_text("wait . . . and see") == "wait ... and see"


# --- emphasis and separators ---------------------------------------------------------------------------------


def test_emphasis_markers_are_removed_but_not_the_words() -> None:
    raw = "_I_ shan't! *very* **bold** ***both*** __under__ '_Very_' well."
    assert normalize_text(raw) == "I shan't! very bold both under 'Very' well."


def test_underscores_and_stars_inside_words_or_maths_stay() -> None:
    assert normalize_text("snake_case and 2*3 and 5 * 4") == "snake_case and 2*3 and 5 * 4"


def test_separator_lines_become_paragraph_breaks() -> None:
    raw = "before\n\n  *    *    *    *\n    *    *    *\nafter\n-----\nend"
    assert normalize_text(raw) == "before\n\nafter\n\nend"


def test_a_separator_split_over_lines_is_still_a_separator() -> None:
    assert normalize_text("before\n\n* *\n*\n\nafter") == "before\n\nafter"


def test_gutenberg_boilerplate_is_cut() -> None:
    raw = (
        "The Project Gutenberg eBook of X\nLicence blah\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\nThe story.\n\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK X ***\nMore licence"
    )
    assert normalize_text(raw) == "The story."


# --- heading lines ---------------------------------------------------------------------------------------------


def test_a_heading_line_stays_its_own_paragraph_without_blank_lines() -> None:
    raw = "end of one.\nCHAPTER II\nIt was night and the\nrain fell."
    assert normalize_text(raw) == "end of one.\n\nCHAPTER II\n\nIt was night and the rain fell."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("CHAPTER I.", HeadingLine("Chapter I", "")),
        ("CHAPTER I. Down the Rabbit-Hole", HeadingLine("Chapter I", "Down the Rabbit-Hole")),
        ("Chapter 3: The Fall", HeadingLine("Chapter 3", "The Fall")),
        ("Chapter 3 - The Fall.", HeadingLine("Chapter 3", "The Fall")),
        ("chapter xii", HeadingLine("Chapter XII", "")),
        ("Chapter One", HeadingLine("Chapter One", "")),
        ("CHAPTER TWENTY-ONE", HeadingLine("Chapter Twenty-One", "")),
        ("Prologue", HeadingLine("Prologue", "")),
        ("Prologue?", None),
        ("CHAPTER I. --", HeadingLine("Chapter I", "")),
        ("EPILOGUE: Years Later", HeadingLine("Epilogue", "Years Later")),
        ("Chapter 3 was the best part of the book", None),
        ("Chapter 3rd", None),
        ("Chapter I. Down CHAPTER II. Up", None),
        ("IV.", None),
        ("The chapter", None),
    ],
)
def test_parse_heading_line(line: str, expected: HeadingLine | None) -> None:
    assert parse_heading_line(line) == expected


# --- Markdown ------------------------------------------------------------------------------------------------


def test_markdown_headings_become_plain_paragraphs_with_levels() -> None:
    raw = "# The Book #\nIntro text\n\n## One\nBody of one.\n\nSetext Two\n----------\n\nBody of two."
    document = normalize_document(raw, markdown=True)
    assert document.text == "The Book\n\nIntro text\n\nOne\n\nBody of one.\n\nSetext Two\n\nBody of two."
    assert [(h.level, h.title) for h in document.markdown_headings] == [(1, "The Book"), (2, "One"), (2, "Setext Two")]
    for heading in document.markdown_headings:
        assert document.text[heading.start : heading.end] == heading.title


def test_markdown_inline_syntax_is_stripped_to_its_text() -> None:
    raw = (
        "Some *intro* and **bold** with [a link](http://x.com/a_(b)) and ![a cat](cat.png) "
        "and `code` and ~~old~~ and <b>tags</b> and <https://example.com> and \\*stars\\*."
    )
    expected = "Some intro and bold with a link and and code and old and tags and https://example.com and *stars*."
    assert normalize_text(raw, markdown=True) == expected


def test_markdown_blocks_lists_quotes_comments_and_front_matter() -> None:
    raw = (
        "---\ntitle: Secret\n---\n"
        "Intro\n<!-- an editor's\nnote -->\n\n"
        "- apples\n- pears\n  and more pears\n1. first\n2) second\n\n"
        "> quoted\n> text\n\n"
        "[ref]: http://example.com\n\n"
        "| a | b |\n|---|:-:|\n\n"
        "```python\nprint(x)\n```\n"
        "***\n"
        "end"
    )
    expected = "\n\n".join(
        [
            "Intro",
            "apples",
            "pears and more pears",
            "1. first",
            "2) second",
            "quoted text",
            "| a | b |",
            "print(x)",
            "end",
        ]
    )
    assert normalize_text(raw, markdown=True) == expected


def test_markdown_prose_that_looks_like_a_list_item_stays_prose() -> None:
    raw = "It was the year\n1999. It was cold\n— and dark.\n\nItems:\n1. one\n2. two"
    assert (
        normalize_text(raw, markdown=True)
        == "It was the year 1999. It was cold - and dark.\n\nItems:\n\n1. one\n\n2. two"
    )


def test_markdown_flag_off_leaves_hashes_alone() -> None:
    assert normalize_text("# not a heading") == "# not a heading"


# --- the real manuscript -----------------------------------------------------------------------------------------


def test_alice_normalizes_to_a_clean_fixed_point(alice_raw: str) -> None:
    text = normalize_text(alice_raw)
    assert_layout(text)
    assert normalize_text(text) == text
    assert text.isascii()
    assert "CHAPTER XII\n\nAlice's Evidence\n\n'Here!' cried Alice" in text
    assert text.startswith(
        "[Alice's Adventures in Wonderland by Lewis Carroll 1865]\n\nCHAPTER I. Down the Rabbit-Hole"
    )
    assert "I shan't be able!" in text  # Gutenberg's "_I_" italics lost their markers
    assert not re.search(r"(?<!\w)_|_(?!\w)|\*", text)
    # Nothing spoken is lost: the words are the same, only markers and separators went away.
    words = re.findall(r"[A-Za-z]+", alice_raw)
    assert re.findall(r"[A-Za-z]+", text) == words
