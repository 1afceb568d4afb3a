"""Item ids: they name every output file of an item, so they are short, plain and safe as file names.

An id given in a manifest must match :data:`ID_PATTERN` (letters, digits, ``.``, ``_`` and ``-``, starting with
a letter, digit or ``_``: no hidden files, nothing a program could take for an option) and be at most
:data:`ID_MAX_CHARS` characters. The longest file name made from an id (the temporary name of
``<id>.chapters.json`` while it is written) adds about 30 characters, far inside the 255-byte limit of
common file systems. Ids derived from file names or URLs are made safe and shortened to the same limit.
"""

from __future__ import annotations

import hashlib
import re

ID_MAX_CHARS = 120
ID_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
FALLBACK_ID = "audio"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HASH_CHARS = 8
_MAX_SUFFIX_CHARS = 8  # ".flac", ".opus": kept when a long name is shortened


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be an id given in a manifest, or None when it can."""
    if not value:
        return "is empty; every row needs a unique id"
    if len(value) > ID_MAX_CHARS:
        return f"is {len(value)} characters long; ids may have at most {ID_MAX_CHARS} (they name the output files)"
    if not ID_PATTERN.match(value):
        return (
            "may only contain letters, digits, '.', '_' and '-', and must start with a letter, digit or '_' "
            "(it names the output files)"
        )
    return None


def shorten(name: str, max_chars: int = ID_MAX_CHARS) -> str:
    """``name`` itself when short enough, else its start, a hash of the whole, and its (short) suffix."""
    if len(name) <= max_chars:
        return name
    digest = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:_HASH_CHARS]
    stem, dot, suffix = name.rpartition(".")
    tail = f".{suffix}" if dot and stem and len(suffix) < _MAX_SUFFIX_CHARS else ""
    keep = max_chars - len(tail) - _HASH_CHARS - 1
    return f"{name[:keep] if not tail else stem[:keep]}-{digest}{tail}"


def safe_id(name: str) -> str:
    """A file-name-safe id: anything outside ``[A-Za-z0-9._-]`` becomes ``_``; no leading dots; not too long."""
    cleaned = _UNSAFE.sub("_", name).strip("._-") or FALLBACK_ID
    return shorten(cleaned)
