"""An EPUB through the command: the dry run lists its chapters; one tiny real run embeds its chapters and cover."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import REPO_ROOT
from voxbatch.server.runner import LocalServer

DEMO = REPO_ROOT / "manifests"
EPUB_CHAPTERS = [
    "CHAPTER I. Down the Rabbit-Hole",
    "CHAPTER II. The Pool of Tears",
    "CHAPTER III. A Caucus-Race and a Long Tale",
]


def test_the_demo_manifest_dry_run_lists_the_epubs_chapters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import voxbatch.server.runner as runner

    def no_server(*args: object, **kwargs: object) -> None:
        raise AssertionError("a dry run started the embedded audio server")

    monkeypatch.setattr(runner.LocalServer, "__enter__", no_server)
    argv = ["tts", str(DEMO / "audiobook-demo.csv"), "--out", str(tmp_path / "out"), "--dry-run"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = lines.index("alice-epub: 3 chapters (Alice's Adventures in Wonderland (the first 3 chapters' openings))")
    for number, (line, title) in enumerate(zip(lines[start + 1 : start + 4], EPUB_CHAPTERS, strict=True), 1):
        assert re.fullmatch(rf"\s+{number}  {re.escape(title)}\s+[\d,]+ chars\s+\$\d+\.\d{{4}}", line), line
    assert "Contents" not in result.output  # front matter is left out by default
    assert re.search(r"alice-epub\s+\d+\s+0\s+[\d,]+ chars", result.output)  # and priced by the dry run

    kept = CliRunner().invoke(app, [*argv, "--keep-front-matter"])
    assert kept.exit_code == 0, kept.output
    assert re.search(r"\n\s+-  Contents \(front matter\)\s+\d+ chars", kept.output)
    assert "alice-epub: 3 chapters" in kept.output  # front matter is not counted among the chapters


def test_chapters_chooses_what_is_read_and_priced(tmp_path: Path) -> None:
    """``--chapters`` (numbers, ranges or titles) prices only those chapters; a selection the book cannot meet is
    that row's error, and one that cannot be read is a usage error."""
    shutil.copy(DEMO / "texts" / "alice-three-chapters.epub", tmp_path / "alice.epub")
    (tmp_path / "books.csv").write_text("id,text_path\nalice,alice.epub\n")
    argv = ["tts", str(tmp_path / "books.csv"), "--out", str(tmp_path / "out"), "--dry-run"]

    def chunks(output: str) -> int:
        match = re.search(r"\nalice\s+(\d+)\s+0\s+([\d,]+) chars", output)
        assert match is not None, output
        return int(match.group(1))

    whole = CliRunner().invoke(app, argv)
    first = CliRunner().invoke(app, [*argv, "--chapters", "1"])
    titled = CliRunner().invoke(app, [*argv, "--chapters", "pool of tears; 3"])
    assert whole.exit_code == first.exit_code == titled.exit_code == 0, titled.output
    assert 0 < chunks(first.output) < chunks(titled.output) < chunks(whole.output)
    assert "alice: 3 chapters" in first.output  # the contents still list every chapter, to choose from
    assert "; reading 1 of them (marked *)" in first.output and re.search(r"\n\*  1  ", first.output)
    assert re.search(r"\n   1  ", titled.output) and re.search(r"\n\*  2  .*\n\*  3  ", titled.output)

    missing = CliRunner().invoke(app, [*argv, "--chapters", "4"])
    assert missing.exit_code == 1, missing.output
    assert "bad row: row 2 (id 'alice'), column 'chapters': chapter 4 is past the book's 3 chapters" in missing.output
    unreadable = CliRunner().invoke(app, [*argv, "--chapters", "3-1"])
    assert unreadable.exit_code == 2 and "'3-1' is not a chapter range" in unreadable.output


def test_an_epub_becomes_an_audiobook_with_its_chapters_and_cover(
    prefect_harness: str, tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None)
    shutil.copy(DEMO / "texts" / "alice-three-chapters.epub", tmp_path / "alice.epub")
    (tmp_path / "books.csv").write_text("id,text_path,format\nalice,alice.epub,m4b\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["tts", str(tmp_path / "books.csv"), "--out", str(out), "--base-url", server.origin]
    )
    assert result.exit_code == 0, result.output
    sidecar = json.loads((out / "alice.chapters.json").read_text())
    assert [c["title"] for c in sidecar] == EPUB_CHAPTERS
    assert (out / "alice.cover.png").read_bytes().startswith(b"\x89PNG")
    spoken = " ".join(json.dumps(c) for c in sidecar) + (out / "alice.srt").read_text()
    assert "Contents" not in spoken and "Alice was beginning" in spoken


def test_the_flow_parameter_keeps_front_matter(prefect_harness: str, tmp_path: Path) -> None:
    import asyncio

    from flows.audiobook import audiobook_flow

    shutil.copy(DEMO / "texts" / "alice-three-chapters.epub", tmp_path / "alice.epub")
    (tmp_path / "books.csv").write_text("id,text_path\nalice,alice.epub\n")
    chunks = {}
    for keep in (False, True):
        report = asyncio.run(
            audiobook_flow(str(tmp_path / "books.csv"), str(tmp_path / "out"), dry_run=True, keep_front_matter=keep)
        )
        assert report.estimate is not None
        chunks[keep] = report.estimate.items["alice"].chunks
    assert chunks[True] > chunks[False]  # the title page and the contents are read too
