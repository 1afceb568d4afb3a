"""Atomic writes on real files: whole or nothing, no temp files left, and the usual permissions under any umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.voxbatch.ledger.record_factory import make_record
from voxbatch.atomic import create_temp_beside, write_bytes_atomic, write_text_atomic
from voxbatch.cache import ChunkCache, JsonCache
from voxbatch.ledger.writer import LedgerWriter


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """The process umask set to ``mask`` for the block, then restored (tests run one at a time)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_0666_less_the_umask(tmp_path: Path, mask: int, expected: int) -> None:
    with umask(mask):
        written = [
            write_text_atomic(tmp_path / "a.txt", "hello\n"),
            write_bytes_atomic(tmp_path / "sub" / "b.bin", b"\x00\x01"),
            ChunkCache(tmp_path / "cache")
            .put("ab" * 32, b"\x00" * 4, sample_rate_hz=8000, encoding="pcm_s16le", duration_s=0.00025)
            .pcm_path,
            JsonCache(tmp_path / "json").put("cd" * 32, {"text": "hi"}),
        ]
        with LedgerWriter(tmp_path / "ledger", "run-perm") as ledger:
            ledger.append(make_record(run_id="run-perm", started_at=datetime.now(UTC)))
        written += sorted((tmp_path / "ledger").rglob("*.parquet"))
    assert len(written) == 5
    assert {p: mode(p) for p in written} == dict.fromkeys(written, expected)
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temp files left


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "out.txt", "old")

    with pytest.raises(TypeError):
        write_bytes_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_temp_files_are_hidden_beside_the_target_and_unique(tmp_path: Path) -> None:
    target = tmp_path / "book.mp3"
    made = [create_temp_beside(target, ".part") for _ in range(20)]
    try:
        names = {p.name for _, p in made}
        assert len(names) == 20
        assert all(n.startswith(".book.mp3.") and n.endswith(".part") for n in names)
        assert all(p.parent == tmp_path for _, p in made)
    finally:
        for fd, _ in made:
            os.close(fd)
