"""Dialogue: quotes of every common style, nesting, speeches over several paragraphs, and apostrophes that are not
quotes, both on typographic text and on the plain marks normalization leaves."""

from __future__ import annotations

import pytest

from voxbatch.text.dialogue import quote_spans, single_quotes_are_dialogue
from voxbatch.text.normalize import normalize_text


def quoted(text: str, *, normalize: bool = False) -> list[str]:
    if normalize:
        text = normalize_text(text)
    return [text[q.start : q.end] for q in quote_spans(text)]


STYLES = [
    ("“Hello,” she said. “Come in.”", ["“Hello,”", "“Come in.”"]),
    ('"Hello," she said. "Come in."', ['"Hello,"', '"Come in."']),
    ("‘Hello,’ she said. ‘Come in.’", ["‘Hello,’", "‘Come in.’"]),
    ("'Hello,' she said. 'Come in.'", ["'Hello,'", "'Come in.'"]),
    ("«Bonjour», dit-il. «Entrez.»", ["«Bonjour»", "«Entrez.»"]),
    ("« Bonjour », dit-il.", ["« Bonjour »"]),  # French spacing
    ("„Hallo“, sagte er. „Komm herein.“", ["„Hallo“", "„Komm herein.“"]),
    ("»Hallo«, sagte er.", ["»Hallo«"]),
    ("「こんにちは」と彼は言った。「どうぞ」", ["「こんにちは」", "「どうぞ」"]),
    ("『こんにちは』と彼は言った。", ["『こんにちは』"]),
]


@pytest.mark.parametrize(("text", "expected"), STYLES)
def test_every_common_quote_style(text: str, expected: list[str]) -> None:
    assert quoted(text) == expected


@pytest.mark.parametrize(("text", "expected"), STYLES)
def test_every_style_after_normalization(text: str, expected: list[str]) -> None:
    """Normalization turns typographic quotes into plain ones; the quotes are still found, words for words."""
    assert quoted(text, normalize=True) == [normalize_text(q) for q in expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“He said ‘no’ twice,” she said.", ["“He said ‘no’ twice,”"]),
        ("‘He said “no” twice,’ she said. ‘Right.’", ["‘He said “no” twice,’", "‘Right.’"]),
        ("«Il a dit “non” deux fois», dit-elle.", ["«Il a dit “non” deux fois»"]),
        ('"Il a dit "non" deux fois", dit-elle.', ['"Il a dit "non" deux fois"']),  # French, normalized
        ("„Er sagte ‚nein‘ zweimal“, sagte sie.", ["„Er sagte ‚nein‘ zweimal“"]),
        ("「彼は『いいえ』と言った」と彼女は言った。", ["「彼は『いいえ』と言った」"]),
        ("「外「内」外」です", ["「外「内」外」"]),
    ],
)
def test_nested_quotes_belong_to_the_outer_quote(text: str, expected: list[str]) -> None:
    assert quoted(text) == expected


def test_a_speech_over_several_paragraphs_continues_where_the_next_paragraph_opens_a_quote() -> None:
    text = (
        '"It began in the spring, when the river rose.\n\n'
        '"Then the summer came, and it went down again," he said.\n\n'
        "Nobody answered."
    )
    (speech,) = quote_spans(text)
    assert text[speech.start : speech.end] == text[: text.index(" he said")]


def test_a_quote_left_open_ends_with_its_paragraph_when_the_next_one_does_not_open_a_quote() -> None:
    text = '"It began in the spring.\n\nNobody answered. "Well?" she asked.'
    assert quoted(text) == ['"It began in the spring.', '"Well?"']


def test_single_quoted_speech_over_several_paragraphs() -> None:
    text = "'It began in the spring.\n\n'Then it ended,' he said.\n\nShe nodded."
    assert quoted(text) == ["'It began in the spring.\n\n'Then it ended,'"]


@pytest.mark.parametrize(
    "text",
    [
        "It's the dogs' dinner, and 'tis rock 'n' roll in the '90s.",
        "They'd gone 'round the back 'cause of the rain, hadn't they?",
        "The Joneses' house and the boys' bikes were o'er the hill.",
    ],
)
def test_apostrophes_are_not_quotes(text: str) -> None:
    assert quote_spans(text, singles=True) == []
    assert quoted(text) == []


def test_a_possessive_inside_single_quotes_does_not_end_the_speech() -> None:
    assert quoted("'I fed the dogs' dinner,' she said. 'Good.'") == ["'I fed the dogs' dinner,'", "'Good.'"]
    assert quoted("'Look at the dogs' she said. 'Good.'") == ["'Look at the dogs'", "'Good.'"]


def test_apostrophes_inside_double_quotes_stay_inside() -> None:
    assert quoted('"Don\'t go," he said. "It\'s late."') == ['"Don\'t go,"', '"It\'s late."']


def test_an_unclosed_single_mark_inside_a_paragraph_was_an_apostrophe() -> None:
    """A word-initial apostrophe unknown to the elision list opens nothing when nothing closes it; the double
    quotes after it are still found."""
    text = 'Then \'Arry said "hello" to me.'
    assert quoted(text) == ['"hello"']
    assert quote_spans(text, singles=True)[0].start == text.index('"')


def test_single_quotes_count_only_in_a_text_that_speaks_with_them() -> None:
    british = "'Hello,' she said. 'Don't go.'\n\n'Why not?' he asked."
    american = "\"Hello,\" she said. \"Don't say 'never' again.\"\n\nHe called it the 'Pit'."
    assert single_quotes_are_dialogue(british)
    assert not single_quotes_are_dialogue(american)
    assert quoted(american) == ['"Hello,"', "\"Don't say 'never' again.\""]  # the scare quote is narration


def test_inch_marks_and_stray_marks_open_nothing() -> None:
    assert quoted('He was 6\'2" tall and said "hi".') == ['"hi"']


def test_no_quotes_no_spans() -> None:
    assert quote_spans("") == []
    assert quote_spans("Plain narration. Nothing said.\n\nMore of it.") == []
