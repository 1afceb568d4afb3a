"""Chunking: budgets, packing and splitting rules, and the coverage property on Alice and on random texts."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

from voxbatch.server.options import DEFAULT_MAX_INPUT_CHARS
from voxbatch.text.chapters import layout_chapters
from voxbatch.text.chunking import (
    DEFAULT_MAX_CHARS,
    MODEL_FAMILY_MAX_CHARS,
    SERVER_MAX_INPUT_CHARS,
    Chunk,
    ChunkedText,
    chunk_budget,
    chunk_text,
)
from voxbatch.text.normalize import normalize_document, normalize_text

ALICE_PATH = Path(__file__).resolve().parents[2] / "data" / "carroll-alice.txt"
WHITESPACE_RE = re.compile(r"\s+")


def squeeze(text: str) -> str:
    return WHITESPACE_RE.sub("", text)


def assert_chunked(result: ChunkedText, raw: str, *, max_chars: int, markdown: bool = False) -> None:
    """Every guarantee of chunk_text(raw): tiling, coverage, budget, chapter containment, headings, pauses."""
    text, chapters, chunks = result.text, result.chapters, result.chunks
    # Chapters tile the text.
    assert chapters[0].start == 0 and chapters[-1].end == len(text)
    for chapter_before, chapter_after in itertools.pairwise(chapters):
        assert chapter_before.end == chapter_after.start
    if not text.strip():
        assert chunks == ()
        return
    # Chunks tile the text, and their spoken parts hold every non-space character once, in order.
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for before, after in itertools.pairwise(chunks):
        assert before.end == after.start
    assert "".join(chunk.text for chunk in chunks) == text
    assert squeeze("".join(chunk.spoken for chunk in chunks)) == squeeze(text)
    for position, chunk in enumerate(chunks):
        assert chunk.index == position
        assert chunk.spoken, chunk
        assert chunk.spoken == text[chunk.start : chunk.end].strip()
        assert len(chunk.spoken) <= max_chars
        chapter = chapters[chunk.chapter_index]
        assert chapter.start <= chunk.start < chunk.end <= chapter.end, (chunk, chapter)
    assert [c.chapter_index for c in chunks] == sorted(c.chapter_index for c in chunks)
    # A chapter pause comes exactly at a chapter's end, after a heading and before one (after front matter).
    for before, after in itertools.pairwise(chunks):
        chapter_break = before.chapter_index != after.chapter_index or before.is_heading != after.is_heading
        assert (before.pause_after == "chapter") == chapter_break, (before, after)
    assert chunks[-1].pause_after == "chapter"
    # Every chapter with a heading has heading chunks, which are exactly its heading text.
    layouts = layout_chapters(normalize_document(raw, markdown=markdown))
    assert tuple(layout.chapter for layout in layouts) == chapters
    for layout in layouts:
        heading_chunks = [c for c in chunks if c.chapter_index == layout.chapter.index and c.is_heading]
        if layout.heading is None:
            assert heading_chunks == []
            continue
        assert heading_chunks, layout
        assert heading_chunks[-1].pause_after == "chapter"
        start, end = layout.heading
        assert squeeze("".join(c.spoken for c in heading_chunks)) == squeeze(text[start:end])


# --- budgets -------------------------------------------------------------------------------------------------


def test_budget_constants_respect_the_server_cap() -> None:
    assert SERVER_MAX_INPUT_CHARS == DEFAULT_MAX_INPUT_CHARS
    assert DEFAULT_MAX_CHARS <= SERVER_MAX_INPUT_CHARS
    assert all(0 < budget <= SERVER_MAX_INPUT_CHARS for budget in MODEL_FAMILY_MAX_CHARS.values())


@pytest.mark.parametrize(
    ("model", "low", "high"),
    [
        ("canopylabs/orpheus-3b-0.1-ft", 500, 800),
        ("hexgrad/Kokoro-82M", 500, 800),
        ("cartesia/sonic-2", 1500, 2000),
        ("cartesia/sonic-english", 1500, 2000),
        ("minimax/speech-2.8-turbo", 1500, 2000),
        ("rime-labs/rime-arcana-v3-turbo", 1500, 2000),
        ("deepgram/deepgram-aura-2", 1000, 2000),
    ],
)
def test_chunk_budget_by_model_family(model: str, low: int, high: int) -> None:
    assert low <= chunk_budget(model) <= high


def test_unknown_models_get_the_default_budget() -> None:
    assert chunk_budget("someone/new-voice") == DEFAULT_MAX_CHARS
    assert chunk_budget("") == DEFAULT_MAX_CHARS


# --- packing rules -------------------------------------------------------------------------------------------


def test_short_paragraphs_pack_together_and_end_at_a_paragraph() -> None:
    raw = "\n\n".join(f"Paragraph number {n} is short." for n in range(10))
    result = chunk_text(raw, max_chars=100)
    assert_chunked(result, raw, max_chars=100)
    for chunk in result.chunks:
        assert chunk.spoken.endswith("short.")
        assert chunk.pause_after in ("paragraph", "chapter")
    assert len(result.chunks) == 4  # three paragraphs (~94 chars) per chunk


def test_a_chunk_prefers_a_paragraph_end_over_filling_the_budget() -> None:
    sentence = "This sentence is exactly fifty characters long ok. "
    first = sentence * 6  # 300 characters
    second = sentence * 6
    result = chunk_text(f"{first}\n\n{second}", max_chars=400)
    assert [c.spoken for c in result.chunks] == [first.strip(), second.strip()]
    assert [c.pause_after for c in result.chunks] == ["paragraph", "chapter"]


def test_a_long_paragraph_splits_between_sentences_evenly() -> None:
    raw = " ".join(f"Sentence {n:02d} says nothing at all." for n in range(30))  # ~35 chars each
    result = chunk_text(raw, max_chars=400)
    assert_chunked(result, raw, max_chars=400)
    lengths = [len(c.spoken) for c in result.chunks]
    assert len(lengths) == 3 and max(lengths) - min(lengths) < 80
    assert all(c.spoken.endswith("at all.") for c in result.chunks)
    assert [c.pause_after for c in result.chunks] == ["sentence", "sentence", "chapter"]


def test_an_over_long_sentence_splits_at_clause_punctuation() -> None:
    raw = ", ".join(f"and then clause {n} went on" for n in range(20)) + "."
    result = chunk_text(raw, max_chars=120)
    assert_chunked(result, raw, max_chars=120)
    assert all(c.spoken.endswith((",", ".")) for c in result.chunks)
    assert result.chunks[-1].pause_after == "chapter"


def test_an_over_long_clause_splits_at_spaces_never_inside_words() -> None:
    words = [f"word{n}" for n in range(200)]
    raw = " ".join(words)
    result = chunk_text(raw, max_chars=50)
    assert_chunked(result, raw, max_chars=50)
    assert [w for c in result.chunks for w in c.spoken.split()] == words


def test_a_word_longer_than_the_budget_is_hard_split_as_a_last_resort() -> None:
    url = "https://example.com/" + "/".join(f"segment{n}" for n in range(40))
    raw = f"See {url} for more."
    result = chunk_text(raw, max_chars=60)
    assert_chunked(result, raw, max_chars=60)
    spoken = [c.spoken for c in result.chunks]
    assert "".join(spoken[:-1]) == f"See {url}"
    assert spoken[-1] == "for more."
    assert all(piece.endswith("/") for piece in spoken[:-2])  # cut after a path separator when one is near


def test_cjk_text_without_spaces_splits_after_its_punctuation() -> None:
    raw = "我们今天去公园散步，天气很好，阳光明媚。" * 20
    result = chunk_text(raw, max_chars=50, language="zh")
    assert_chunked(result, raw, max_chars=50)
    assert all(c.spoken[-1] in "，。" for c in result.chunks)


def test_combining_marks_stay_with_their_letter() -> None:
    raw = "e\u0301" * 40  # 80 code points, no spaces
    result = chunk_text(raw, max_chars=7)
    assert_chunked(result, raw, max_chars=7)
    assert all(c.spoken[0] != "\u0301" for c in result.chunks)


def test_short_fragments_merge_with_a_neighbour() -> None:
    text = "Yes.\n\n" + "A longer paragraph follows here, with enough words to matter a lot."
    result = chunk_text(text, max_chars=200, min_chars=40)
    assert [c.spoken for c in result.chunks] == [normalize_text(text)]


def test_headings_are_their_own_chunks_with_a_chapter_pause() -> None:
    body = "Alice sat by the river and watched the water run past the stones. " * 4
    raw = f"The Title\n\nCHAPTER I.\nDown the Rabbit-Hole\n\n{body}\n\nCHAPTER II\n\nThe Pool of Tears\n\n{body}"
    result = chunk_text(raw, max_chars=1000)
    assert_chunked(result, raw, max_chars=1000)
    summary = [(c.chapter_index, c.is_heading, c.pause_after, c.spoken[:20]) for c in result.chunks]
    assert summary == [
        (0, False, "chapter", "The Title"),
        (0, True, "chapter", "CHAPTER I.\n\nDown the"),
        (0, False, "chapter", "Alice sat by the riv"),
        (1, True, "chapter", "CHAPTER II\n\nThe Pool"),
        (1, False, "chapter", "Alice sat by the riv"),
    ]
    assert [c.title for c in result.chapters] == ["Chapter I: Down the Rabbit-Hole", "Chapter II: The Pool of Tears"]


def test_a_heading_longer_than_the_budget_is_split_but_still_a_heading() -> None:
    raw = "## A Very Long Markdown Heading That Goes On And On\n\nSome text here.\n\n## Two\n\nMore text."
    result = chunk_text(raw, max_chars=20, markdown=True)
    assert_chunked(result, raw, max_chars=20, markdown=True)
    headings = [c.spoken for c in result.chunks if c.is_heading and c.chapter_index == 0]
    assert " ".join(headings) == "A Very Long Markdown Heading That Goes On And On"


def test_chunk_text_property_and_spoken() -> None:
    result = chunk_text("One two.\n\nThree four.", max_chars=9, min_chars=0)
    assert [c.spoken for c in result.chunks] == ["One two.", "Three", "four."]
    assert [c.text for c in result.chunks] == ["One two.\n\n", "Three ", "four."]
    assert isinstance(result.chunks[0], Chunk)
    assert result.chunks[0].source is result.text


def test_language_codes_fall_back_to_english() -> None:
    text = "Dr. Smith arrived. He sat down."
    english = [c.spoken for c in chunk_text(text, max_chars=20).chunks]
    assert english == ["Dr. Smith arrived.", "He sat down."]
    for language in ("en-GB", "EN_us", "xx", "tlh"):
        assert [c.spoken for c in chunk_text(text, max_chars=20, language=language).chunks] == english
    german = "Er kam um 9 Uhr an. Dann ging er."
    assert_chunked(chunk_text(german, max_chars=20, language="de"), german, max_chars=20)


def test_empty_and_blank_texts_have_no_chunks() -> None:
    for raw in ("", "  \n\n \t", "* * *"):
        result = chunk_text(raw, max_chars=100)
        assert result.text == "" and result.chunks == ()
        assert len(result.chapters) == 1


def test_invalid_budgets_are_rejected() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        chunk_text("text", max_chars=0)
    with pytest.raises(ValueError, match="min_chars"):
        chunk_text("text", max_chars=10, min_chars=-1)


# --- Alice -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alice_raw() -> str:
    return ALICE_PATH.read_text(encoding="utf-8")


def test_alice_chunks_cover_the_whole_book(alice_raw: str) -> None:
    raw = alice_raw
    result = chunk_text(raw, max_chars=DEFAULT_MAX_CHARS)
    assert_chunked(result, raw, max_chars=DEFAULT_MAX_CHARS)
    assert len(result.chapters) == 12
    assert result.chapters[0].title == "Chapter I: Down the Rabbit-Hole"
    assert result.chapters[-1].title == "Chapter XII: Alice's Evidence"
    headings = [c for c in result.chunks if c.is_heading]
    assert [c.chapter_index for c in headings] == list(range(12))
    assert all(c.spoken.startswith("CHAPTER ") for c in headings)
    assert headings[-1].spoken == "CHAPTER XII\n\nAlice's Evidence"
    assert result.chunks[0].spoken == "[Alice's Adventures in Wonderland by Lewis Carroll 1865]"
    assert result.chunks[0].pause_after == "chapter"
    # Packing works: chunks are mostly full, nothing but headings is short, and most end at a paragraph.
    body = [c for c in result.chunks if not c.is_heading]
    assert sum(len(c.spoken) for c in body) / len(body) > 0.6 * DEFAULT_MAX_CHARS
    assert all(len(c.spoken) >= 40 for c in body)
    assert sum(c.pause_after == "sentence" for c in body) <= len(body) // 10


@pytest.mark.parametrize("model", ["hexgrad/Kokoro-82M", "canopylabs/orpheus-3b-0.1-ft", "minimax/speech-2.8-turbo"])
def test_alice_at_model_budgets(alice_raw: str, model: str) -> None:
    budget = chunk_budget(model)
    assert_chunked(chunk_text(alice_raw, max_chars=budget), alice_raw, max_chars=budget)


def test_alice_at_a_tiny_budget(alice_raw: str) -> None:
    assert_chunked(chunk_text(alice_raw, max_chars=25, min_chars=10), alice_raw, max_chars=25)


# --- random texts (a seeded stand-in for hypothesis) ------------------------------------------------------------

WORDS = [
    "alice", "rabbit", "Queen", "tea-party", "don't", "I", "Mr.", "e.g.", "U.S.A.", "1865", "3.14", "café", "naïve",
    "Straße", "Ærøskøbing", "мир", "Ὀδυσσεύς", "東京", "🙂", "snake_case", "2*3", "x", "a", "rab-bit", "'quoted'",
]  # fmt: skip
ODDITIES = [
    "“", "”", "‘", "’", "—", "–", "…", "\u00a0", "\t", "\u200b", "\u00ad", "\u2028", "\u2029", "\x0c", "\x07",
    "\u3000", "\u202f", "--", " -- ", "_", "*", "**", "[", "]", "(", ")", "#", ">", "<!--", "-->", "`", "\r\n", "\r",
]  # fmt: skip
ROMANS = ["I", "II", "III", "IV", "V", "IX", "XII", "XIV", "XL"]
SENTENCE_ENDS = [".", "!", "?", "...", "?'", '."', "…", ""]
CLAUSE_MARKS = [",", ";", ":", " -", " —", "--"]


def random_word(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.01:
        return "https://example.com/" + "".join(rng.choice("ab/-_.?=") for _ in range(rng.randint(50, 1500)))
    if roll < 0.015:
        return rng.choice(["東京大学", "e\u0301", "ab"]) * rng.randint(30, 400)
    if roll < 0.08:
        return rng.choice(WORDS) + rng.choice(ODDITIES) + rng.choice(WORDS)
    word = rng.choice(WORDS)
    if rng.random() < 0.05:
        word = rng.choice(["_{}_", "*{}*", "**{}**", "[{}](http://x.y/z)", "![{}](i.png)", "`{}`"]).format(word)
    if rng.random() < 0.1:
        word += rng.choice(CLAUSE_MARKS)
    return word


def random_sentence(rng: random.Random) -> str:
    count = rng.randint(100, 400) if rng.random() < 0.03 else rng.randint(1, 25)
    words = [random_word(rng) for _ in range(count)]
    return " ".join(words) + rng.choice(SENTENCE_ENDS)


def wrap(rng: random.Random, paragraph: str) -> str:
    """Line-wrap like a Gutenberg text, sometimes hyphenating a word at the line end, sometimes indenting."""
    width = rng.randint(15, 90)
    lines: list[str] = []
    line = ""
    for word in paragraph.split(" "):
        if line and len(line) + len(word) > width:
            if len(word) > 4 and rng.random() < 0.1:
                cut = rng.randint(2, len(word) - 2)
                line, word = f"{line} {word[:cut]}-", word[cut:]
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    indent = " " * rng.choice([0, 0, 0, 2, 5])
    return "\n".join(indent + line for line in lines)


def random_heading(rng: random.Random, markdown: bool) -> str:
    roman = rng.choice(ROMANS)
    title = " ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randint(1, 5)))
    styles = [
        f"CHAPTER {roman}.",
        f"CHAPTER {roman}. {title}",
        f"Chapter {rng.randint(1, 40)}: {title}",
        f"             CHAPTER {roman}\n\n           {title}",
        f"CHAPTER {roman}.\n{title}",
        f"{roman}.",
        "Prologue",
        f"Chapter {rng.choice(['One', 'Two', 'Twenty-Three'])}",
    ]
    if markdown:
        styles += [f"# {title}", f"## {title}", f"{title}\n=====", f"### {title} ###"]
    return rng.choice(styles)


def random_block(rng: random.Random, markdown: bool) -> str:
    roll = rng.random()
    if roll < 0.12:
        return random_heading(rng, markdown)
    if roll < 0.16:
        return rng.choice(["*    *    *    *", "-----", "* * *", "   ~~~", "___"])
    if markdown and roll < 0.25:
        item = " ".join(random_word(rng) for _ in range(rng.randint(1, 8)))
        return rng.choice(
            [f"- {item}\n- {item}", f"1. {item}\n2. {item}", f"> {item}\n> {item}", f"```\n{item}\n```",
             f"<!-- {item} -->", f"[ref]: http://x.y\n{item}", f"| {item} | b |\n|---|---|"]
        )  # fmt: skip
    paragraph = " ".join(random_sentence(rng) for _ in range(rng.randint(1, 6)))
    return wrap(rng, paragraph)


def random_text(rng: random.Random, markdown: bool) -> str:
    separators = ["\n\n", "\n\n\n", "\n \n", "\r\n\r\n", "\n\t\n\n"]
    blocks = [random_block(rng, markdown) for _ in range(rng.randint(0, 24))]
    text = "".join(block + rng.choice(separators) for block in blocks)
    return rng.choice(["", "\ufeff", "  \n"]) + text


RANDOM_CASES = 120


@pytest.mark.parametrize("seed", range(RANDOM_CASES))
def test_random_texts_are_covered_exactly(seed: int) -> None:
    rng = random.Random(seed)
    markdown = seed % 3 == 0
    raw = random_text(rng, markdown)
    max_chars = rng.choice([1, 7, 40, 120, 500, 1000, 2000, 4096])
    min_chars = rng.choice([0, 40, 200])
    result = chunk_text(raw, max_chars=max_chars, min_chars=min_chars, markdown=markdown)
    assert result.text == normalize_text(raw, markdown=markdown)
    assert_chunked(result, raw, max_chars=max_chars, markdown=markdown)


@pytest.mark.parametrize("seed", range(RANDOM_CASES))
def test_random_texts_normalize_to_a_fixed_point(seed: int) -> None:
    raw = random_text(random.Random(seed), markdown=False)
    text = normalize_text(raw)
    assert normalize_text(text) == text
    assert text == text.strip()
    assert "\n\n\n" not in text and "  " not in text
    assert all(ch in " \n" for ch in text if ch.isspace())
    assert all("\n" not in paragraph for paragraph in text.split("\n\n"))
