"""Manifest paths stay inside the manifest's folder unless a folder is allowed explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.manifest.paths import PathPolicy, PathRefused


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "books" / "texts").mkdir(parents=True)
    (tmp_path / "books" / "texts" / "a.txt").write_text("inside")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "b.txt").write_text("shared")
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "books" / "out.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "books" / "in.txt").symlink_to("texts/a.txt")
    (tmp_path / "books" / "loop").symlink_to("loop")
    return tmp_path


def test_inside_paths_resolve_and_symlinks_that_stay_inside_are_fine(tree: Path) -> None:
    policy = PathPolicy.for_folder(tree / "books")
    assert policy.resolve("texts/a.txt") == (tree / "books" / "texts" / "a.txt").resolve()
    assert policy.resolve("in.txt") == (tree / "books" / "texts" / "a.txt").resolve()
    assert policy.resolve("texts/../texts/a.txt").name == "a.txt"
    assert policy.resolve(str(tree / "books" / "texts" / "a.txt")).name == "a.txt"  # absolute but inside


@pytest.mark.parametrize(
    "value", ["../secret.txt", "out.txt", "/etc/passwd", "texts/../../secret.txt", "../shared/b.txt"]
)
def test_anything_that_resolves_outside_is_refused_with_the_fix(tree: Path, value: str) -> None:
    with pytest.raises(PathRefused, match=r"outside the manifest's folder .*; pass --allow-path DIR to allow it"):
        PathPolicy.for_folder(tree / "books").resolve(value)


def test_an_allowed_folder_lets_its_files_in_and_nothing_else(tree: Path) -> None:
    policy = PathPolicy.for_folder(tree / "books", [tree / "shared"])
    assert policy.resolve("../shared/b.txt").name == "b.txt"
    with pytest.raises(PathRefused):
        policy.resolve("../secret.txt")
    with pytest.raises(PathRefused):
        policy.resolve("../shared/../secret.txt")


def test_a_nul_character_or_a_symlink_loop_is_refused_not_raised(tree: Path) -> None:
    policy = PathPolicy.for_folder(tree / "books")
    with pytest.raises(PathRefused, match="NUL"):
        policy.resolve("texts/a.txt\x00.png")
    try:  # Python 3.11 resolves a loop to the link itself (inside); either way nothing escapes
        policy.resolve("loop")
    except PathRefused as exc:
        assert "cannot be resolved" in str(exc)


def test_a_missing_file_outside_is_reported_as_outside_not_as_missing(tree: Path) -> None:
    with pytest.raises(PathRefused, match="outside") as raised:
        PathPolicy.for_folder(tree / "books").resolve("../nothing-here.txt")
    assert "exist" not in str(raised.value)
