"""Chunking: cuts a normalized manuscript into the pieces sent to the speech API, one chunk per request.

Guarantees (tested on the whole of Alice and on seeded random texts):

* chunks tile the normalized text: ``chunks[0].start == 0``, each ``end`` is the next ``start``, the last ``end`` is
  ``len(text)``; the whitespace between two chunks (and any markup tag there) belongs to the earlier one, and
  ``spoken`` is the chunk's text without it, so every non-space character outside tags is spoken exactly once, in
  order (before any ``rewrite``, see Markup below);
* ``spoken`` is never empty and never longer than ``max_chars``; a chunk never crosses a chapter boundary;
* each chapter heading is a chunk of its own (``is_heading``), followed by a chapter-length pause.

How the cuts are chosen. A chapter is cut into regions: front matter (text before the heading of chapter 0), the
heading, and the body. A region is cut into units: sentences (pysbd, paragraph by paragraph, because pysbd is slow
on long inputs), and a sentence longer than ``max_chars`` into clauses (after ``, ; : . ! ? )`` or a spaced dash,
and after CJK punctuation), a clause still too long into words, and a single word longer than ``max_chars`` (a URL, a
run of CJK text without punctuation) into hard pieces - the only cut inside a word, as a last resort, preferably
after ``/ - _ . ? & =`` and never before a combining mark. Units are then packed into chunks by dynamic programming
(minimum total cost) with these costs per chunk:

* ``CHUNK_COST``: one more request, so chunks fill up to the budget and packing across paragraphs is normal;
* an end penalty by what follows the chunk: nothing at a paragraph or chapter end, ``SENTENCE_END_PENALTY`` inside a
  paragraph (a bit more than a request, so chunks end at paragraph ends whenever that costs at most one more
  chunk), more inside a sentence, much more inside a word;
* ``SHORT_CHUNK_PENALTY`` when ``spoken`` is shorter than ``min_chars`` (short inputs sound clipped), so a short
  fragment merges with a neighbour in the same region whenever the budget allows;
* ``FILL_WEIGHT * (1 - length / max_chars) ** 2``, which prefers even lengths among equally good cuts.

``pause_after`` says what follows the chunk: "chapter" after a heading chunk, after the last chunk of a chapter and
after front matter that precedes chapter 0's heading; "paragraph" at a paragraph end; "sentence" otherwise,
including the rare cut inside a sentence (there is no smaller pause kind).

Markup (:mod:`voxbatch.text.voicing`). With ``voicing`` (a dialogue voice, a cast) and wherever the text holds
pause tags, a region is first cut into the script's segments, each read by one voice, and each segment is cut
into chunks as above; ``voice`` names the chunk's voice (``""`` the narrator's, the only one of a heading). Tags are
never in ``spoken``: they lie between chunks, in a chunk's trailing part. A pause tag sets ``pause_s`` of the
chunk before it (the exact silence that follows it, instead of its ``pause_after``), or the text's
``pause_before_s`` when no words come before it. ``rewrite`` (a lexicon) turns each chunk's words into what is
sent: the cuts are chosen on the manuscript's own words, so a rewrite changes only the chunks it touches;
``written`` keeps the words as written for captions. A chunk the rewrite makes longer than ``max_chars`` is cut
again between its sentences (only a single sentence stretched beyond the budget is sent as it is).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from voxbatch.text import sentence_rules
from voxbatch.text.chapters import Chapter, layout_chapters, paragraph_spans
from voxbatch.text.normalize import normalize_document
from voxbatch.text.voicing import NARRATOR_VOICE, Voicing, read_script

PauseKind = Literal["sentence", "paragraph", "chapter"]
_Break = Literal["chapter", "paragraph", "sentence", "clause", "space", "hard"]

DEFAULT_MAX_CHARS = 1000
# The local server's default input cap (voxbatch.server.options.DEFAULT_MAX_INPUT_CHARS, OpenAI's limit); no
# budget may exceed it.
SERVER_MAX_INPUT_CHARS = 4096
# Characters per request by model family (a substring of the model id). Together publishes no per-model input
# limit; these are conservative choices. Orpheus and Kokoro lose quality on long inputs (Orpheus drifts and truncates
# past its audio-token budget, Kokoro's context is ~510 phoneme tokens); the hosted Cartesia, MiniMax, Rime and
# Deepgram voices handle paragraphs of a couple of thousand characters (Deepgram Aura documents 2000).
MODEL_FAMILY_MAX_CHARS: Mapping[str, int] = MappingProxyType(
    {
        "orpheus": 600,
        "kokoro": 500,
        "cartesia": 1500,
        "sonic": 1500,
        "rime": 1500,
        "deepgram": 1500,
        "aura": 1500,
        "minimax": 2000,
    }
)

CHUNK_COST = 1.0
SENTENCE_END_PENALTY = 1.25
CLAUSE_END_PENALTY = 3.0
SPACE_END_PENALTY = 5.0
HARD_END_PENALTY = 50.0
SHORT_CHUNK_PENALTY = 2.0
FILL_WEIGHT = 0.5
MAX_UNITS_PER_CHUNK = 256  # bounds the packing search on pathological input (thousands of words in one clause)

_END_PENALTY: Mapping[_Break, float] = MappingProxyType(
    {
        "chapter": 0.0,
        "paragraph": 0.0,
        "sentence": SENTENCE_END_PENALTY,
        "clause": CLAUSE_END_PENALTY,
        "space": SPACE_END_PENALTY,
        "hard": HARD_END_PENALTY,
    }
)
_CLAUSE_END_CHARS = frozenset(",;:.!?)-…，、；：。！？")
_WIDE_CLAUSE_CHARS = "，、；：。！？"
_TRAILING_QUOTES = "'\"]}"
_HARD_CUT_AFTER_CHARS = frozenset("/-_.?&=#,;:")
_TOKEN_RE = re.compile(r"\S+")
_WIDE_PUNCT_SPLIT_RE = re.compile(rf"(?<=[{_WIDE_CLAUSE_CHARS}])(?=\S)")


@dataclass(frozen=True)
class Chunk:
    """One request's worth of text: ``[start, end)`` in the normalized text, and ``spoken``, what is sent."""

    index: int
    chapter_index: int
    start: int
    end: int
    pause_after: PauseKind
    is_heading: bool
    spoken: str
    source: str = field(repr=False, compare=False, kw_only=True)  # the normalized text, shared, not a copy
    voice: str = field(default=NARRATOR_VOICE, kw_only=True)  # who reads it ("": the narrator)
    pause_s: float | None = field(default=None, kw_only=True)  # a pause tag's silence after it, else pause_after's
    written: str | None = field(default=None, kw_only=True)  # the words as written, when rewrite changed them

    @property
    def text(self) -> str:
        """The chunk's slice of the normalized text, trailing whitespace (and any markup tag) included."""
        return self.source[self.start : self.end]

    @property
    def caption(self) -> str:
        """The words as the manuscript has them (for subtitles): ``spoken`` before any rewrite."""
        return self.spoken if self.written is None else self.written


@dataclass(frozen=True)
class ChunkedText:
    """A manuscript ready to speak: the normalized text, its chapters and its chunks."""

    text: str
    chapters: tuple[Chapter, ...]
    chunks: tuple[Chunk, ...]
    pause_before_s: float | None = None  # pause tags before the first words: the silence that opens the book


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int  # first non-space character
    end: int  # just after the last non-space character
    after: _Break  # what kind of boundary follows it


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    end: int
    chapter_index: int
    pause_after: PauseKind
    is_heading: bool
    voice: str = NARRATOR_VOICE


def chunk_budget(model: str) -> int:
    """Characters per request for ``model`` (see ``MODEL_FAMILY_MAX_CHARS``); ``DEFAULT_MAX_CHARS`` if unknown."""
    model_id = model.lower()
    for family, budget in MODEL_FAMILY_MAX_CHARS.items():
        if family in model_id:
            return min(budget, SERVER_MAX_INPUT_CHARS)
    return min(DEFAULT_MAX_CHARS, SERVER_MAX_INPUT_CHARS)


def _ends_clause(token: str) -> bool:
    stripped = token.rstrip(_TRAILING_QUOTES)
    return bool(stripped) and stripped[-1] in _CLAUSE_END_CHARS


def _tokens(text: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """Words of ``text[start:end]`` as (start, end, ends a clause); CJK runs are also cut after their punctuation."""
    tokens: list[tuple[int, int, bool]] = []
    for match in _TOKEN_RE.finditer(text, start, end):
        position = match.start()
        for cut in _WIDE_PUNCT_SPLIT_RE.finditer(match[0]):
            if cut.start() > 0:
                tokens.append((position, match.start() + cut.start(), True))
                position = match.start() + cut.start()
        tokens.append((position, match.end(), _ends_clause(match[0])))
    return tokens


def _hard_split(text: str, start: int, end: int, after: _Break, max_chars: int) -> Iterator[_Unit]:
    position = start
    while end - position > max_chars:
        limit = position + max_chars
        cut = limit
        for candidate in range(limit, position + max_chars // 2, -1):
            if text[candidate - 1] in _HARD_CUT_AFTER_CHARS:
                cut = candidate
                break
        while cut > position + 1 and unicodedata.combining(text[cut]):
            cut -= 1  # keep an accent with its letter
        yield _Unit(position, cut, "hard")
        position = cut
    yield _Unit(position, end, after)


def _split_long(text: str, start: int, end: int, after: _Break, max_chars: int) -> Iterator[_Unit]:
    """Units no longer than ``max_chars`` for an over-long sentence: clauses, then words, then hard pieces."""
    tokens = _tokens(text, start, end)
    clauses: list[list[tuple[int, int, bool]]] = [[]]
    for token in tokens:
        clauses[-1].append(token)
        if token[2]:
            clauses.append([])
    clauses = [clause for clause in clauses if clause]
    for number, clause in enumerate(clauses):
        clause_after: _Break = after if number == len(clauses) - 1 else "clause"
        clause_start, clause_end = clause[0][0], clause[-1][1]
        if clause_end - clause_start <= max_chars:
            yield _Unit(clause_start, clause_end, clause_after)
            continue
        for position, (token_start, token_end, _) in enumerate(clause):
            token_after: _Break = clause_after if position == len(clause) - 1 else "space"
            yield from _hard_split(text, token_start, token_end, token_after, max_chars)


def _units(text: str, start: int, end: int, final: _Break, max_chars: int, segmenter: Any) -> list[_Unit]:
    units: list[_Unit] = []
    paragraphs = paragraph_spans(text, start, end)
    for number, (paragraph_start, paragraph_end) in enumerate(paragraphs):
        paragraph_after: _Break = final if number == len(paragraphs) - 1 else "paragraph"
        sentences = sentence_rules.sentence_spans(text, paragraph_start, paragraph_end, segmenter)
        for position, (sentence_start, sentence_end) in enumerate(sentences):
            after: _Break = paragraph_after if position == len(sentences) - 1 else "sentence"
            if sentence_end - sentence_start <= max_chars:
                units.append(_Unit(sentence_start, sentence_end, after))
            else:
                units.extend(_split_long(text, sentence_start, sentence_end, after, max_chars))
    return units


def _pack(units: list[_Unit], max_chars: int, min_chars: int) -> list[tuple[int, int]]:
    """Group consecutive units into chunks of at most ``max_chars`` at minimum total cost (module docstring)."""
    count = len(units)
    best = [0.0] + [float("inf")] * count
    previous = [0] * (count + 1)
    for stop in range(1, count + 1):
        last = units[stop - 1]
        end_cost = CHUNK_COST + _END_PENALTY[last.after]
        for first in range(stop - 1, max(stop - 1 - MAX_UNITS_PER_CHUNK, -1), -1):
            length = last.end - units[first].start
            if length > max_chars:
                break
            cost = best[first] + end_cost + FILL_WEIGHT * (1.0 - length / max_chars) ** 2
            if length < min_chars:
                cost += SHORT_CHUNK_PENALTY
            if cost < best[stop]:
                best[stop] = cost
                previous[stop] = first
    groups: list[tuple[int, int]] = []
    stop = count
    while stop > 0:
        groups.append((previous[stop], stop))
        stop = previous[stop]
    groups.reverse()
    return groups


def _pause(kind: _Break) -> PauseKind:
    if kind == "chapter":
        return "chapter"
    if kind == "paragraph":
        return "paragraph"
    return "sentence"


def _fit(text: str, units: list[_Unit], max_chars: int, rewrite: Callable[[str], str] | None) -> list[list[_Unit]]:
    """``units`` (one chunk) cut again between units where ``rewrite`` makes it longer than ``max_chars``."""
    if rewrite is None or len(rewrite(text[units[0].start : units[-1].end])) <= max_chars:
        return [units]
    groups: list[list[_Unit]] = []
    first = 0
    for stop in range(2, len(units) + 1):
        if stop - first > 1 and len(rewrite(text[units[first].start : units[stop - 1].end])) > max_chars:
            groups.append(units[first : stop - 1])
            first = stop - 1
    groups.append(units[first:])
    return groups


def chunk_text(
    raw: str,
    *,
    max_chars: int,
    min_chars: int = 40,
    language: str = "en",
    markdown: bool = False,
    title: str | None = None,
    voicing: Voicing | None = None,
    rewrite: Callable[[str], str] | None = None,
) -> ChunkedText:
    """Normalize ``raw``, detect its chapters and cut it into chunks of at most ``max_chars`` spoken characters.

    ``language`` picks pysbd's sentence rules (an ISO 639-1 code; a region suffix like "en-GB" is ignored, unknown
    languages use English rules). ``title``, the book's title, names the one chapter of a text without headings.
    See the module docstring for how cuts are chosen, and for ``voicing`` (who reads what; pause tags are always
    obeyed) and ``rewrite`` (a lexicon). A tag that cannot be obeyed raises :class:`~voxbatch.text.markup.MarkupError`.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if min_chars < 0:
        raise ValueError(f"min_chars must not be negative, got {min_chars}")
    document = normalize_document(raw, markdown=markdown)
    text = document.text
    layouts = layout_chapters(document, title=title)
    segmenter = sentence_rules.segmenter(language)
    script = read_script(text, voicing or Voicing())

    pieces: list[_Piece] = []
    for layout in layouts:
        chapter = layout.chapter
        regions: list[tuple[int, int, bool]] = []
        if layout.heading is None:
            regions.append((chapter.start, chapter.end, False))
        else:
            heading_start, heading_end = layout.heading
            regions += [(chapter.start, heading_start, False), (heading_start, heading_end, True)]
            regions.append((heading_end, chapter.end, False))
        for region_start, region_end, is_heading in regions:
            segments = script.within(text, region_start, region_end, heading=is_heading)
            for number, (segment, ends_paragraph) in enumerate(segments):
                final: _Break = "chapter" if number == len(segments) - 1 else "sentence"
                if ends_paragraph and final != "chapter":
                    final = "paragraph"
                units = _units(text, segment.start, segment.end, final, max_chars, segmenter)
                # A heading is spoken as it stands, however short; merging it is not an option anyway.
                for first, stop in _pack(units, max_chars, 0 if is_heading else min_chars):
                    for group in _fit(text, units[first:stop], max_chars, rewrite):
                        pieces.append(
                            _Piece(
                                start=group[0].start,
                                end=group[-1].end,
                                chapter_index=chapter.index,
                                pause_after=_pause(group[-1].after),
                                is_heading=is_heading,
                                voice=segment.voice,
                            )
                        )

    pauses_after, pause_before = script.place_pauses([piece.end for piece in pieces])
    chunks: list[Chunk] = []
    for number, piece in enumerate(pieces):
        start = 0 if number == 0 else chunks[-1].end
        end = pieces[number + 1].start if number + 1 < len(pieces) else len(text)
        words = text[piece.start : piece.end]
        spoken = words if rewrite is None else rewrite(words)
        chunks.append(
            Chunk(
                index=number,
                chapter_index=piece.chapter_index,
                start=start,
                end=end,
                pause_after=piece.pause_after,
                is_heading=piece.is_heading,
                spoken=spoken,
                source=text,
                voice=piece.voice,
                pause_s=pauses_after.get(number),
                written=None if spoken == words else words,
            )
        )
    chapters = tuple(layout.chapter for layout in layouts)
    return ChunkedText(text=text, chapters=chapters, chunks=tuple(chunks), pause_before_s=pause_before)
