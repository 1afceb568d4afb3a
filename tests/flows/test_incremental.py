"""Incremental runs: only changed chunks are paid for again, and the API key may live in a Prefect Secret."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prefect.blocks.system import Secret

from flows.audiobook import audiobook_flow
from tests.conftest import TEST_API_KEY
from voxbatch.ledger.writer import read_ledger
from voxbatch.manifest.tts import load_tts_manifest
from voxbatch.pipelines.audiobook.plan import plan_book
from voxbatch.run.report import RunReport
from voxbatch.run.spec import RunSpec
from voxbatch.server.runner import LocalServer

SPEECH = "/v1/audio/speech"
CHAPTER = """CHAPTER {n}.
The {name} Part

{body}
"""
BODIES = {
    "I": "The first chapter opens the story. It has a few sentences of its own. Nothing much happens yet.",
    "II": "The second chapter goes on. A door opens somewhere in the house. Somebody walks down the hall slowly.",
    "III": "The third chapter ends it. Everyone sits down to supper at last. The lamps are put out one by one.",
}


def _write_book(folder: Path, bodies: dict[str, str]) -> Path:
    text = "\n".join(CHAPTER.format(n=n, name=n, body=(body + " ") * 3) for n, body in bodies.items())
    (folder / "book.txt").write_text(text, encoding="utf-8")
    manifest = folder / "m.csv"
    manifest.write_text("id,text_path\nbook,book.txt\n", encoding="utf-8")
    return manifest


def _run(manifest: Path, out: Path, **settings: Any) -> RunReport:
    return asyncio.run(audiobook_flow(str(manifest), str(out), spec=RunSpec(**settings)))


@pytest.fixture
def plain_server(make_server: Callable[..., LocalServer]) -> LocalServer:
    return make_server(api_key=None)


def test_an_edited_chapter_resynthesizes_only_its_changed_chunks(
    prefect_harness: str, plain_server: LocalServer, tmp_path: Path
) -> None:
    manifest, out = _write_book(tmp_path, BODIES), tmp_path / "out"
    first = _run(manifest, out, base_url=plain_server.origin)
    assert first.items["book"].status == "ok"
    before = {job.key for job in plan_book(load_tts_manifest(manifest)[0][0], plain_server.origin + "/v1").jobs}

    edited = dict(BODIES, II=BODIES["II"].replace("walks down the hall slowly", "runs up the stairs quickly"))
    _write_book(tmp_path, edited)
    after_plan = plan_book(load_tts_manifest(manifest)[0][0], plain_server.origin + "/v1")
    changed = [job for job in after_plan.jobs if job.key not in before]
    assert 0 < len(changed) < len(after_plan.jobs)
    assert {job.chunk.chapter_index for job in changed} == {1}  # only chapter II's chunks differ

    plain_server.stats.reset()
    second = _run(manifest, out, base_url=plain_server.origin)
    assert second.items["book"].status == "ok"
    assert plain_server.stats.count(SPEECH) == len(changed)  # nothing else is paid for again
    assert second.items["book"].from_cache == len(after_plan.jobs) - len(changed)

    plain_server.stats.reset()
    third = _run(manifest, out, base_url=plain_server.origin)
    assert third.items["book"].status == "skipped" and plain_server.stats.count() == 0


def test_the_api_key_can_come_from_a_prefect_secret_block_and_never_shows(
    prefect_harness: str,
    make_server: Callable[..., LocalServer],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keyed = make_server()  # answers 401 without TEST_API_KEY
    Secret(value=TEST_API_KEY).save("voxbatch-test-key", overwrite=True)
    manifest, out = _write_book(tmp_path, {"I": BODIES["I"]}), tmp_path / "out"
    with caplog.at_level(logging.DEBUG):
        report = _run(manifest, out, base_url=keyed.origin, api_key_secret="voxbatch-test-key")
    assert report.items["book"].status == "ok" and keyed.stats.count(SPEECH, 200) > 0
    assert keyed.stats.count(status=401) == 0
    ledger = read_ledger(out / "ledger")
    assert TEST_API_KEY not in ledger.to_csv() and TEST_API_KEY not in repr(report)
    assert TEST_API_KEY not in caplog.text

    wrong = _run(manifest, tmp_path / "out2", base_url=keyed.origin)  # no key at all: refused, and says why
    assert wrong.items["book"].status == "failed" and "401" in wrong.items["book"].error
