"""Counts with their nouns: singular for exactly one, plural otherwise (zero included)."""

from __future__ import annotations

import pytest

from voxbatch.plural import counted


@pytest.mark.parametrize(
    ("count", "noun", "plural", "said"),
    [
        (1, "chunk", None, "1 chunk"),
        (2, "chunk", None, "2 chunks"),
        (0, "item", None, "0 items"),
        (1, "Dask worker process", "Dask worker processes", "1 Dask worker process"),
        (4, "Dask worker process", "Dask worker processes", "4 Dask worker processes"),
    ],
)
def test_counted(count: int, noun: str, plural: str | None, said: str) -> None:
    assert counted(count, noun, plural) == said
