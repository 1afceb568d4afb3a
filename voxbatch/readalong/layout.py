"""A timed book as pages of text: chapters of headings and paragraphs, paragraphs of sentences, sentences of words.

Each chapter's chunks are laid out in order. A chunk's text is cut into paragraphs at blank lines and each
paragraph into sentences (:func:`voxbatch.text.sentences.sentence_splitter`, the chunker's own rules); a chunk the
plan marks as a heading (by default: a chunk whose text is its chapter's title) becomes the chapter's heading.
Between chunks a new paragraph starts where the plan says a paragraph ends (by default: at every chunk boundary,
which is where the chunker prefers to cut). A sentence never spans two chunks: the rare cut inside a sentence
makes two.

Every sentence gets an id (``c<chapter>s<n>``), starts when its first character is spoken
(:class:`~voxbatch.readalong.align.ChunkClock`), and every token with a matched word becomes a word with an id
(``c<chapter>s<n>w<k>``). A sentence is *word-timed* when every token of it that holds a letter or digit was matched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from voxbatch.readalong.align import ChunkClock, Token, align_words
from voxbatch.readalong.timing import BookTiming, ReadalongError, TimedChunk
from voxbatch.text.sentences import SentenceSplitter, sentence_splitter

_PARAGRAPH_BREAK_RE = re.compile(r"\n[^\S\n]*\n\s*")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class ChunkHints:
    """What the plan knows of a chunk that its timing does not say."""

    heading: bool = False  # the chapter's heading
    paragraph_after: bool = True  # a paragraph (or the chapter) ends after it
    shown: str | None = None  # the text to show when it differs from the text sent (the words before a lexicon)


@dataclass(frozen=True)
class Word:
    """A word of a sentence with its own timing."""

    id: str
    text: str
    start_s: float


@dataclass(frozen=True)
class Sentence:
    """A sentence: its text as plain runs and timed words in order, and when it starts."""

    id: str
    parts: tuple[str | Word, ...]
    start_s: float
    word_timed: bool
    new_line: bool = False  # a line break (verse) separates it from the sentence before it in its paragraph

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(part for part in self.parts if isinstance(part, Word))


@dataclass(frozen=True)
class Block:
    """A heading or a paragraph: sentences, shown one after the other with a space (or a line break) between."""

    heading: bool
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class ChapterText:
    """One chapter's page: its number (from 1), title and blocks in reading order."""

    number: int
    title: str
    blocks: tuple[Block, ...]

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        return tuple(sentence for block in self.blocks for sentence in block.sentences)

    @property
    def spoken_heading(self) -> bool:
        return bool(self.blocks) and self.blocks[0].heading


def _squash(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip().casefold()


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _PARAGRAPH_BREAK_RE.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


@dataclass
class _Chapter:
    """A chapter being laid out: its finished blocks and the sentences of the block under way."""

    number: int
    blocks: list[Block] = field(default_factory=list)
    open: list[Sentence] = field(default_factory=list)
    count: int = 0

    def close(self, heading: bool = False) -> None:
        if self.open:
            self.blocks.append(Block(heading, tuple(self.open)))
            self.open = []

    def sentence(
        self, text: str, start: int, end: int, tokens: Sequence[Token], clock: ChunkClock, new_line: bool
    ) -> None:
        self.count += 1
        sentence_id = f"c{self.number}s{self.count}"
        parts: list[str | Word] = []
        cursor = start
        inside = [token for token in tokens if start <= token.start < end]
        for token in inside:
            if token.start_s is None:
                continue
            if token.start > cursor:
                parts.append(text[cursor : token.start])
            word_id = f"{sentence_id}w{sum(isinstance(part, Word) for part in parts) + 1}"
            parts.append(Word(word_id, text[token.start : token.end], token.start_s))
            cursor = token.end
        if end > cursor:
            parts.append(text[cursor:end])
        words = [token for token in inside if token.is_word(text)]
        timed = bool(words) and all(token.start_s is not None for token in words)
        self.open.append(Sentence(sentence_id, tuple(parts), clock.time_at(start), timed, new_line and bool(self.open)))


def _lay_out_chunk(chapter: _Chapter, chunk: TimedChunk, hints: ChunkHints, split: SentenceSplitter) -> None:
    text = chunk.text if hints.shown is None else hints.shown
    tokens = align_words(text, chunk.words)
    clock = ChunkClock(text, chunk.start_s, chunk.end_s, tokens)
    if hints.heading:
        chapter.close()
    for number, (first, last) in enumerate(_paragraphs(text)):
        if number and not hints.heading:
            chapter.close()
        # A heading is no prose: each of its paragraphs ("CHAPTER I." and its title) is one sentence.
        spans = [(0, len(text[first:last].rstrip()))] if hints.heading else split(text[first:last])
        previous = 0
        for start, end in spans:
            new_line = "\n" in text[first + previous : first + start]
            chapter.sentence(text, first + start, first + end, tokens, clock, new_line)
            previous = end
    if hints.heading:
        chapter.close(heading=True)
    elif hints.paragraph_after:
        chapter.close()


def _default_hints(chunks: Sequence[TimedChunk], title: str) -> dict[int, ChunkHints]:
    """Without the plan: the first chunk that reads exactly the title is the heading; every chunk ends a paragraph."""
    for chunk in chunks:
        if _squash(chunk.text) == _squash(title):
            return {chunk.index: ChunkHints(heading=True)}
    return {}


def lay_out(
    timing: BookTiming, titles: Sequence[str], language: str, hints: Mapping[int, ChunkHints] | None = None
) -> list[ChapterText]:
    """The book's chapters as pages; ``titles`` name its chapters in order (one per chapter of the chunks),
    ``hints`` (by chunk index) say which chunks are headings and where paragraphs end."""
    groups = timing.chapters()
    if len(groups) != len(titles):
        raise ReadalongError(f"the timing has {len(groups)} chapters but chapters.json names {len(titles)}")
    split = sentence_splitter(language)
    chapters = []
    for number, ((_, chunks), title) in enumerate(zip(groups, titles, strict=True), start=1):
        chapter = _Chapter(number)
        known = _default_hints(chunks, title) if hints is None else hints
        for chunk in chunks:
            _lay_out_chunk(chapter, chunk, known.get(chunk.index, ChunkHints()), split)
        chapter.close()
        if not chapter.count:
            raise ReadalongError(f"chapter {number} ({title!r}) has no text")
        chapters.append(ChapterText(number, title, tuple(chapter.blocks)))
    return chapters
