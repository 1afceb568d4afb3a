"""Planning a book with markup: one voice per chunk job, keys that change only where the spoken text changes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from voxbatch.cache import chunk_key
from voxbatch.manifest.markup import BookMarkup
from voxbatch.manifest.tts import BookRow
from voxbatch.manuscript.book import Manuscript, Section
from voxbatch.manuscript.render import render_manuscript
from voxbatch.pipelines.audiobook.plan import BOOK_ENCODING, BookPlan, plan_book
from voxbatch.text.cast import parse_cast_json
from voxbatch.text.chunking import chunk_budget
from voxbatch.text.lexicon import parse_lexicon_json

ALICE_PATH = Path(__file__).resolve().parents[3] / "data" / "carroll-alice.txt"
ENDPOINT = "http://127.0.0.1:1/v1"
KOKORO = "hexgrad/Kokoro-82M"
KOKORO_RATE_HZ = 24000  # the book's rate: its model's own
ORPHEUS = "canopylabs/orpheus-3b-0.1-ft"


@pytest.fixture(scope="module")
def alice() -> str:
    text = ALICE_PATH.read_text(encoding="utf-8")
    return text[: text.index("CHAPTER IV.")]  # three chapters: enough, and quick


def book(text: str, markup: BookMarkup = BookMarkup()) -> BookRow:
    return BookRow(
        row=2,
        id="alice",
        text=text,
        markdown=False,
        title="Alice",
        author=None,
        model=KOKORO,
        voice="af_heart",
        language=None,
        audio_format="mp3",
        cover_path=None,
        markup=markup,
    )


def keys(plan: BookPlan) -> list[str]:
    return [job.key for job in plan.jobs]


def test_without_markup_every_key_is_what_it_always_was(alice: str) -> None:
    """The key of a chunk of a book without markup is unchanged, so nothing already cached is paid for again."""
    plan = plan_book(book(alice), ENDPOINT)
    for job in plan.jobs:
        assert job.speech.voice == "af_heart" and job.chunk.voice == ""
        assert job.key == chunk_key(
            endpoint=ENDPOINT,
            model=KOKORO,
            voice="af_heart",
            language=None,
            sample_rate_hz=KOKORO_RATE_HZ,
            encoding=BOOK_ENCODING,
            text=job.chunk.spoken,
        )


def test_a_lexicon_edit_changes_only_the_keys_of_the_chunks_it_touches(alice: str) -> None:
    first = parse_lexicon_json('{"Dinah": "Dye-nah", "Rabbit": "Rab-bit"}')
    edited = parse_lexicon_json('{"Dinah": "Dee-nah", "Rabbit": "Rab-bit"}')  # one entry's spoken form changed
    before = plan_book(book(alice, BookMarkup(lexicon=first)), ENDPOINT)
    after = plan_book(book(alice, BookMarkup(lexicon=edited)), ENDPOINT)
    assert [j.chunk.caption for j in before.jobs] == [j.chunk.caption for j in after.jobs]  # the same cuts
    changed = [b.chunk.caption for b, a in zip(before.jobs, after.jobs, strict=True) if b.key != a.key]
    touched = [j.chunk.caption for j in before.jobs if "Dinah" in j.chunk.caption]
    assert changed == touched and 0 < len(changed) < len(before.jobs) // 10
    assert all("Dee-nah" in j.chunk.spoken for j in after.jobs if "Dinah" in j.chunk.caption)


def test_adding_a_lexicon_changes_only_the_chunks_with_its_terms(alice: str) -> None:
    plain = plan_book(book(alice), ENDPOINT)
    lexicon = parse_lexicon_json('{"Dinah": "Dye-nah"}')
    with_lexicon = plan_book(book(alice, BookMarkup(lexicon=lexicon)), ENDPOINT)
    changed = {j.key for j in with_lexicon.jobs} - {j.key for j in plain.jobs}
    assert changed == {j.key for j in with_lexicon.jobs if "Dinah" in j.chunk.caption}


def test_each_chunk_job_carries_its_own_voice(alice: str) -> None:
    plan = plan_book(book(alice, BookMarkup(dialogue_voice="am_adam")), ENDPOINT)
    voices = {job.speech.voice for job in plan.jobs}
    assert voices == {"af_heart", "am_adam"}
    for job in plan.jobs:
        assert job.speech.voice == ("am_adam" if job.chunk.voice else "af_heart")
        assert job.speech.model == KOKORO and job.speech.sample_rate_hz == KOKORO_RATE_HZ
    said = [j.chunk.spoken for j in plan.jobs if j.speech.voice == "am_adam"]
    assert "'Curiouser and curiouser!'" in said
    # The same text in another voice is another chunk: the voice is in the key.
    narrated = plan_book(book(alice), ENDPOINT)
    assert not {j.key for j in plan.jobs if j.speech.voice == "am_adam"} & set(keys(narrated))


def test_a_dialogue_voice_that_is_the_narrators_cuts_nothing(alice: str) -> None:
    same = plan_book(book(alice, BookMarkup(dialogue_voice="af_heart")), ENDPOINT)
    assert keys(same) == keys(plan_book(book(alice), ENDPOINT))


def test_a_cast_speaker_with_another_model_gets_it_and_the_tightest_budget() -> None:
    cast = parse_cast_json(f'{{"Alice": "af_bella", "Bard": {{"voice": "leo", "model": "{ORPHEUS}"}}}}')
    text = "[Alice] Hello there. [Bard] " + "A long song goes on and on. " * 40 + "\n\n[Narrator] The end."
    plan = plan_book(replace(book(text), model="cartesia/sonic-2", voice="friendly sidekick"), ENDPOINT)
    assert {j.speech.voice for j in plan.jobs} == {"friendly sidekick"}  # no cast: tags are text, one voice
    voiced = plan_book(
        replace(book(text, BookMarkup(cast=cast)), model="cartesia/sonic-2", voice="friendly sidekick"), ENDPOINT
    )
    speech = [(j.speech.model, j.speech.voice) for j in voiced.jobs]
    assert speech[0] == ("cartesia/sonic-2", "af_bella") and speech[-1] == ("cartesia/sonic-2", "friendly sidekick")
    assert (ORPHEUS, "leo") in speech
    budget = chunk_budget(ORPHEUS)
    assert budget < chunk_budget("cartesia/sonic-2")
    assert all(len(j.chunk.spoken) <= budget for j in voiced.jobs)
    assert sum(1 for model, _ in speech if model == ORPHEUS) >= 2  # the song is cut to Orpheus' budget


def test_a_manuscripts_tags_are_obeyed_though_its_paragraphs_are_escaped() -> None:
    """An EPUB's, DOCX's... chapters are rendered as escaped Markdown; the tags in them still voice and pause it."""
    chapters = (Section("One", ("[Alice] Hello there, said she. [pause: 2s] And then she left.",)),)
    rendered = render_manuscript(Manuscript("docx", sections=chapters), title="Tea")
    assert rendered.markdown and "\\[Alice\\]" in rendered.text
    row = replace(book(rendered.text, BookMarkup(cast=parse_cast_json('{"Alice": "af_bella"}'))), markdown=True)
    plan = plan_book(row, ENDPOINT)
    spoken = [(j.chunk.spoken, j.speech.voice, j.chunk.pause_s) for j in plan.jobs]
    assert spoken == [
        ("One", "af_heart", None),
        ("Hello there, said she.", "af_bella", 2.0),
        ("And then she left.", "af_bella", None),
    ]
