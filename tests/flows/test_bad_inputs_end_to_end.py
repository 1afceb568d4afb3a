"""The bad-input corpus end to end: ``voxbatch tts`` and ``voxbatch stt`` on its two big manifests, for real.

One run per flow (CLI, Prefect, the local server over real sockets): every bad row is reported as a line
naming its row, column and reason, the good rows complete, nothing of a refused file reaches the server or
the outputs, and nothing is written outside the output folder. The symlinks of the corpus are pointed at
real files outside the sandbox, so following one would be seen. Cheap, per-case checks of the same corpus
are in tests/voxbatch/manifest/test_bad_inputs.py; manifest and option errors of the command are below.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.cli_checks import EXIT_USAGE
from flows.run_command import EXIT_FAILED
from tests.voxbatch.manifest.bad_corpus import CASES, CORPUS, Case
from voxbatch.server.runner import LocalServer

SECRET = "TOP-SECRET-MARKER"
SPEECH_PATHS = ("/v1/audio/speech",)
STT_PATHS = ("/v1/audio/transcriptions", "/v1/audio/translations")


def _snapshot(root: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    """Every file and link under ``root`` (outside ``skip``): its size and modification time."""
    seen = {}
    for path in sorted(root.rglob("*")):
        if any(path == s or s in path.parents for s in skip):
            continue
        info = path.lstat()
        seen[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return seen


@pytest.fixture
def sandbox(tmp_path: Path, jfk_flac: bytes) -> Path:
    """A copy of the corpus whose escapes all lead to real, recognisable files."""
    shutil.copytree(CORPUS, tmp_path / "sandbox" / "bad", symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "book.txt").write_text(f"{SECRET} a private book that must never be read.\n")
    (outside / "speech.flac").write_bytes(jfk_flac)
    (tmp_path / "sandbox" / "secret.txt").write_text(f"{SECRET} reached by ../../secret.txt\n")
    bad = tmp_path / "sandbox" / "bad"
    for link, target in (
        (bad / "tts" / "link-outside.txt", outside / "book.txt"),
        (bad / "stt" / "audio" / "link-outside.flac", outside / "speech.flac"),
        (bad / "stt" / "folder" / "link-outside.flac", outside / "speech.flac"),
    ):
        link.unlink()
        link.symlink_to(target)
    return bad


def _expect_each_case(output: str, cases: list[Case]) -> None:
    lines = output.splitlines()
    for case in cases:
        hits = [
            line
            for line in lines
            if re.search(rf"\brow {case.row}\b", line) and f"column '{case.column}': " in line and case.expect in line
        ]
        assert hits, f"{case.test_id}: no line names row {case.row}, column {case.column!r} and {case.expect!r}"


def _no_secret_in(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_tts_runs_the_good_rows_of_the_bad_manifest_and_names_every_bad_one(
    prefect_harness: str, make_server: Callable[..., LocalServer], sandbox: Path, tmp_path: Path
) -> None:
    server = make_server(api_key=None)
    out = tmp_path / "out"
    before = _snapshot(tmp_path, skip=(out,))
    argv = ["tts", str(sandbox / "tts" / "books.csv"), "--out", str(out), "--base-url", server.origin]
    result = CliRunner().invoke(app, [*argv, "--allow-path", str(sandbox / "shared")])
    assert result.exit_code == EXIT_FAILED, result.output
    cases = [c for c in CASES if c.manifest == "tts/books.csv" and c.layer == "row" and c.row != 34]
    _expect_each_case(result.output, cases)
    good = ("good-inline", "good-multiline", "good-file", "good-last", "allowed")  # allowed: --allow-path
    for item in good:
        assert f"ok {item}: " in result.output and (out / f"{item}.mp3").is_file(), result.output
    assert "swallowed" not in {p.stem for p in out.glob("*.mp3")}
    assert sorted(p.name for p in out.glob("*.mp3")) == sorted(f"{i}.mp3" for i in good)
    assert server.stats.count(SPEECH_PATHS[0], 200) == len(good)  # one short chunk per good book, nothing else
    _no_secret_in(out)
    assert _snapshot(tmp_path, skip=(out,)) == before


def test_stt_runs_the_good_rows_of_the_bad_manifest_and_names_every_bad_one(
    prefect_harness: str, make_server: Callable[..., LocalServer], sandbox: Path, tmp_path: Path
) -> None:
    server = make_server(api_key=None, recognizer="fake")
    out = tmp_path / "out"
    before = _snapshot(tmp_path, skip=(out,))
    argv = ["stt", str(sandbox / "stt" / "recordings.csv"), "--out", str(out), "--base-url", server.origin]
    result = CliRunner().invoke(app, [*argv, "--format", "txt,json"])
    assert result.exit_code == EXIT_FAILED, result.output
    cases = [c for c in CASES if c.manifest == "stt/recordings.csv" and c.layer in ("row", "probe")]
    _expect_each_case(result.output, cases)
    for item in ("good", "good-translate"):
        assert f"ok {item}: " in result.output and (out / f"{item}.txt").is_file(), result.output
    assert sorted(p.name for p in out.glob("*.txt")) == ["good-translate.txt", "good.txt"]
    assert sum(server.stats.count(path) for path in STT_PATHS) == 2  # the two good rows; no refused file was sent
    assert _snapshot(tmp_path, skip=(out,)) == before


@pytest.mark.parametrize("case", [c for c in CASES if c.layer in ("whole", "empty")], ids=lambda c: c.test_id)
def test_a_manifest_the_command_cannot_use_is_one_line_and_no_run(case: Case, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [case.flow, str(CORPUS / case.manifest), "--out", str(tmp_path / "out")])
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and case.expect in lines[0], result.output
    if case.layer == "whole":
        assert result.exit_code == EXIT_USAGE and lines[0].startswith("error: ")
    else:
        assert result.exit_code == 0 and lines[0].startswith("warning: ")
    assert not (tmp_path / "out").exists()


def test_an_stt_folder_with_a_symlink_out_is_refused_before_the_run(tmp_path: Path) -> None:
    from voxbatch.manifest.stt import load_stt_folder

    rows, errors = load_stt_folder(CORPUS / "stt" / "folder")
    assert [r.id for r in rows] == ["good"]
    assert [e.item_id for e in errors] == ["link-outside"] and "outside the input folder" in errors[0].reason


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--rpm", "-1"], "--rpm must be a number greater than 0; got -1"),
        (["--rpm", "nan"], "--rpm must be a number greater than 0"),
        (["--max-cost-usd", "-5"], "--max-cost-usd must be 0 or more; got -5"),
        (["--max-in-flight", "0"], "--max-in-flight must be at least 1; got 0"),
        (["--chars-per-minute", "0"], "--chars-per-minute must be a number greater than 0"),
        (["--dask-workers", "0"], "--dask-workers must be at least 1"),
        (["--allow-path", "/no/such/folder"], "--allow-path /no/such/folder is not a folder"),
    ],
)
def test_tts_option_errors_are_one_line_and_exit_2(args: list[str], expect: str, tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,text\nbook,Hello.\n")
    result = CliRunner().invoke(app, ["tts", str(manifest), "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == EXIT_USAGE and result.output.startswith(f"error: {expect}"), result.output
    assert result.output.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--audio-s-per-minute", "-1"], "--audio-s-per-minute must be a number greater than 0"),
        (["--chunk-s", "0"], "--chunk-s must be a number greater than 0"),
        (["--split-above-s", "-3"], "--split-above-s must be a number greater than 0"),
        (["--max-upload-mb", "0"], "--max-upload-mb must be a number greater than 0"),
        (["--language", "english"], "--language: 'english' is not a language openai/whisper-large-v3 knows"),
        (["--language", "en-GB"], "give the language code alone ('en')"),
        (["--model", "nvidia/parakeet-tdt-0.6b-v3", "--language", "ja"], "'ja' is not a language nvidia/parakeet"),
    ],
)
def test_stt_option_errors_are_one_line_and_exit_2(args: list[str], expect: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["stt", str(tmp_path), "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == EXIT_USAGE and expect in result.output, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")


@pytest.mark.parametrize(
    ("make", "expect"),
    [
        (lambda p: p / "missing.csv", "does not exist"),
        (lambda p: p, "is a folder; give a .csv or .parquet file"),
    ],
    ids=["missing", "folder"],
)
def test_a_missing_or_folder_tts_manifest_is_one_line(
    make: Callable[[Path], Path], expect: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(app, ["tts", str(make(tmp_path)), "--out", str(tmp_path / "out")])
    assert result.exit_code == EXIT_USAGE and expect in result.output and result.output.count("\n") == 1


def test_a_missing_stt_source_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["stt", str(tmp_path / "nothing.csv")])
    assert result.exit_code == EXIT_USAGE and "does not exist" in result.output and result.output.count("\n") == 1


def test_the_corpus_readme_lists_every_case() -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(c.name in readme for c in CASES)
