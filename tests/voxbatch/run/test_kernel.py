"""The kernel checks every row against the provider's catalog before anything is planned or paid: in the dry run
(the embedded server's own catalog, no server started) and in the run (the server's lists, asked once, then kept).
A run whose every item is finished is known, and recorded, without opening anything."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from voxbatch.ledger.writer import read_ledger
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


ITEM_COLUMNS = ["flow", "provider", "endpoint", "item_id", "model", "voice", "status", "kind", "audio_seconds"]
ITEM_COLUMNS += ["chunks", "cost_usd", "attempts"]


def test_a_run_with_every_item_finished_is_known_and_recorded_without_opening_anything(
    tmp_path: Path, make_server: Callable[..., LocalServer]
) -> None:
    server = make_server(api_key=None)
    out = tmp_path / "out"
    manifest = tmp_path / "books.csv"
    manifest.write_text('id,text\nfirst,"One short sentence."\nsecond,"Another short sentence."\n')

    def rows() -> list[object]:
        return list(load_tts_manifest(manifest, BookDefaults())[0])

    kernel = Kernel(AudiobookPipeline(out), RunSpec(base_url=server.origin), out)
    assert asyncio.run(kernel.finished_run(rows(), [])) is None  # nothing built yet
    asyncio.run(kernel.run(rows(), []))
    rerun = asyncio.run(kernel.run(rows(), []))  # what a run records when every book is built
    asked = server.stats.count()

    done = asyncio.run(kernel.finished_run(rows(), []))
    assert done is not None and done.statuses() == {"first": "skipped", "second": "skipped"}
    assert server.stats.count() == asked  # nothing was asked, not even the catalog (its copy is on disk)
    assert done.items["first"].path == rerun.items["first"].path and done.ledger == rerun.ledger
    ledger = read_ledger(Path(str(done.ledger)))
    recorded = ledger[ledger.run_id == done.run_id][ITEM_COLUMNS].sort_values("item_id").reset_index(drop=True)
    expected = ledger[(ledger.run_id == rerun.run_id) & (ledger.kind == "item")][ITEM_COLUMNS]
    expected = expected.sort_values("item_id").reset_index(drop=True)  # a run records items as they finish
    assert recorded.equals(expected) and list(recorded.status) == ["skipped", "skipped"]

    assert asyncio.run(kernel.finished_run(rows(), ["row 4: bad"])) is None  # a row error: the run reports it
    (out / ".voxbatch-cache" / "catalogs").rename(tmp_path / "kept-catalogs")
    assert asyncio.run(kernel.finished_run(rows(), [])) is None  # the run would ask the catalog, and may refuse
    (tmp_path / "kept-catalogs").rename(out / ".voxbatch-cache" / "catalogs")
    manifest.write_text('id,text\nfirst,"One short sentence."\nsecond,"Another short sentence, edited."\n')
    assert asyncio.run(kernel.finished_run(rows(), [])) is None  # an edited book has work
    assert server.stats.count() == asked and len(read_ledger(out / "ledger")) == len(ledger)  # nothing more written
