"""Normalization: turns a raw manuscript (plain text or Markdown) into the text a speech model reads well.

This module owns the *layout* of the normalized text, which every other offset in ``voxbatch.text`` refers to:

* paragraphs are separated by exactly one blank line (``"\\n\\n"``) and contain no other newline; line-wrapped
  paragraphs are rejoined with single spaces; the text has no leading or trailing whitespace;
* typography is reduced to plain ASCII forms: curly quotes become ``"`` / ``'``, the ellipsis ``...``, em/en dashes,
  horizontal bars and ASCII ``--`` become a spaced dash `` - `` (a comma-like pause; an en dash between digits, a
  range such as ``1914–1918``, becomes a plain ``-``), odd whitespace (NBSP, tabs, thin spaces) becomes a space and
  runs of spaces collapse; zero-width characters, soft hyphens and control characters are removed;
* emphasis markers (Gutenberg ``_italics_``, ``*emphasis*``, ``**bold**``) are removed, never the words they mark;
  so is a dash opening a paragraph (a dialogue dash, "— Bonjour"), which is not heard;
* decorative separator lines (``*   *   *``, ``-----``, ``=====``) are not spoken: they become a paragraph break;
* a Project Gutenberg header and licence (outside the ``*** START OF ... ***`` / ``*** END OF ... ***`` markers) is
  not part of the book and is cut; texts without these markers are kept whole;
* chapter-heading lines (``CHAPTER I.``, ``Chapter 3: The Fall``) always stand as their own paragraph, so chapter
  detection sees them even when the manuscript has no blank line around them. Their grammar lives here
  (``parse_heading_line``) because normalization needs it; ``chapters.py`` interprets the headings.

Hyphenation rule (a line that ends in ``letters-`` followed by a line starting with letters): if the next line starts
with a capital or a non-letter, the hyphen is real and kept (``Anglo-`` / ``Saxon`` -> ``Anglo-Saxon``). Otherwise
the text itself is the dictionary: if the hyphenated compound (``waistcoat-pocket``) occurs elsewhere in the
manuscript the hyphen is kept; else the word is rejoined without it (``rab-`` / ``bit`` -> ``rabbit``), because a
lowercase continuation after a line-end hyphen is most often typesetter's hyphenation. Hyphens that are not at a
line end (``Rabbit-Hole``) are never touched.

Markdown (``markdown=True``): ATX (``#``) and setext headings become plain heading paragraphs whose level and
offsets are reported by ``normalize_document``; emphasis, strikethrough, inline code and link syntax are stripped
to their text (``[text](url)`` -> ``text``); images, HTML comments, HTML tags, reference-link definitions, table
rule rows, YAML front matter and code fences are dropped; list items keep their text (ordered items keep their
number) and each item is its own paragraph; blockquote markers are removed.

For plain text ``normalize_text`` is idempotent: normalizing normalized text returns it unchanged (Markdown output
is plain text, so it is not meant to be normalized as Markdown again).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

PARAGRAPH_SEPARATOR = "\n\n"

# Longest title accepted on the same line as a chapter label; a longer rest is prose that happens to start with
# "Chapter 3 ...", not a heading.
MAX_HEADING_TITLE_CHARS = 100
MAX_HEADING_TITLE_WORDS = 16

SPACED_DASH = " - "
_ASCII_DASH = "--"
MAX_HYPHENATED_FRAGMENT_CHARS = 64  # a line-end "word-" longer than this is not a hyphenated word

_NUMBER_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_NUMBER_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_NUMBER_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_NUMBER_WORD = rf"(?:(?:{_NUMBER_TENS})(?:[- ](?:{_NUMBER_UNITS}))?|{_NUMBER_TEENS}|{_NUMBER_UNITS})"
ROMAN_NUMERAL = r"(?=[MDCLXVI])M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
# The number must end the token: "Chapter Mix" or "Chapter 3rd" are not "Chapter MI" / "Chapter 3".
_CHAPTER_NUMBER = rf"(?P<num>\d{{1,4}}|{ROMAN_NUMERAL}|{_NUMBER_WORD})(?![\w'-])"
_CHAPTER_LINE_RE = re.compile(
    rf"(?P<word>chapter|chap\.)\s+{_CHAPTER_NUMBER}\s*(?:[.:]\s*)?(?:-\s+)?(?P<title>.*?)",
    re.IGNORECASE,
)
_NAMED_PART_LINE_RE = re.compile(r"(?P<word>prologue|epilogue)(?![\w'-])\s*(?:[.:]\s*)?(?:-\s+)?(?P<title>.*?)", re.I)
_CHAPTER_MENTION_RE = re.compile(rf"\bchapter\s+{_CHAPTER_NUMBER}", re.IGNORECASE)


@dataclass(frozen=True)
class HeadingLine:
    """A chapter label found on one line or paragraph: ``label`` like "Chapter I", ``title`` ("" when absent)."""

    label: str
    title: str


@dataclass(frozen=True)
class MarkdownHeading:
    """A Markdown heading in the normalized text: its level (1 for ``#``) and the span of its paragraph."""

    level: int
    title: str
    start: int
    end: int


@dataclass(frozen=True)
class NormalizedText:
    """The normalized text plus what normalization learnt about it that the text no longer shows."""

    text: str
    markdown_headings: tuple[MarkdownHeading, ...] = ()


def _is_title_text(title: str) -> bool:
    """Whether the rest of a heading line reads as a title rather than as the rest of a sentence."""
    if not title:
        return True
    if not any(ch.isalnum() for ch in title):
        return False  # "Prologue?" is a question, not a heading
    if len(title) > MAX_HEADING_TITLE_CHARS or len(title.split()) > MAX_HEADING_TITLE_WORDS:
        return False
    if title[-1] in ",;" or _CHAPTER_MENTION_RE.search(title):
        return False  # a clause goes on, or a run-together table of contents
    first_cased = next((ch for ch in title if ch.isalpha()), "")
    # "Chapter 3 was the best" is prose; titles start with a capital, a digit, a quote or an uncased script.
    return not first_cased.islower()


def _format_number(num: str) -> str:
    if re.fullmatch(ROMAN_NUMERAL, num.upper()) and not re.fullmatch(_NUMBER_WORD, num, re.IGNORECASE):
        return num.upper()
    return re.sub(r"[A-Za-z]+", lambda word: word[0].capitalize(), num)  # "TWENTY-ONE" -> "Twenty-One"


def parse_heading_line(line: str) -> HeadingLine | None:
    """Parse a whole line/paragraph that is a chapter label: ``CHAPTER I.``, ``Chapter 3: The Fall``, ``Prologue``.

    Returns ``None`` for anything else, including prose that merely starts with "Chapter 3" (the rest must look like
    a title) and bare numerals (``IV.``, which are only headings in context: see ``chapters.py``).
    """
    line = line.strip()
    match = _CHAPTER_LINE_RE.fullmatch(line)
    if match is not None:
        label = f"Chapter {_format_number(match['num'])}"
    else:
        match = _NAMED_PART_LINE_RE.fullmatch(line)
        if match is None:
            return None
        label = match["word"].capitalize()
    title = match["title"].strip(" -:")  # a dangling dash or colon after the number is no title
    if not _is_title_text(title):
        return None
    return HeadingLine(label=label, title=title.rstrip(".").strip())


# --- character level -------------------------------------------------------------------------------------------

_CHAR_TRANSLATION = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2033": '"',
        "\u301d": '"',
        "\u301e": '"',
        "\uff02": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2039": "'",
        "\u203a": "'",
        "\u2032": "'",
        "\u2026": "...",
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2043": "-",  # hyphen bullet
        "\u2212": "-",  # minus sign
        # Dashes become the ASCII "--" first and a spaced dash only inside paragraphs: a line starting with "— and"
        # must not look like a Markdown bullet, and a line of them is a separator like "-----".
        "\u2012": _ASCII_DASH,  # figure dash
        "\u2013": _ASCII_DASH,  # en dash (digit ranges are handled before this table)
        "\u2014": _ASCII_DASH,  # em dash
        "\u2015": _ASCII_DASH,  # horizontal bar
        "\u2e3a": _ASCII_DASH,  # two-em dash
        "\u2e3b": _ASCII_DASH,  # three-em dash
        "\ufe58": _ASCII_DASH,  # small em dash
        "\u200b": "",  # zero-width space (ZWNJ/ZWJ stay: they change spelling in Persian, Indic scripts, emoji)
        "\u2060": "",  # word joiner
        "\ufeff": "",  # byte-order mark / zero-width no-break space
        "\u00ad": "",  # soft hyphen (a line-end soft hyphen is rejoined before this table)
        "\u2028": "\n",  # line separator
        "\u2029": "\n\n",  # paragraph separator
        "\x85": "\n",  # NEL
        "\x0b": "\n",
        "\x0c": "\n",  # form feed: a page break, which may fall mid-paragraph
        "\x1c": "\n",
        "\x1d": "\n",
        "\x1e": "\n",
    }
)
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_SPACES_RE = re.compile(r"[^\S\n]+")  # any whitespace but a newline
_EN_DASH_RANGE_RE = re.compile(r"(?<=\d)\u2013(?=\d)")
_SOFT_HYPHEN_LINE_END_RE = re.compile(r"\u00ad[^\S\n]*\n[^\S\n]*(?=\S)")
_GUTENBERG_START_RE = re.compile(r"^\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.I | re.M)
_GUTENBERG_END_RE = re.compile(r"^\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG EBOOK.*$", re.I | re.M)


def _clean_characters(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    start = _GUTENBERG_START_RE.search(text)
    if start is not None:
        text = text[start.end() :]
    end = _GUTENBERG_END_RE.search(text)
    if end is not None:
        text = text[: end.start()]
    text = _SOFT_HYPHEN_LINE_END_RE.sub("", text)
    text = _EN_DASH_RANGE_RE.sub("-", text)
    text = text.translate(_CHAR_TRANSLATION)
    text = _CONTROL_CHARS_RE.sub("", text)
    return _SPACES_RE.sub(" ", text)


# --- line level ------------------------------------------------------------------------------------------------

# Three or more of * - _ = ~ # (optionally spaced) and nothing else: a scene break or rule.
_SEPARATOR_LINE_RE = re.compile(r"(?:[*\-_=~#]\s*){3,}")
_LETTERS = r"[^\W\d_]+"
_LINE_END_HYPHEN_RE = re.compile(rf"({_LETTERS})-$")
_LINE_START_WORD_RE = re.compile(_LETTERS)
# Anchored at the start of a letter run: without the lookbehind, a long run is rescanned from every letter.
_COMPOUND_RE = re.compile(rf"(?<![^\W\d_]){_LETTERS}(?:-{_LETTERS})+")

_MD_FENCE_RE = re.compile(r"(?:`{3,}|~{3,}).*")
_MD_ATX_RE = re.compile(r"(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*")
_MD_SETEXT_RE = re.compile(r"(=+|-+)\s*")
_MD_HR_RE = re.compile(r"([-*_])(?:\s*\1){2,}\s*")
_MD_REF_DEF_RE = re.compile(r"\[[^\]]+\]:\s*\S+.*")
_MD_TABLE_RULE_RE = re.compile(r"\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*")
_MD_QUOTE_RE = re.compile(r"(?:>\s?)+")
_MD_BULLET_RE = re.compile(r"[-*+]\s+")
_MD_ORDERED_RE = re.compile(r"(\d{1,9})[.)]\s+")
_MD_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_MD_FRONT_MATTER_RE = re.compile(r"\A---\n.*?\n(?:---|\.\.\.)[^\S\n]*(?:\n|\Z)", re.DOTALL)


@dataclass
class _Block:
    """Lines of one paragraph before joining; ``level`` is set for Markdown headings."""

    lines: list[str]
    level: int | None = None


class _Vocabulary:
    """Which hyphenated compounds the manuscript uses: the dictionary for the hyphenation rule."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._compounds: set[str] | None = None

    def has_compound(self, compound: str) -> bool:
        if self._compounds is None:
            self._compounds = {c.lower() for c in _COMPOUND_RE.findall(self._text)}
        return compound.lower() in self._compounds


def _join_lines(lines: list[str], vocabulary: _Vocabulary) -> str:
    """Rejoin a wrapped paragraph: spaces between lines, line-end hyphenation resolved (see module docstring)."""
    parts = [lines[0]]
    for previous, line in itertools.pairwise(lines):
        # Only the line's tail can hold the fragment; searching whole lines would be quadratic in long words.
        hyphen = _LINE_END_HYPHEN_RE.search(previous[-MAX_HYPHENATED_FRAGMENT_CHARS:]) if previous[-1:] == "-" else None
        next_word = _LINE_START_WORD_RE.match(line)
        if hyphen is None or next_word is None:
            parts += (" ", line)
            continue
        # A capitalised continuation or a compound the author writes elsewhere keeps its hyphen; else rejoin.
        second = next_word[0]
        if second[0].islower() and not vocabulary.has_compound(f"{hyphen[1]}-{second}"):
            parts[-1] = parts[-1][:-1]  # the hyphen ends the last part: the previous line itself
        parts.append(line)
    return "".join(parts)


def line_joiner(text: str) -> Callable[[list[str]], str]:
    """Rejoin a wrapped paragraph's lines as normalization does, with ``text`` (the whole manuscript) as the dictionary
    of the hyphenation rule (see the module docstring). For readers that find paragraphs themselves (PDF)."""
    vocabulary = _Vocabulary(text)
    return lambda lines: _join_lines(lines, vocabulary)


def _parse_blocks(text: str, *, markdown: bool) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []

    def flush(level: int | None = None) -> None:
        nonlocal current
        if current:
            blocks.append(_Block(current, level))
        current = []

    in_fence = False
    in_list = False  # the current block is a list item, which a following item of any number may interrupt
    for raw_line in text.split("\n"):
        line = raw_line.strip()
        if markdown:
            if _MD_FENCE_RE.fullmatch(line):
                in_fence = not in_fence
                flush()
                continue
            if in_fence:
                if line:
                    current.append(line)
                else:
                    flush()
                continue
            quote = _MD_QUOTE_RE.match(line)
            if quote is not None:
                line = line[quote.end() :].strip()
            if not line:
                flush()
                in_list = False
                continue
            if _MD_REF_DEF_RE.fullmatch(line) or _MD_TABLE_RULE_RE.fullmatch(line):
                continue
            atx = _MD_ATX_RE.fullmatch(line)
            if atx is not None:
                flush()
                if atx[2]:
                    blocks.append(_Block([atx[2]], len(atx[1])))
                continue
            setext = _MD_SETEXT_RE.fullmatch(line)
            if setext is not None and current and not in_list:
                flush(level=1 if setext[1][0] == "=" else 2)
                continue
            if _MD_HR_RE.fullmatch(line) or _SEPARATOR_LINE_RE.fullmatch(line):
                flush()
                continue
            bullet = _MD_BULLET_RE.match(line)
            ordered = _MD_ORDERED_RE.match(line)
            # As in CommonMark, only an item numbered 1 interrupts a paragraph: "1999. It was..." wrapped to a line
            # start is prose.
            if bullet is not None or (ordered is not None and (in_list or not current or ordered[1] == "1")):
                flush()  # each list item is its own paragraph; an ordered item keeps its spoken number
                in_list = True
                if bullet is not None:
                    line = line[bullet.end() :]
        else:
            if not line:
                flush()
                continue
            if _SEPARATOR_LINE_RE.fullmatch(line):
                flush()
                continue
        if parse_heading_line(line) is not None:
            flush()
            blocks.append(_Block([line]))
            continue
        current.append(line)
    flush()
    return blocks


# --- inline level ----------------------------------------------------------------------------------------------

_MD_ESCAPABLE = "\\`*_{}[]()#+-.!|~<>"
_MD_ESCAPE_BASE = 0xF0000  # Supplementary Private Use Area-A: placeholders for backslash-escaped characters
_MD_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>])")
_MD_RESTORE_TRANSLATION = str.maketrans({chr(_MD_ESCAPE_BASE + i): ch for i, ch in enumerate(_MD_ESCAPABLE)})
# Bracket and backtick contents exclude their own opener, so unbalanced syntax costs linear, not quadratic, time.
_MD_CODE_RE = re.compile(r"(`+)([^`]+)\1")
_MD_IMAGE_RE = re.compile(r"!\[[^\[\]]*\](?:\((?:[^()]|\([^()]*\))*\)|\[[^\[\]]*\])")
_MD_LINK_RE = re.compile(r"\[([^\[\]]*)\](?:\((?:[^()]|\([^()]*\))*\)|\[[^\[\]]*\])")
_MD_AUTOLINK_RE = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+|[^@>\s]+@[^>\s]+)>", re.IGNORECASE)
_MD_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_MD_STRIKE_RE = re.compile(r"~~")

# Emphasis markers hug a word on one side and face a space, punctuation or the paragraph edge on the other, so
# "snake_case" and "2*3" survive while "_I_", "*very*" and "**bold**" lose their markers.
_EMPHASIS_OPEN_RE = re.compile(r"(?<![\w*_])[*_]+(?=[^\s*_])")
_EMPHASIS_CLOSE_RE = re.compile(r"(?<=[^\s*_])[*_]+(?![\w*_])")
_ASCII_DASH_RE = re.compile(r"-{2,}")
_SPACED_DOTS_RE = re.compile(r"\.(?: \.){2,}")
_LEADING_DASH_RE = re.compile(r"^-(?: -)*\s+")  # a dialogue dash opening a paragraph is not spoken


def _markdown_inline(text: str) -> str:
    text = _MD_ESCAPE_RE.sub(lambda m: chr(_MD_ESCAPE_BASE + _MD_ESCAPABLE.index(m[1])), text)
    text = _MD_CODE_RE.sub(lambda m: m[2].strip(), text)
    text = _MD_IMAGE_RE.sub("", text)
    # Repeat: a link text may itself hold a link once the inner one is gone ("[[a](b)](c)").
    previous = None
    while previous != text:
        previous, text = text, _MD_LINK_RE.sub(r"\1", text)
    text = _MD_AUTOLINK_RE.sub(r"\1", text)
    text = _MD_HTML_TAG_RE.sub("", text)
    return _MD_STRIKE_RE.sub("", text)


def _clean_inline(text: str, *, markdown: bool) -> str:
    if markdown:
        text = _markdown_inline(text)
    text = _EMPHASIS_OPEN_RE.sub("", text)
    text = _EMPHASIS_CLOSE_RE.sub("", text)
    text = _ASCII_DASH_RE.sub(SPACED_DASH, text)
    text = _SPACED_DOTS_RE.sub("...", text)
    text = _SPACES_RE.sub(" ", text).strip()
    text = _LEADING_DASH_RE.sub("", text)
    if markdown:
        text = text.translate(_MD_RESTORE_TRANSLATION)
    return text


def _assemble(paragraphs: Iterable[tuple[str, int | None]]) -> NormalizedText:
    parts: list[str] = []
    headings: list[MarkdownHeading] = []
    offset = 0
    for paragraph, level in paragraphs:
        if parts:
            offset += len(PARAGRAPH_SEPARATOR)
        if level is not None:
            headings.append(MarkdownHeading(level=level, title=paragraph, start=offset, end=offset + len(paragraph)))
        parts.append(paragraph)
        offset += len(paragraph)
    return NormalizedText(text=PARAGRAPH_SEPARATOR.join(parts), markdown_headings=tuple(headings))


def normalize_document(raw: str, *, markdown: bool = False) -> NormalizedText:
    """Normalize ``raw`` (see the module docstring) and report where the Markdown headings ended up."""
    text = _clean_characters(raw)
    if markdown:
        text = _MD_FRONT_MATTER_RE.sub("", text.lstrip("\n"), count=1)
        text = _MD_COMMENT_RE.sub("", text)
    vocabulary = _Vocabulary(text)
    paragraphs: list[tuple[str, int | None]] = []
    for block in _parse_blocks(text, markdown=markdown):
        paragraph = _clean_inline(_join_lines(block.lines, vocabulary), markdown=markdown)
        # Lines too short to be a separator alone ("* *" then "*") can join into one.
        if paragraph and not _SEPARATOR_LINE_RE.fullmatch(paragraph):
            paragraphs.append((paragraph, block.level))
    return _assemble(paragraphs)


def normalize_text(raw: str, *, markdown: bool = False) -> str:
    """Normalize a manuscript for speech: rejoined paragraphs separated by ``"\\n\\n"``, plain punctuation.

    See the module docstring for every rule; the result is a fixed point (normalizing it again changes nothing).
    """
    return normalize_document(raw, markdown=markdown).text
