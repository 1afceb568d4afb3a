"""Where a run's catalog comes from: the embedded server's own (nothing asked), a copy on disk younger than a day,
or the server's two lists (once, then kept); and a catalog that cannot be had is a warning, never a stop."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from voxbatch.client.fake_transport import FakeTransport, Received, Reply, error_reply, plausible_reply
from voxbatch.run.catalog import EMBEDDED_SOURCE, Catalog
from voxbatch.run.catalog_source import CATALOG_MAX_AGE_S, CatalogStore, load_catalog
from voxbatch.run.shutdown import RunStop, activate, current_stop
from voxbatch.run.spec import RunSpec

URL = "http://speech.example.test/v1"
REMOTE = RunSpec(base_url=URL)
NOW = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def _load(
    spec: RunSpec, root: Path, fake: FakeTransport, *, ask: bool = True, clock: Clock | None = None
) -> tuple[Catalog | None, list[str]]:
    warnings: list[str] = []
    catalog = asyncio.run(
        load_catalog(spec, root, ask=ask, warn=warnings.append, clock=clock or Clock(), transport=fake)
    )
    return catalog, warnings


def test_the_embedded_default_reads_its_own_catalog_and_asks_nothing(tmp_path: Path) -> None:
    fake = FakeTransport()
    catalog, warnings = _load(RunSpec(), tmp_path, fake)
    assert catalog is not None and catalog.source == EMBEDDED_SOURCE and catalog.tts and catalog.stt
    assert fake.received == [] and warnings == [] and not (tmp_path / "catalogs").exists()


def test_a_server_is_asked_once_and_its_catalog_kept_for_a_day(tmp_path: Path) -> None:
    fake, clock = FakeTransport(), Clock()
    catalog, warnings = _load(REMOTE, tmp_path, fake, clock=clock)
    assert warnings == [] and catalog is not None and catalog.source == URL
    assert [r.kind for r in sorted(fake.received, key=lambda r: r.kind)] == ["models", "voices"]
    assert catalog.tts is not None and "af_heart" in catalog.tts["hexgrad/Kokoro-82M"].voices
    assert catalog.stt == ("openai/whisper-large-v3",)
    (kept,) = (tmp_path / "catalogs").glob("*.json")
    assert json.loads(kept.read_text())["base_url"] == URL

    clock.now += CATALOG_MAX_AGE_S - 1  # still fresh: the copy, nothing asked (a dry run may use it too)
    again, _ = _load(REMOTE, tmp_path, fake, clock=clock)
    dry, _ = _load(REMOTE, tmp_path, fake, ask=False, clock=clock)
    assert again is not None and dry is not None and again.to_json() == dry.to_json() == catalog.to_json()
    assert len(fake.received) == 2

    clock.now += 1  # a day old: asked again
    _load(REMOTE, tmp_path, fake, clock=clock)
    assert len(fake.received) == 4


def test_a_dry_run_without_a_copy_asks_nothing_and_says_the_rows_go_unchecked(tmp_path: Path) -> None:
    fake = FakeTransport()
    catalog, warnings = _load(REMOTE, tmp_path, fake, ask=False)
    assert catalog is None and fake.received == []
    assert warnings == [f"models and voices are not checked: no copy of {URL}'s catalog yet (the first run fetches it)"]


def test_an_unreadable_catalog_is_a_warning_and_nothing_is_kept(tmp_path: Path) -> None:
    fake = FakeTransport(respond=lambda received: error_reply(404, "no such endpoint"))
    catalog, warnings = _load(REMOTE, tmp_path, fake)
    assert catalog is None and not (tmp_path / "catalogs").exists()
    (warning,) = warnings
    assert warning.startswith(f"models and voices are not checked: could not read {URL}'s catalog (")
    assert "404" in warning and "\n" not in warning


def test_a_server_without_one_of_the_lists_leaves_only_that_part_unknown(tmp_path: Path) -> None:
    def no_model_list(received: Received) -> Reply:
        return error_reply(404, "no such endpoint") if received.kind == "models" else plausible_reply(received)

    catalog, warnings = _load(REMOTE, tmp_path, FakeTransport(respond=no_model_list))
    assert warnings == [] and catalog is not None and catalog.tts and catalog.stt is None


def test_no_check_means_no_catalog(tmp_path: Path) -> None:
    fake = FakeTransport()
    for spec in (RunSpec(check_catalog=False), RunSpec(base_url=URL, check_catalog=False)):
        assert _load(spec, tmp_path, fake) == (None, [])
    assert fake.received == []


def test_a_copy_that_is_not_ours_or_from_the_future_is_not_used(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path, Clock())
    store.folder.mkdir()
    store.path(URL).write_text("not json")
    assert store.load(URL) is None
    store.save(URL, Catalog(URL))
    assert store.load(URL) is not None and store.load("http://other.test/v1") is None
    store.clock = lambda: NOW - 60  # the clock went back: the copy's age is unknown
    assert store.load(URL) is None


def test_a_stop_cuts_the_catalogs_calls_off_like_any_call(tmp_path: Path) -> None:
    before = current_stop()
    stop = activate(RunStop(grace_s=0.0))
    try:
        hanging = FakeTransport(respond=lambda received: Reply(fault="hang"), on_request=lambda got: stop.request())
        catalog, warnings = _load(REMOTE, tmp_path, hanging)
        assert catalog is None and len(hanging.received) >= 1
        (warning,) = warnings
        assert "could not read" in warning and "RunStopped" in warning
        asked = len(hanging.received)
        assert _load(REMOTE, tmp_path, hanging) == (None, []) and len(hanging.received) == asked  # stopping: not asked
    finally:
        activate(before)
