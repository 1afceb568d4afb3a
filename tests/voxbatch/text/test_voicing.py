"""Voicing and the chunks it makes: who reads each part, tags never spoken, pauses placed, one voice per chunk."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from voxbatch.text.cast import parse_cast_json
from voxbatch.text.chunking import chunk_text
from voxbatch.text.lexicon import Lexicon, LexiconEntry
from voxbatch.text.markup import TAG_RE, MarkupError
from voxbatch.text.normalize import normalize_text
from voxbatch.text.voicing import NARRATOR_VOICE, Segment, Voicing, read_script

ALICE_PATH = Path(__file__).resolve().parents[2] / "data" / "carroll-alice.txt"
CAST = parse_cast_json('{"Alice": "af_bella", "Hatter": "am_adam", "Narrator": "bf_emma"}')
CAST_VOICING = Voicing(dialogue="D", cast=CAST, speakers={"alice": "A", "hatter": "H"})
SPACES_RE = re.compile(r"\s+")


def voices(text: str, voicing: Voicing) -> list[tuple[str, str]]:
    return [(s.voice, text[s.start : s.end].strip()) for s in read_script(text, voicing).segments]


def test_without_markup_the_text_is_one_narrators_segment() -> None:
    text = 'She said "hello" and left.\n\nThen [sic] nothing.'
    assert read_script(text).segments == (Segment(0, len(text), NARRATOR_VOICE),)
    assert read_script("").segments == ()


def test_a_dialogue_voice_reads_the_quotes_and_the_narrator_the_rest() -> None:
    text = '"Hello," she said, "how are you?" He smiled.\n\n"Fine.'
    assert voices(text, Voicing(dialogue="D")) == [
        ("D", '"Hello,"'),
        ("", "she said,"),
        ("D", '"how are you?"'),
        ("", "He smiled."),
        ("D", '"Fine.'),
    ]


def test_a_tag_before_a_quote_gives_the_speaker_the_quotes_of_its_stretch() -> None:
    text = '[Alice] "Hello," she said, "how are you?" He smiled. [Hatter] "Fine."\n\n"And you?" he asked.'
    assert voices(text, CAST_VOICING) == [
        ("A", '"Hello,"'),
        ("", "she said,"),
        ("A", '"how are you?"'),
        ("", "He smiled."),
        ("H", '"Fine."'),
        ("D", '"And you?"'),  # untagged: the dialogue voice
        ("", "he asked."),
    ]


def test_a_tag_before_words_gives_the_speaker_the_rest_of_the_paragraph() -> None:
    text = "[Alice] I am late. [Hatter] No, you are not.\n\nThe narrator again.\n\n[Alice]\n\nOn its own line."
    assert voices(text, CAST_VOICING) == [
        ("A", "I am late."),
        ("H", "No, you are not."),
        ("", "The narrator again."),
        ("A", "On its own line."),  # a tag alone in its paragraph: the next paragraph
    ]


def test_a_tagged_speech_over_two_paragraphs_stays_with_its_speaker() -> None:
    text = '[Hatter] "It was the best butter.\n\n"The best butter," he said.'
    assert voices(text, CAST_VOICING) == [("H", '"It was the best butter.\n\n"The best butter,"'), ("", "he said.")]


def test_the_narrator_tag_and_a_cast_narrator() -> None:
    text = "[Alice] Me. [Narrator] Them."
    assert voices(text, CAST_VOICING) == [("A", "Me."), ("", "Them.")]
    with_narrator = Voicing(cast=CAST, speakers={"alice": "A", "narrator": "N"})
    assert voices(text, with_narrator) == [("A", "Me."), ("N", "Them.")]


def test_an_unknown_speaker_is_an_error_and_tags_are_text_without_a_cast() -> None:
    with pytest.raises(MarkupError, match=r"\[Bob\]"):
        read_script("[Bob] Hello.", CAST_VOICING)
    assert voices("[Bob] Hello.", Voicing()) == [("", "[Bob] Hello.")]


def test_pause_tags_are_cut_out_even_without_voices() -> None:
    text = "One. [pause: 1s] Two.\n\n[pause: 2s]\n\nThree."
    script = read_script(text)
    assert [text[s.start : s.end].strip() for s in script.segments] == ["One.", "Two.", "Three."]
    assert [p.seconds for p in script.pauses] == [1.0, 2.0]


def squeeze(text: str) -> str:
    return SPACES_RE.sub("", text)


BOOK = """CHAPTER I. "The Tea Party"

[pause: 0.5s] There was a table set out under a tree. "No room!" they cried. [pause: 1.5s] "There's plenty of room!"
said Alice indignantly. [Hatter] "Your hair wants cutting," said the Hatter. [pause: 1s][pause: 0.25s]

[Alice] "You should learn not to make personal remarks," Alice said with some severity.

CHAPTER II. The End

[Alice] It's the stupidest tea-party I ever was at in all my life! [Narrator] And she walked off. Just as she
said this, she noticed that one of the trees had a door leading right into it. That's very curious, she thought.
But everything's curious today. I think I may as well go in at once. And in she went.
"""


def test_chunks_of_a_voiced_book() -> None:
    result = chunk_text(BOOK, max_chars=500, voicing=CAST_VOICING)
    chunks = result.chunks
    spoken = [(c.voice, c.spoken) for c in chunks]
    assert spoken[0] == ("", 'CHAPTER I. "The Tea Party"')  # a heading is the narrator's, quotes and all
    assert ("D", '"No room!"') in spoken and ("H", '"Your hair wants cutting,"') in spoken
    assert ("A", "It's the stupidest tea-party I ever was at in all my life!") in spoken
    assert spoken[-1][0] == "" and spoken[-1][1].startswith("And she walked off.")
    assert [c.chapter_index for c in chunks if c.is_heading] == [0, 1]
    # Tags are never spoken, and everything else is, once, in order.
    assert not any(TAG_RE.search(c.spoken) for c in chunks)
    assert squeeze("".join(c.spoken for c in chunks)) == squeeze(TAG_RE.sub("", result.text))
    # Pauses: before the first words of chapter 1's body, after "they cried.", and two tags adding up.
    paused = {c.spoken: c.pause_s for c in chunks if c.pause_s is not None}
    assert paused == {'CHAPTER I. "The Tea Party"': 0.5, "they cried.": 1.5, "said the Hatter.": 1.25}
    assert result.pause_before_s is None
    # Breaks: a voice change inside a paragraph is a sentence pause, at a paragraph end a paragraph pause.
    kinds = {c.spoken: c.pause_after for c in chunks}
    assert kinds['"No room!"'] == "sentence" and kinds["said the Hatter."] == "paragraph"
    assert kinds["Alice said with some severity."] == "chapter"


def test_a_pause_before_the_first_words_opens_the_book() -> None:
    result = chunk_text("[pause: 3s]\n\nOnce upon a time.", max_chars=100)
    assert result.pause_before_s == 3.0 and [c.spoken for c in result.chunks] == ["Once upon a time."]


def test_a_rewrite_changes_only_what_is_sent_and_keeps_the_words_for_captions() -> None:
    lexicon = Lexicon((LexiconEntry("Alice", "Al-ees"),))
    plain = chunk_text(BOOK, max_chars=500, voicing=CAST_VOICING)
    rewritten = chunk_text(BOOK, max_chars=500, voicing=CAST_VOICING, rewrite=lexicon.apply)
    assert [(c.start, c.end) for c in plain.chunks] == [(c.start, c.end) for c in rewritten.chunks]
    for before, after in zip(plain.chunks, rewritten.chunks, strict=True):
        assert after.spoken == lexicon.apply(before.spoken)
        assert after.caption == before.spoken
        assert (after.written is None) == ("Alice" not in before.spoken)


def test_a_chunk_a_rewrite_stretches_beyond_the_budget_is_cut_again_between_sentences() -> None:
    text = " ".join(f"Sentence {n} names NASA." for n in range(12))
    lexicon = Lexicon((LexiconEntry("NASA", "the National Aeronautics and Space Administration"),))
    result = chunk_text(text, max_chars=300, rewrite=lexicon.apply)
    assert all(len(c.spoken) <= 300 for c in result.chunks)
    assert squeeze(" ".join(c.caption for c in result.chunks)) == squeeze(text)
    assert len(result.chunks) > len(chunk_text(text, max_chars=300).chunks)


def test_alice_is_chunked_exactly_as_before_without_markup() -> None:
    raw = ALICE_PATH.read_text(encoding="utf-8")
    plain = chunk_text(raw, max_chars=500)
    voiced = chunk_text(raw, max_chars=500, voicing=Voicing())
    assert plain == voiced
    assert all(c.voice == NARRATOR_VOICE and c.pause_s is None and c.written is None for c in plain.chunks)


def test_alice_with_a_dialogue_voice_tiles_the_book_one_voice_per_chunk() -> None:
    """Alice quotes speech with single marks (and is full of apostrophes): the speech is found, the rest is not."""
    raw = ALICE_PATH.read_text(encoding="utf-8")
    result = chunk_text(raw, max_chars=500, voicing=Voicing(dialogue="D"))
    chunks = result.chunks
    assert squeeze("".join(c.spoken for c in chunks)) == squeeze(result.text)
    assert all(len(c.spoken) <= 500 for c in chunks)
    spoken = [(c.voice, c.spoken) for c in chunks]
    for line in ("'Curiouser and curiouser!'", "'Oh dear! Oh dear! I shall be late!'", "'EAT ME'"):
        assert ("D", line) in spoken
    assert ("", "said Alice to herself,") in spoken and ("", "thought poor Alice,") in spoken
    dialogue = [s for v, s in spoken if v == "D"]
    opened = sum(s.startswith(("'", '"')) for s in dialogue)
    assert len(dialogue) > 1000 and opened >= len(dialogue) - 5  # the rest continue a speech longer than a chunk
    narration = [s for v, s in spoken if v == ""]
    assert not any(s.startswith("'") and s.endswith("'") for s in narration if len(s) < 80)


@pytest.mark.parametrize("seed", range(20))
def test_random_tags_are_never_spoken_and_nothing_else_is_lost(seed: int) -> None:
    rng = random.Random(seed)
    words = "the cat sat on a mat and said hello to Alice who replied".split()
    parts = []
    for _ in range(rng.randint(1, 60)):
        roll = rng.random()
        if roll < 0.1:
            parts.append(rng.choice(["[Alice]", "[Hatter]", "[Narrator]", f"[pause: {rng.randint(0, 30) / 10}s]"]))
        elif roll < 0.2:
            parts.append(rng.choice(['"', "'", "\n\n", "“", "”", "«", "»"]))
        else:
            parts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 9))) + rng.choice([".", ",", ""]))
    raw = " ".join(parts)
    result = chunk_text(raw, max_chars=rng.choice([20, 80, 500]), min_chars=rng.choice([0, 40]), voicing=CAST_VOICING)
    assert result.text == normalize_text(raw)
    assert squeeze("".join(c.spoken for c in result.chunks)) == squeeze(TAG_RE.sub("", result.text))
    assert [c.start for c in result.chunks[1:]] == [c.end for c in result.chunks[:-1]]
    tags = sum(s for s in (p.seconds for p in read_script(result.text, CAST_VOICING).pauses))
    placed = sum(c.pause_s or 0 for c in result.chunks) + (result.pause_before_s or 0)
    assert placed == pytest.approx(tags)
