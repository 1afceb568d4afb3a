"""Scale-out as a user runs it: ``voxbatch tts|stt`` processes on Dask (a two-process cluster they start, or an
existing one given by address) sharing one provider limit through a Prefect global concurrency limit.

Every process talks to the session's Prefect server (``prefect_harness``); the test reads the provider's own
counters. The provider hears with the stand-in recognizer: these runs are about where the work runs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.audiobook import audiobook_flow
from tests.conftest import heard_by_fake
from tests.flows.commands import book, voxbatch
from voxbatch.run.spec import RunSpec
from voxbatch.server.runner import LocalServer

pytestmark = pytest.mark.slow

SPEECH = "/v1/audio/speech"
SHARED_RPM = 120.0  # 2 requests a second across all workers
SHARED_BURST = 4  # what the GCL allows back to back (two leases of two permits)
SHARED_LIMIT = "voxbatch-test-dask-shared"  # its own name: the GCL tests set up limits of their own


def test_two_dask_workers_make_the_same_book_and_share_the_limit(
    prefect_harness: str, make_server: Callable[..., LocalServer], tmp_path: Path
) -> None:
    manifest = book(tmp_path)
    single_server = make_server(api_key=None)  # the same book made without Dask, in this process: the reference
    single = asyncio.run(
        audiobook_flow(str(manifest), str(tmp_path / "single"), spec=RunSpec(base_url=single_server.origin))
    )
    assert {item.status for item in single.items.values()} == {"ok"}

    strict = make_server(api_key=None, requests_per_minute=SHARED_RPM, burst_requests=SHARED_BURST)
    args = ["tts", str(manifest), "--out", str(tmp_path / "dask"), "--base-url", strict.origin]
    args += ["--dask-workers", "2", "--rpm", str(SHARED_RPM), "--limit-name", SHARED_LIMIT]
    scaled = voxbatch(prefect_harness, *args)
    assert scaled.returncode == 0, scaled.stdout + scaled.stderr
    assert "task runs ran on 2 Dask worker processes" in scaled.stdout
    assert "Still processing items" not in scaled.stderr  # Prefect's drain chatter is not a user's business

    for name in ("book.mp3", "book.chapters.json", "book.srt"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "single" / name).read_bytes(), name

    # The provider's own counters: every request answered, none refused, and the pace held across workers.
    requests = strict.stats.requests(SPEECH)
    assert len(requests) == single_server.stats.count(SPEECH, 200) >= 6
    assert strict.stats.count(SPEECH, 429) == 0
    starts = sorted(r.at for r in requests)
    rate_per_s = SHARED_RPM / 60
    for i, first in enumerate(starts):
        for j in range(i, len(starts)):
            window = starts[j] - first
            assert j - i + 1 <= SHARED_BURST + rate_per_s * window + 1, (i, j, window)


def test_transcripts_run_on_an_existing_dask_cluster_given_its_address(
    prefect_harness: str, make_server: Callable[..., LocalServer], tmp_path: Path, jfk_flac: bytes
) -> None:
    from distributed import LocalCluster

    provider = make_server(api_key=None, recognizer="fake")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.flac").write_bytes(jfk_flac)
    (inbox / "b.flac").write_bytes(jfk_flac[:-1000] + bytes(1000))  # other bytes: paid for separately
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        result = voxbatch(
            prefect_harness,
            *("stt", str(inbox), "--out", str(tmp_path / "out"), "--base-url", provider.origin),
            *("--dask-address", cluster.scheduler_address),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "task runs ran on 1 Dask worker process (all the cluster had)" in result.stdout
    assert re.findall(r"[a-z']+", (tmp_path / "out" / "a.txt").read_text()) == heard_by_fake(jfk_flac)
    assert provider.stats.count("/v1/audio/transcriptions", 200) == 2
