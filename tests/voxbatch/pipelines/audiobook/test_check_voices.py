"""The catalog check of a book with markup: every voice it is read in (the narrator's, the dialogue voice, each
speaker of its cast, with their models) against the provider's catalog, at the book's one sample rate."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from voxbatch.manifest.markup import BookMarkup
from voxbatch.manifest.tts import BookRow
from voxbatch.pipelines.audiobook.pipeline import AudiobookPipeline
from voxbatch.pipelines.audiobook.plan import plan_book
from voxbatch.run.catalog import Catalog, embedded_catalog, tts_entry
from voxbatch.text.cast import parse_cast_json

KOKORO = "hexgrad/Kokoro-82M"
CARTESIA = "cartesia/sonic-2"
ORPHEUS = "canopylabs/orpheus-3b-0.1-ft"
TEXT = '[Alice] "Have some wine," the March Hare said.\n\n[Hatter] Your hair wants cutting.\n\n"Who said that?"'
WHERE = "row 2 (id 'tea'), column"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return embedded_catalog()


def book(cast: str | None = None, dialogue_voice: str | None = None, **narrator: object) -> BookRow:
    markup = BookMarkup(dialogue_voice=dialogue_voice, cast=None if cast is None else parse_cast_json(cast))
    row = BookRow(
        row=2,
        id="tea",
        text=TEXT,
        markdown=False,
        title="Tea",
        author=None,
        model=KOKORO,
        voice="af_heart",
        language=None,
        audio_format="wav",
        cover_path=None,
        markup=markup,
    )
    return replace(row, **narrator)  # type: ignore[arg-type]


def check(row: BookRow, catalog: Catalog) -> list[str]:
    return AudiobookPipeline(Path("out")).check(row, catalog)


def test_voices_the_catalog_lists_pass(catalog: Catalog) -> None:
    cast = f'{{"Alice": "af_bella", "Hatter": {{"voice": "leo", "model": "{ORPHEUS}"}}}}'
    assert check(book(cast, dialogue_voice="am_adam"), catalog) == []
    assert check(book(), catalog) == []


def test_a_dialogue_voice_not_of_the_books_model_is_a_row_error(catalog: Catalog) -> None:
    (problem,) = check(book(dialogue_voice="newsman"), catalog)
    assert problem.startswith(
        f"{WHERE} 'dialogue_voice': the dialogue voice: 'newsman' is not a voice of {KOKORO}; choose one of: af_heart"
    )


def test_each_speaker_with_a_bad_voice_or_model_is_named(catalog: Catalog) -> None:
    cast = '{"Alice": "zz_nobody", "Hatter": "zz_nobody", "Hare": {"voice": "x", "model": "acme/nope"}}'
    problems = check(book(cast), catalog)
    assert len(problems) == 3
    bad_voice = f"'zz_nobody' is not a voice of {KOKORO}; choose one of: "
    assert problems[0].startswith(f"{WHERE} 'cast_path': speaker Alice: {bad_voice}")
    assert problems[1].startswith(f"{WHERE} 'cast_path': speaker Hatter: {bad_voice}")
    assert problems[2].startswith(
        f"{WHERE} 'cast_path': speaker Hare: 'acme/nope' is not a text-to-speech model the embedded local server serves"
    )


def test_a_speaker_whose_model_cannot_answer_at_the_books_rate_is_a_row_error(catalog: Catalog) -> None:
    """A Cartesia book is at 44.1 kHz; Kokoro answers at 24 kHz only, so its chunks could not be stitched in."""
    cast = f'{{"Alice": "reading lady", "Hatter": {{"voice": "bm_george", "model": "{KOKORO}"}}}}'
    cartesia = book(cast, model=CARTESIA, voice="newsman")
    (problem,) = check(cartesia, catalog)
    assert problem == (
        f"{WHERE} 'cast_path': speaker Hatter must read at the book's rate, but 44100 Hz is not a rate {KOKORO} "
        "answers at; choose one of: 24000"
    )
    # At a rate both models answer at, the book is fine, and every chunk, whoever reads it, is asked for at it.
    at_24k = replace(cartesia, sample_rate_hz=24000)
    assert check(at_24k, catalog) == []
    plan = plan_book(at_24k, "embedded")
    assert {(j.speech.model, j.speech.sample_rate_hz) for j in plan.jobs} == {(CARTESIA, 24000), (KOKORO, 24000)}


def test_a_model_already_refused_is_named_once(catalog: Catalog) -> None:
    problems = check(book('{"Alice": "af_bella"}', dialogue_voice="am_adam", model="acme/nope"), catalog)
    assert len(problems) == 1 and problems[0].startswith(f"{WHERE} 'model': 'acme/nope' is not a text-to-speech model")


def test_a_catalog_that_lists_no_speech_models_checks_none(catalog: Catalog) -> None:
    bare = Catalog("a server that lists nothing")
    assert check(book('{"Alice": "zz_nobody"}', dialogue_voice="newsman", model=CARTESIA, voice="x"), bare) == []


def test_a_row_without_a_voice_takes_its_models_default_from_the_catalog(catalog: Catalog) -> None:
    """voxbatch's own default (af_heart for a model it does not know) gives way to the catalog's, for a row that
    named no voice; a voice somebody named is never changed, only checked."""
    assert catalog.tts is not None
    served = Catalog("http://server", tts={**catalog.tts, "acme/new-tts": tts_entry("acme/new-tts", ["ivy", "oak"])})
    pipeline = AudiobookPipeline(Path("out"))
    unnamed = book(model="acme/new-tts", voice="af_heart", voice_is_default=True)
    fitted = pipeline.fit(unnamed, served)
    assert fitted.voice == "ivy" and check(fitted, served) == []
    named = replace(unnamed, voice_is_default=False)
    assert pipeline.fit(named, served) is named
    assert check(named, served) == [
        f"{WHERE} 'voice': 'af_heart' is not a voice of acme/new-tts; choose one of: ivy, oak"
    ]
    kokoro = book(voice_is_default=True)
    assert pipeline.fit(kokoro, served) is kokoro  # voxbatch's default is the catalog's own: nothing changes
    assert pipeline.fit(unnamed, Catalog("http://server")) is unnamed  # no voices listed: nothing to go by
