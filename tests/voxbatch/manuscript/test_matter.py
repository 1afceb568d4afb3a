"""Front and back matter: Project Gutenberg markers, telling titles, leading text, and body chapter numbers."""

from __future__ import annotations

import pytest

from voxbatch.manuscript.matter import (
    chapter_numbers,
    gutenberg_bounds,
    is_matter_title,
    is_title_page,
    leading_is_body,
)

PROSE = "It was a bright cold day in April, and the clocks were striking thirteen as she walked home."


@pytest.mark.parametrize(
    ("texts", "bounds"),
    [
        (
            [
                "a",
                "*** START OF THE PROJECT GUTENBERG EBOOK X ***",
                "b",
                "*** END OF THE PROJECT GUTENBERG EBOOK X ***",
            ],
            (2, 3),
        ),
        (
            ["header", "START OF THE PROJECT GUTENBERG EBOOK X", "b", "c", "END OF THE PROJECT GUTENBERG EBOOK X"],
            (2, 4),
        ),
        (["*** START OF THE PROJECT GUTENBERG EBOOK THE LIFE AND", "ADVENTURES ***", "b"], (2, 3)),
        (["*** START OF THIS PROJECT GUTENBERG EBOOK X ***", "b", "End of Project Gutenberg's X, by Y"], (1, 2)),
        (["a book", "that only mentions the Project Gutenberg EBOOK"], (0, 2)),
    ],
)
def test_gutenberg_bounds(texts: list[str], bounds: tuple[int, int]) -> None:
    assert gutenberg_bounds(texts) == bounds


@pytest.mark.parametrize(
    "title",
    [
        *("Contents", "Table of Contents", "CONTENTS.", "Copyright", "Index", "Title Page", "Cover", "Colophon"),
        *("THE FULL PROJECT GUTENBERG LICENSE", "List of Illustrations", "Also by Jane Doe"),
    ],
)
def test_titles_that_say_front_or_back_matter(title: str) -> None:
    assert is_matter_title(title)


def test_a_title_page_carries_the_books_title_or_most_of_it() -> None:
    assert is_title_page("Alice’s Adventures in Wonderland", "Alice's Adventures in Wonderland")
    assert is_title_page("Alice's Adventures in Wonderland", "Alice’s Adventures in Wonderland (an excerpt)")
    assert is_title_page("THE BOOK, by Al", "The Book")
    assert not is_title_page("The Storm", "The Storm Keeper's Daughter")  # a chapter named like the book's start
    assert not is_title_page("Chapter 1", "The Book") and not is_title_page("The Book", None)


@pytest.mark.parametrize("title", ["Chapter 1", "Preface", "The Index Card", "Contents of the Heart", "Prologue"])
def test_titles_of_body_chapters(title: str) -> None:
    assert not is_matter_title(title)


def test_leading_text_is_a_chapter_only_with_enough_prose() -> None:
    assert not leading_is_body(["THE BOOK", "by Jane Doe", "CHAPTER I - THE START", "To my mother."])
    assert leading_is_body([PROSE] * 8)


def test_body_chapters_are_numbered_in_reading_order() -> None:
    assert chapter_numbers(["Contents", "One", "Two", "Index"], ["front", "body", "body", "back"]) == [None, 1, 2, None]
    assert chapter_numbers(["Front matter", "Chapter I", "Chapter II"]) == [None, 1, 2]  # plain text, text rules
    assert chapter_numbers(["Just the book"]) == [1]
