"""The markup columns and options: read once, merged with the run's options, and every problem a row error."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.manifest.markup import BookMarkup, MarkupDefaults
from voxbatch.manifest.tts import BookDefaults, load_tts_manifest
from voxbatch.text.cast import CastVoice
from voxbatch.text.pauses import PauseOptions


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "cast.json").write_text('{"Alice": "af_bella", "Hatter": {"voice": "am_adam"}}', encoding="utf-8")
    (tmp_path / "other-cast.csv").write_text("speaker,voice\nQueen,bf_emma\n", encoding="utf-8")
    (tmp_path / "lexicon.csv").write_text("term,spoken\nHatter,Hat-ter\nAlice,Al-ees\n", encoding="utf-8")
    (tmp_path / "book-lexicon.json").write_text('{"Alice": "Aleece"}', encoding="utf-8")
    (tmp_path / "bad.json").write_text("{broken", encoding="utf-8")
    return tmp_path


def load(folder: Path, lines: list[str], markup: MarkupDefaults = MarkupDefaults()) -> tuple[dict, dict]:
    (folder / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows, errors = load_tts_manifest(folder / "m.csv", BookDefaults(markup=markup))
    return {r.id: r.markup for r in rows}, {(e.row, e.column): e.reason for e in errors}


def test_a_row_without_markup_has_none(folder: Path) -> None:
    books, errors = load(folder, ["id,text", "plain,Hello [sic] there."])
    assert errors == {} and books["plain"] == BookMarkup()


def test_columns_are_read_and_files_loaded(folder: Path) -> None:
    books, errors = load(
        folder,
        [
            "id,text,dialogue_voice,cast_path,lexicon_path,pause_sentence_s,pause_paragraph_s,pause_chapter_s",
            'book,"[Alice] ""Hi,"" said Alice. [pause: 1s]",am_adam,cast.json,lexicon.csv,0.5,1,3.5',
        ],
    )
    assert errors == {}
    markup = books["book"]
    assert markup.dialogue_voice == "am_adam"
    assert markup.cast is not None and markup.cast.voice_for("hatter") == CastVoice("am_adam")
    assert markup.lexicon is not None and markup.lexicon.apply("Alice and Hatter") == "Al-ees and Hat-ter"
    assert markup.pauses == PauseOptions(sentence_s=0.5, paragraph_s=1.0, chapter_s=3.5)


def test_options_are_the_defaults_a_rows_cast_replaces_them_and_its_lexicon_adds_to_them(folder: Path) -> None:
    options = MarkupDefaults(
        dialogue_voice="am_adam",
        cast_path=str(folder / "cast.json"),
        lexicon_path=str(folder / "lexicon.csv"),
        pause_paragraph_s=1.5,
    )
    books, errors = load(
        folder,
        [
            "id,text,dialogue_voice,cast_path,lexicon_path,pause_paragraph_s",
            "plain,Hello.,,,,",
            "own,[Queen] Off with his head!,bf_emma,other-cast.csv,book-lexicon.json,0",
        ],
        options,
    )
    assert errors == {}
    plain, own = books["plain"], books["own"]
    assert plain.dialogue_voice == "am_adam" and own.dialogue_voice == "bf_emma"
    assert plain.cast is not None and plain.cast.voice_for("Alice") == CastVoice("af_bella")
    assert own.cast is not None and own.cast.voice_for("Alice") is None and own.cast.voice_for("Queen")
    assert plain.lexicon is not None and plain.lexicon.apply("Alice, Hatter") == "Al-ees, Hat-ter"
    assert own.lexicon is not None and own.lexicon.apply("Alice, Hatter") == "Aleece, Hat-ter"
    assert plain.pauses.paragraph_s == 1.5 and own.pauses.paragraph_s == 0.0


def test_every_problem_is_a_row_error_naming_its_column(folder: Path) -> None:
    books, errors = load(
        folder,
        [
            "id,text,cast_path,lexicon_path,pause_sentence_s,pause_chapter_s",
            "a,Hello.,missing.json,,,",
            "b,Hello.,bad.json,,,",
            "c,Hello.,,../elsewhere.csv,,",
            "d,Hello.,,https://x.y/lex.csv,,",
            "e,Hello.,,,soon,-1",
            "f,Hello.,,,,99",
            "g,Hello [pause: forever].,,,,",
            'h,"Fine.\n\n[Bob] Hello.",cast.json,,,',
            "i,Hello.,cast.txt,,,",
        ],
    )
    assert books == {}
    assert "missing.json does not exist" in errors[2, "cast_path"]
    assert "bad.json: is not valid JSON" in errors[3, "cast_path"]
    assert "is outside the manifest's folder" in errors[4, "lexicon_path"]
    assert "not a URL" in errors[5, "lexicon_path"]
    assert "must be a number of seconds; got 'soon'" in errors[6, "pause_sentence_s"]
    assert "0 or more" in errors[6, "pause_chapter_s"]
    assert "at most 60 s" in errors[7, "pause_chapter_s"]
    assert "[pause: forever]" in errors[8, "text"] and "needs a duration" in errors[8, "text"]
    assert "[Bob]" in errors[9, "text"] and "not in the cast (the cast has: Alice, Hatter)" in errors[9, "text"]
    assert "must be a .json or .csv file" in errors[10, "cast_path"]


def test_a_bad_option_file_names_the_option(folder: Path) -> None:
    _, errors = load(folder, ["id,text", "a,Hello."], MarkupDefaults(lexicon_path=str(folder / "bad.json")))
    assert "bad.json: is not valid JSON" in errors[2, "--lexicon"]


def test_speaker_tags_are_checked_where_they_stand_after_normalization(folder: Path) -> None:
    """A tag at the start of a wrapped line is mid-paragraph once lines are joined: only a name in the cast is a
    tag there, so ordinary brackets in prose are no error."""
    (folder / "book.md").write_text(
        "# One\n\n[Alice] Hello there,\nsaid the [sic] text.\n\n[Hatter] Tea?\n", encoding="utf-8"
    )
    books, errors = load(folder, ["id,text_path,cast_path", "md,book.md,cast.json"])
    assert errors == {} and books["md"].cast is not None


def test_a_manuscripts_tags_are_checked_in_the_text_as_it_will_be_read(folder: Path) -> None:
    """A manuscript's paragraphs are escaped when rendered (nothing in them reads as Markdown) and read back as
    written, so their tags are tags: checked like a plain text's, after the file is read."""
    (folder / "good.html").write_text(
        "<html><body><h1>One</h1><p>[Alice] Hello. [pause: 2s] Goodbye.</p>"
        "<h1>Two</h1><p>[Hatter] Tea? Said the [sic] text.</p></body></html>",
        encoding="utf-8",
    )
    (folder / "bad.html").write_text(
        "<html><body><h1>One</h1><p>Fine.</p><h1>Two</h1><p>[Bob] Hello.</p></body></html>", encoding="utf-8"
    )
    books, errors = load(
        folder, ["id,text_path,cast_path", "good,good.html,cast.json", "bad,bad.html,cast.json", "tagless,bad.html,"]
    )
    assert set(books) == {"good", "tagless"} and books["good"].cast is not None
    assert "[Bob]" in errors[3, "text"] and "not in the cast (the cast has: Alice, Hatter)" in errors[3, "text"]
