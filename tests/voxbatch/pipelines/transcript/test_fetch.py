"""Fetching recordings given by URL over a real loopback HTTP server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from voxbatch.pipelines.transcript.fetch import FetchError, fetch


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "talk.flac").write_bytes(b"0123456789" * 1000)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_lands_whole_and_named(file_server: str, tmp_path: Path) -> None:
    path = fetch(f"{file_server}/talk.flac?token=abc", tmp_path / "dl")
    assert path.name == "talk.flac" and path.read_bytes() == b"0123456789" * 1000
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]


def test_errors_name_the_url_without_its_query(file_server: str, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="HTTP 404") as info:
        fetch(f"{file_server}/missing.mp3?token=sekrit", tmp_path / "dl")
    assert "sekrit" not in str(info.value)
    with pytest.raises(FetchError, match="larger than"):
        fetch(f"{file_server}/talk.flac", tmp_path / "dl", max_bytes=100)
    with pytest.raises(FetchError, match="could not fetch") as refused:
        fetch("http://user:pw@127.0.0.1:9/x.mp3", tmp_path / "dl")
    assert "pw@" not in str(refused.value)
    assert not list((tmp_path / "dl").rglob("*.part"))


def test_malformed_urls_are_fetch_errors_too(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="InvalidURL") as bad_port:
        fetch("http://host:port/x.wav?token=SEKRIT", tmp_path / "dl")
    assert "SEKRIT" not in str(bad_port.value)
