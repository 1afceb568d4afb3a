"""The kernel checks every row against the provider's catalog before anything is planned or paid: in the dry run
(the embedded server's own catalog, no server started) and in the run (the server's lists, asked once, then kept)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from voxbatch.manifest.tts import BookDefaults, load_tts_manifest
from voxbatch.pipelines.audiobook.pipeline import AudiobookPipeline
from voxbatch.run.kernel import Kernel
from voxbatch.run.spec import RunSpec
from voxbatch.server.runner import LocalServer

SPEECH = "/v1/audio/speech"
MANIFEST = """id,text,model,voice,sample_rate
good,"A short sentence.",,,
nobody,"Another sentence.",,nobody,
fast,"A third sentence.",hexgrad/Kokoro-82M,af_heart,44100
turbo,"A fourth sentence.",openai/whisper-large-v3-turbo,,
"""


def _rows(tmp_path: Path) -> list[object]:
    (tmp_path / "books.csv").write_text(MANIFEST)
    rows, errors = load_tts_manifest(tmp_path / "books.csv", BookDefaults())
    assert not errors
    return list(rows)


EXPECTED_ERRORS = [
    "row 3 (id 'nobody'), column 'voice': 'nobody' is not a voice of hexgrad/Kokoro-82M; choose one of: "
    "af_heart, af_alloy, af_aoede, af_bella, af_jessica, af_kore, af_nicole, af_nova, af_river, af_sarah "
    "… (44 more)",
    "row 4 (id 'fast'), column 'sample_rate': 44100 Hz is not a rate hexgrad/Kokoro-82M answers at; "
    "choose one of: 24000",
    "row 5 (id 'turbo'), column 'model': 'openai/whisper-large-v3-turbo' is not a text-to-speech model",
]


def _check_errors(errors: list[str]) -> None:
    assert errors[:2] == EXPECTED_ERRORS[:2]
    assert errors[2].startswith(EXPECTED_ERRORS[2]) and "choose one of: canopylabs/orpheus-3b-0.1-ft" in errors[2]
    assert len(errors) == 3


def test_the_dry_run_checks_rows_against_the_embedded_catalog_without_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_server(*args: object) -> None:
        raise AssertionError("a dry run started the embedded audio server")

    monkeypatch.setattr(LocalServer, "__enter__", no_server)
    out = tmp_path / "out"
    report = asyncio.run(Kernel(AudiobookPipeline(out), RunSpec(), out).dry_run(_rows(tmp_path), ["an earlier one"]))
    assert report.row_errors[0] == "an earlier one"
    _check_errors(report.row_errors[1:])
    assert report.estimate is not None and list(report.estimate.items) == ["good"]  # only the good row is priced


def test_a_run_pays_nothing_for_a_bad_row_and_asks_the_catalog_once(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None)
    out = tmp_path / "out"
    kernel = Kernel(AudiobookPipeline(out), RunSpec(base_url=server.origin), out)
    report = asyncio.run(kernel.run(_rows(tmp_path), []))
    _check_errors([e.replace(server.origin + "/v1", "the server") for e in report.row_errors])
    assert list(report.items) == ["good"] and report.items["good"].status == "ok"
    good_text = {r.input_sha256 for r in server.stats.requests(SPEECH)}
    assert len(good_text) == 1  # the good row's one chunk; nothing was sent for the others
    assert server.stats.count("/v1/voices") == server.stats.count("/v1/models") == 1

    again = asyncio.run(kernel.run(_rows(tmp_path), []))  # the catalog is kept: not asked again
    assert again.items["good"].status == "skipped" and len(again.row_errors) == 3
    assert server.stats.count("/v1/voices") == server.stats.count("/v1/models") == 1


def test_a_failed_one_chunk_book_says_chunk_in_the_singular(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    from voxbatch.server.faults import FaultSpec

    server = make_server(api_key=None, faults=FaultSpec(p500=1.0))
    out = tmp_path / "out"
    (tmp_path / "one.csv").write_text('id,text\nshort,"One sentence."\n')
    rows, _ = load_tts_manifest(tmp_path / "one.csv", BookDefaults())
    kernel = Kernel(AudiobookPipeline(out), RunSpec(base_url=server.origin, max_attempts=1), out)
    report = asyncio.run(kernel.run(list(rows), []))
    error = report.items["short"].error
    assert report.items["short"].status == "failed" and error is not None
    assert error.startswith("1 of 1 chunk failed; first: chunk 0: "), error
