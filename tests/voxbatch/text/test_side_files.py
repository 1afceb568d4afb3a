"""Side files (casts, lexicons): JSON or CSV, UTF-8, bounded; each problem is one line in the caller's error type."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.text.side_files import read_side_file


class Problem(ValueError):
    pass


def test_a_side_file_is_read_with_its_suffix(tmp_path: Path) -> None:
    (tmp_path / "cast.CSV").write_bytes("\ufeffspeaker,voice\n".encode())
    assert read_side_file(tmp_path / "cast.CSV", Problem, 100) == ("speaker,voice\n", ".csv")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("cast.txt", b"x", "must be a .json or .csv file; got cast.txt"),
        ("missing.json", None, "does not exist"),
        ("big.json", b"x" * 101, "file big.json is larger than 100 bytes"),
        ("latin.csv", "caf\u00e9".encode("latin-1"), "file latin.csv is not UTF-8 text"),
    ],
)
def test_every_problem_is_one_line_naming_the_file(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(Problem, match=reason):
        read_side_file(tmp_path / name, Problem, 100)
