"""Pronunciation: a lexicon of terms and how to say them, applied to the text that is sent to the speech model.

A lexicon file is JSON or CSV (chosen by the file's extension):

* JSON: ``{"Hermione": "Her-my-oh-nee", "nginx": {"spoken": "engine x", "ignore_case": true}}``;
* CSV: a header with ``term`` and ``spoken`` and optionally ``ignore_case`` (true/false, yes/no, 1/0).

Rules:

* whole words only: a term matches where it is not part of a longer word (``Ann`` is not replaced inside
  ``Anna``), also when it starts or ends with punctuation (``C++``, ``.NET``); a term of several words matches
  across any spacing;
* exact case by default (``US`` is not ``us``); an entry with ``ignore_case`` matches in any case;
* the longest term wins where terms overlap, and an exact-case entry wins over a case-insensitive one of the
  same length; replacements are made in one pass, so a spoken form is never replaced again;
* terms and spoken forms are normalized like the manuscript (curly quotes, dashes), so ``O’Brien`` in the
  lexicon matches ``O'Brien`` in the normalized text.

Lexicons combine (:meth:`Lexicon.merged`): a book's entries override the manifest's for the same term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from voxbatch.text.normalize import normalize_text
from voxbatch.text.side_files import Entry, SideFileKind

MAX_LEXICON_FILE_BYTES = 4 * 1024 * 1024
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", ""})

_SPACES_RE = re.compile(r"\s+")


class LexiconError(ValueError):
    """A lexicon file that cannot be used; the message says why."""


@dataclass(frozen=True)
class LexiconEntry:
    """One term and what is said instead."""

    term: str
    spoken: str
    ignore_case: bool = False

    @property
    def key(self) -> str:
        return self.term.casefold() if self.ignore_case else self.term


def _squeeze(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Lexicon:
    """Terms and their spoken forms (see the module docstring for how they match)."""

    entries: tuple[LexiconEntry, ...] = ()

    def merged(self, other: Lexicon | None) -> Lexicon:
        """These entries with ``other``'s on top (``other`` wins for the same term and case rule)."""
        if other is None:
            return self
        overridden = {(e.key, e.ignore_case) for e in other.entries}
        kept = tuple(e for e in self.entries if (e.key, e.ignore_case) not in overridden)
        return Lexicon(kept + other.entries)

    @cached_property
    def _exact(self) -> dict[str, str]:
        return {e.term: e.spoken for e in self.entries if not e.ignore_case}

    @cached_property
    def _folded(self) -> dict[str, str]:
        return {e.term.casefold(): e.spoken for e in self.entries if e.ignore_case}

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.entries:
            return None
        ordered = sorted(self.entries, key=lambda e: (-len(e.term), e.ignore_case))
        alternatives = []
        for entry in ordered:
            body = r"\s+".join(re.escape(word) for word in entry.term.split())
            alternatives.append(f"(?i:{body})" if entry.ignore_case else body)
        return re.compile(rf"(?<!\w)(?:{'|'.join(alternatives)})(?!\w)")

    def _spoken(self, match: re.Match[str]) -> str:
        found = _squeeze(match[0])
        spoken = self._exact.get(found)
        return spoken if spoken is not None else self._folded.get(found.casefold(), match[0])

    def apply(self, text: str) -> str:
        """``text`` with every term replaced by its spoken form."""
        pattern = self._pattern
        return text if pattern is None else pattern.sub(self._spoken, text)

    def touches(self, text: str) -> bool:
        """Whether any term occurs in ``text``."""
        pattern = self._pattern
        return pattern is not None and pattern.search(text) is not None


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise LexiconError(f"{where}: ignore_case must be true or false; got {value!r}")


def _entry(term: Any, value: Any, where: str) -> LexiconEntry:
    if isinstance(value, str):
        value = {"spoken": value}
    if not isinstance(term, str) or not isinstance(value, dict):
        raise LexiconError(f"{where}: each entry is a term and its spoken form")
    unknown = set(value) - {"spoken", "ignore_case"}
    if unknown:
        raise LexiconError(f"{where}: term {term!r} has unknown fields {sorted(unknown)}; only spoken, ignore_case")
    spoken = value.get("spoken")
    clean_term = _squeeze(normalize_text(term))
    if not clean_term:
        raise LexiconError(f"{where}: an empty term")
    if not isinstance(spoken, str) or not spoken.strip():
        raise LexiconError(f"{where}: term {term!r} has no spoken form")
    return LexiconEntry(clean_term, _squeeze(normalize_text(spoken)), _flag(value.get("ignore_case", False), where))


def _build(entries: list[Entry]) -> Lexicon:
    built = [_entry(*entry) for entry in entries]
    seen: set[tuple[str, bool]] = set()
    for entry in built:
        if (entry.key, entry.ignore_case) in seen:
            raise LexiconError(f"term {entry.term!r} is listed twice")
        seen.add((entry.key, entry.ignore_case))
    return Lexicon(tuple(built))


LEXICON_FILE: SideFileKind[Lexicon] = SideFileKind(
    LexiconError,
    MAX_LEXICON_FILE_BYTES,
    key="term",
    fields=("spoken", "ignore_case"),
    label="the lexicon",
    not_an_object='must be a JSON object of terms, e.g. {"Hermione": "Her-my-oh-nee"}',
    build=_build,
)
parse_lexicon_json = LEXICON_FILE.from_json  # {"term": "spoken"} or {"term": {"spoken": ..., "ignore_case": true}}
parse_lexicon_csv = LEXICON_FILE.from_csv  # the columns term, spoken and optionally ignore_case
read_lexicon = LEXICON_FILE.read  # the lexicon in a .json or .csv file; every problem is a LexiconError
