"""Waiting for a Prefect API server: polls are cheap (one client per wait, not one per poll)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import voxbatch.run.prefect_server as prefect_server
from voxbatch.run.prefect_server import EmbeddedServer, PrefectServerError


class _Counting:
    """Clients handed to the waits: each answers 503 ``unhealthy`` times, then 200."""

    def __init__(self, unhealthy: int) -> None:
        self.unhealthy, self.clients, self.polls = unhealthy, 0, 0

    def client(self) -> httpx.Client:
        self.clients += 1

        def answer(request: httpx.Request) -> httpx.Response:
            self.polls += 1
            assert request.url.path.endswith("/health")
            return httpx.Response(200 if self.polls > self.unhealthy else 503)

        return httpx.Client(transport=httpx.MockTransport(answer))


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> _Counting:
    counting = _Counting(unhealthy=3)
    monkeypatch.setattr(prefect_server, "_health_client", counting.client)
    monkeypatch.setattr(prefect_server.time, "sleep", lambda s: None)  # the polls' pause, not what is tested
    return counting


def test_the_embedded_servers_wait_polls_through_one_client(counting: _Counting, tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        server = EmbeddedServer("http://127.0.0.1:9/api", process, tmp_path / "log")
        server.wait_healthy(timeout_s=600)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait()
    assert (counting.clients, counting.polls) == (1, 4)


def test_the_local_servers_wait_polls_through_one_client(counting: _Counting) -> None:
    prefect_server.wait_healthy("http://127.0.0.1:9/api", timeout_s=600)
    assert (counting.clients, counting.polls) == (1, 4)


def test_a_wait_given_up_says_so(counting: _Counting, tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    server = EmbeddedServer("http://127.0.0.1:9/api", process, tmp_path / "log")
    with pytest.raises(PrefectServerError, match="exited with code 0"):
        server.wait_healthy(timeout_s=600)


def test_the_embedded_server_keeps_its_database_in_the_home_it_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[dict[str, str]] = []

    class _Started:
        def __init__(self, argv: list[str], env: dict[str, str], **kwargs: object) -> None:
            started.append(env)

        def poll(self) -> int:
            return 0  # (already ended: stop() has nothing to do)

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "another-home"))
    monkeypatch.setattr(prefect_server.subprocess, "Popen", _Started)
    server = prefect_server.start_embedded_prefect_server(tmp_path / "home")
    assert server.home == tmp_path / "home"
    (env,) = started
    assert env["PREFECT_HOME"] == str(tmp_path / "home")  # Prefect's database is under PREFECT_HOME
