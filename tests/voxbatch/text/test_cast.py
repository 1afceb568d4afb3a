"""The cast: its files (JSON and CSV), speaker tags found where a speaker is expected, and an unknown speaker is an
error that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.text.cast import (
    Cast,
    CastError,
    CastVoice,
    SpeakerTag,
    find_speaker_tags,
    parse_cast_csv,
    parse_cast_json,
    read_cast,
    speaker_key,
)
from voxbatch.text.markup import MarkupError

CAST_JSON = '{"Alice": "af_bella", "Mad Hatter": {"voice": "am_adam", "model": "hexgrad/Kokoro-82M"}}'


@pytest.fixture
def cast() -> Cast:
    return parse_cast_json(CAST_JSON)


def test_json_and_csv_casts_say_the_same(tmp_path: Path) -> None:
    (tmp_path / "cast.json").write_text(CAST_JSON, encoding="utf-8")
    (tmp_path / "cast.csv").write_text(
        "speaker,voice,model\nAlice,af_bella,\nMad Hatter,am_adam,hexgrad/Kokoro-82M\n\n", encoding="utf-8"
    )
    from_json, from_csv = read_cast(tmp_path / "cast.json"), read_cast(tmp_path / "cast.csv")
    assert from_json == from_csv
    assert from_json.voice_for("alice") == CastVoice("af_bella")
    assert from_json.voice_for("MAD   hatter") == CastVoice("am_adam", "hexgrad/Kokoro-82M")
    assert from_json.voice_for("Bob") is None
    assert from_json.listing() == "Alice, Mad Hatter"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[1, 2]", "must be a JSON object"),
        ("{not json", "not valid JSON"),
        ('{"Alice": ""}', "has no voice"),
        ('{"Alice": 3}', "needs a voice"),
        ('{"Alice": {"voice": "x", "speed": 2}}', "unknown fields ['speed']"),
        ('{"Alice": {"voice": "x", "model": ""}}', "empty model"),
        ('{"[Alice]": "x"}', "is not a speaker name"),
        ('{"Alice": "x", "ALICE": "y"}', "listed twice"),
        ("{}", "lists no speakers"),
    ],
)
def test_bad_json_casts(text: str, reason: str) -> None:
    with pytest.raises(CastError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_cast_json(text)


def test_bad_csv_casts() -> None:
    with pytest.raises(CastError, match="needs the columns speaker and voice"):
        parse_cast_csv("name,voice\nAlice,af_bella\n")
    with pytest.raises(CastError, match="row 3: speaker 'Bob' has no voice"):
        parse_cast_csv("speaker,voice\nAlice,af_bella\nBob,\n")


def test_cast_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(CastError, match=r"must be a \.json or \.csv file"):
        read_cast(tmp_path / "cast.txt")
    with pytest.raises(CastError, match="does not exist"):
        read_cast(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(CastError, match=r"bad\.json is not UTF-8"):
        read_cast(tmp_path / "bad.json")
    (tmp_path / "empty.json").write_text("[]")
    with pytest.raises(CastError, match=r"file empty\.json: must be a JSON object"):
        read_cast(tmp_path / "empty.json")


def test_speaker_keys_ignore_case_and_spacing() -> None:
    assert speaker_key("  Mad   HATTER ") == speaker_key("mad hatter") == "mad hatter"


def test_tags_of_cast_members_are_found_anywhere(cast: Cast) -> None:
    text = '[Alice] Hello. [mad hatter] "Tea?" And mid-sentence [ALICE] too.\n\n[Narrator] Back.'
    tags = find_speaker_tags(text, cast)
    assert [(text[t.start : t.end], t.key) for t in tags] == [
        ("[Alice]", "alice"),
        ("[mad hatter]", "mad hatter"),
        ("[ALICE]", "alice"),
        ("[Narrator]", "narrator"),
    ]
    assert tags[0] == SpeakerTag(0, 7, "alice")


@pytest.mark.parametrize(
    "text",
    [
        "[Bob] Hello.",  # the start of the text
        "Fine.\n\n[Bob] Hello.",  # the start of a paragraph
        "Alice waved. [Bob] Hello.",  # after a sentence
        'Alice waved and [Bob] "Hello," he said.',  # right before a quote
        '"Hi." [Bob] Hello.',  # after a closing quote
    ],
)
def test_an_unknown_speaker_where_a_tag_is_expected_is_an_error_naming_him(cast: Cast, text: str) -> None:
    with pytest.raises(MarkupError) as caught:
        find_speaker_tags(text, cast)
    message = str(caught.value)
    assert "[Bob]" in message and "not in the cast" in message and "Alice, Mad Hatter" in message


def test_brackets_inside_a_sentence_are_text(cast: Cast) -> None:
    text = "He wrote the word [sic] twice, see note [1] and [a, b], and [pause: 1s] is not a name."
    assert find_speaker_tags(text, cast, skip={text.index("[pause")}) == []
