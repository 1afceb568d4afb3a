"""The pronunciation lexicon: whole words, case rules, longest match, one pass, and its two file formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.text.lexicon import (
    Lexicon,
    LexiconEntry,
    LexiconError,
    parse_lexicon_csv,
    parse_lexicon_json,
    read_lexicon,
)


def lexicon(*entries: tuple[str, str] | tuple[str, str, bool]) -> Lexicon:
    return Lexicon(tuple(LexiconEntry(*entry) for entry in entries))


def test_whole_words_only() -> None:
    lex = lexicon(("Ann", "Anne"), ("cat", "kitty"))
    assert lex.apply("Ann and Anna saw a cat, a cats' home and a concatenation. Ann.") == (
        "Anne and Anna saw a kitty, a cats' home and a concatenation. Anne."
    )
    assert lex.apply("Ann's cat-flap") == "Anne's kitty-flap"  # an apostrophe or hyphen ends a word


def test_terms_with_punctuation_at_their_edges_are_still_whole_words() -> None:
    lex = lexicon(("C++", "C plus plus"), (".NET", "dot net"), ("Dr.", "Doctor"))
    assert lex.apply("C++ and .NET, not ASP.NET; Dr. Who.") == "C plus plus and dot net, not ASP.NET; Doctor Who."


def test_exact_case_by_default_and_case_insensitive_on_request() -> None:
    lex = lexicon(("US", "U S"), ("nginx", "engine x", True))
    assert lex.apply("The US told us. NGINX, Nginx and nginx.") == "The U S told us. engine x, engine x and engine x."


def test_an_exact_entry_wins_over_a_case_insensitive_one() -> None:
    lex = lexicon(("Reading", "Redding"), ("reading", "reeding", True))
    assert lex.apply("Reading is in Berkshire; READING and reading are not.") == (
        "Redding is in Berkshire; reeding and reeding are not."
    )


def test_the_longest_term_wins_and_spoken_forms_are_not_replaced_again() -> None:
    lex = lexicon(("New York", "Noo Yawk"), ("York", "Yorrk"), ("Noo", "NOPE"))
    assert lex.apply("New  York and York.") == "Noo Yawk and Yorrk."
    assert lex.apply("New\nYork") == "Noo Yawk"


def test_an_empty_lexicon_changes_nothing() -> None:
    assert Lexicon().apply("Anything.") == "Anything."
    assert not Lexicon().touches("Anything.")
    assert lexicon(("Ann", "Anne")).touches("Hi Ann.") and not lexicon(("Ann", "Anne")).touches("Hi Anna.")


def test_typographic_terms_match_the_normalized_text() -> None:
    lex = parse_lexicon_json('{"O’Brien": "Oh Bryan", "Jean–Paul": "Zhan Paul"}')
    assert lex.apply("O'Brien met Jean - Paul.") == "Oh Bryan met Zhan Paul."


def test_json_and_csv_say_the_same(tmp_path: Path) -> None:
    (tmp_path / "lex.json").write_text(
        '{"Hermione": "Her-my-oh-nee", "nginx": {"spoken": "engine x", "ignore_case": true}}', encoding="utf-8"
    )
    (tmp_path / "lex.csv").write_text(
        "term,spoken,ignore_case\nHermione,Her-my-oh-nee,\nnginx,engine x,yes\n,,\n", encoding="utf-8"
    )
    assert read_lexicon(tmp_path / "lex.json") == read_lexicon(tmp_path / "lex.csv")
    assert read_lexicon(tmp_path / "lex.csv").apply("Hermione runs NGINX.") == "Her-my-oh-nee runs engine x."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('["a"]', "must be a JSON object"),
        ("{oops", "not valid JSON"),
        ('{"": "x"}', "an empty term"),
        ('{"Ann": ""}', "has no spoken form"),
        ('{"Ann": {"spoken": "x", "ignore_case": "maybe"}}', "ignore_case must be true or false"),
        ('{"Ann": {"spoken": "x", "stress": 1}}', "unknown fields"),
        ('{"Ann": "x", "Ann ": "y"}', "listed twice"),
    ],
)
def test_bad_json_lexicons(text: str, reason: str) -> None:
    with pytest.raises(LexiconError, match=reason):
        parse_lexicon_json(text)


def test_bad_csv_lexicons_and_files(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="needs the columns term and spoken"):
        parse_lexicon_csv("word,say\nAnn,Anne\n")
    with pytest.raises(LexiconError, match="row 3: term 'Bob' has no spoken form"):
        parse_lexicon_csv("term,spoken\nAnn,Anne\nBob,\n")
    with pytest.raises(LexiconError, match=r"must be a \.json or \.csv file"):
        read_lexicon(tmp_path / "lex.yaml")
    with pytest.raises(LexiconError, match="does not exist"):
        read_lexicon(tmp_path / "missing.csv")


def test_a_books_entries_override_the_manifests() -> None:
    manifest = lexicon(("Ann", "Anne"), ("Bob", "Robert"), ("nginx", "engine x", True))
    book = lexicon(("Ann", "Annie"), ("NGINX", "N G I N X", True))
    merged = manifest.merged(book)
    assert merged.apply("Ann, Bob, nginx.") == "Annie, Robert, N G I N X."
    assert manifest.merged(None) is manifest
