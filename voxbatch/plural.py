"""A count with its noun, as the summaries a user reads say it: "1 chunk", "2 chunks", "0 items"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, plural unless the count is exactly one (``plural`` for irregular nouns).

    >>> counted(1, "request"), counted(3, "request"), counted(0, "process", "processes")
    ('1 request', '3 requests', '0 processes')
    """
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
