"""Every case of the bad-input corpus, checked where it is caught: reading the manifest, or probing the file.

Each bad row must be a row error naming its row, column and reason, and the good rows of the same manifest
must load; whole-manifest problems raise ManifestError. The end-to-end run of the corpus through the CLI
and the local server is tests/flows/test_bad_inputs_end_to_end.py.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.voxbatch.manifest.bad_corpus import CASES, CORPUS, Case, find, load
from voxbatch.manifest.errors import ManifestError
from voxbatch.manifest.stt import AudioRow
from voxbatch.pipelines.transcript.prepare import PrepareOptions, prepare_file

MIN_CASES = 40


def _cases(*layers: str) -> Any:
    return pytest.mark.parametrize("case", [c for c in CASES if c.layer in layers], ids=lambda c: c.test_id)


def test_the_corpus_has_enough_cases_for_both_flows() -> None:
    assert len(CASES) >= MIN_CASES
    assert {c.flow for c in CASES} == {"tts", "stt"}
    assert all((CORPUS / c.manifest).exists() or (CORPUS / c.manifest).is_symlink() for c in CASES)


@_cases("row", "folder")
def test_a_bad_row_is_a_one_line_error_naming_row_column_and_reason(case: Case) -> None:
    rows, errors = load(case.flow, CORPUS / case.manifest)
    error = find(errors, case)
    text = str(error)
    assert error.column == case.column and case.expect in error.reason, text
    where = f"row {case.row}" if case.row is not None else "file "
    assert text.startswith(where) and f"column '{case.column}': " in text
    assert "\n" not in text and len(text) < 400
    if case.row is not None:
        assert all(getattr(r, "row", None) != case.row for r in rows)


def _by_manifest(layers: tuple[str, ...]) -> dict[str, list[Case]]:
    grouped: dict[str, list[Case]] = defaultdict(list)
    for case in CASES:
        if case.layer in layers:
            grouped[case.manifest].append(case)
    return grouped


@pytest.mark.parametrize("manifest", sorted(_by_manifest(("row", "probe", "folder"))))
def test_the_good_rows_of_a_manifest_load_and_every_error_is_a_listed_case(manifest: str) -> None:
    cases = _by_manifest(("row", "probe", "folder"))[manifest]
    flow = cases[0].flow
    rows, errors = load(flow, CORPUS / manifest)
    listed = {c.row for c in cases if c.layer == "row"}
    assert {e.row for e in errors if e.row is not None} == listed
    assert len(errors) == len([c for c in cases if c.layer in ("row", "folder")])
    probed = {c.row for c in cases if c.layer == "probe"}
    loaded = {getattr(r, "id") for r in rows if getattr(r, "row", None) not in probed}
    assert loaded and all(i.startswith("good") for i in loaded), loaded


@_cases("probe")
def test_a_file_that_is_not_audio_is_a_row_error_when_probed(case: Case, tmp_path: Path) -> None:
    rows, _ = load(case.flow, CORPUS / case.manifest)
    (row,) = [r for r in rows if isinstance(r, AudioRow) and r.row == case.row]
    options = PrepareOptions("endpoint", tmp_path / "downloads", tmp_path / "out", ("txt",))
    prepared = prepare_file(row, options)
    assert prepared.error is not None and prepared.plan is None
    assert prepared.error.column == case.column and case.expect in prepared.error.reason
    assert str(prepared.error).startswith(f"row {case.row} (id {row.id!r}), column '{case.column}': ")


@_cases("whole")
def test_a_manifest_that_cannot_be_read_at_all_is_one_error(case: Case) -> None:
    with pytest.raises(ManifestError, match=re.escape(case.expect)) as raised:
        load(case.flow, CORPUS / case.manifest)
    assert "\n" not in str(raised.value)


@_cases("empty")
def test_a_header_only_manifest_has_nothing_to_do(case: Case) -> None:
    assert load(case.flow, CORPUS / case.manifest) == ([], [])


def test_allow_path_lets_a_row_into_the_allowed_folder_only() -> None:
    rows, errors = load("tts", CORPUS / "tts" / "books.csv", allowed=(str(CORPUS / "shared"),))
    assert "allowed" in {getattr(r, "id") for r in rows}
    refused = {e.row for e in errors if "outside the manifest's folder" in e.reason}
    assert refused == {5, 6, 7, 29}  # /etc/passwd, ../../secret.txt, the symlink, the cover in /etc
