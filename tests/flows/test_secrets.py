"""A recognisable API key never shows: not in outputs, logs, ledgers, artifacts, the Prefect database or errors.

Both commands run against a local server that requires the key (so it really is sent on every request), plus
``voxbatch report``, a dry run, a run whose key is refused (401), a run whose every call fails (500) and the
client's own exceptions. Then every byte they left is searched for the key, its base64 and its URL encodings.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import pickle
import socket
import traceback
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import tblib.pickling_support
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterStartTime,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogHandler
from prefect.settings import PREFECT_HOME, PREFECT_SERVER_DATABASE_CONNECTION_URL
from typer.testing import CliRunner, Result

from flows.cli import app
from tests.prefect_db import DB_FILE
from voxbatch.audio.ffmpeg import decode_to_pcm, encode_pcm
from voxbatch.client.call_options import SpeechOptions
from voxbatch.client.client import SpeechClient
from voxbatch.client.errors import (
    APIConnectionError,
    AuthenticationError,
    ServerError,
    SpeechAPIError,
    StreamTruncatedError,
)
from voxbatch.client.options import ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.server.faults import FaultSpec
from voxbatch.server.runner import LocalServer

CANARY = "sk-voxbatch-canary-7f3a9c2e41d8b6055c1e"
OTHER_KEY = "sk-some-other-account-key-0000"
RATE_HZ = 16000
CLIP_S = 2.0
KOKORO = "hexgrad/Kokoro-82M"
LOUD_LOGGERS = ("httpx", "voxbatch", "flows", "tasks", "uvicorn")  # at DEBUG for the test


def _encodings(secret: str) -> dict[str, bytes]:
    """The key as it could be written: raw, URL-encoded, hex, and base64 at any alignment."""
    raw = secret.encode()
    forms = {
        "raw": raw,
        "url": urllib.parse.quote(secret, safe="").encode(),
        "url-plus": urllib.parse.quote_plus(secret).encode(),
        "hex": raw.hex().encode(),
    }
    for shift in range(3):  # the key inside a longer text ("Bearer ...", "user:...") sits at one of three alignments
        data = b"\0" * shift + raw
        start, end = -(-shift // 3) * 4, (len(data) // 3) * 4  # whole 4-character groups made of the key alone
        forms[f"b64-{shift}"] = base64.b64encode(data)[start:end]
        forms[f"b64url-{shift}"] = base64.urlsafe_b64encode(data)[start:end]
    return forms


FORMS = _encodings(CANARY)


def _found(blob: bytes | str) -> list[str]:
    data = blob.encode("utf-8", "replace") if isinstance(blob, str) else blob
    lowered = data.lower()
    return [
        name
        for name, form in FORMS.items()
        if form in data or (name.startswith(("url", "hex")) and form.lower() in lowered)
    ]


def test_the_search_finds_the_key_in_every_form() -> None:
    """The search itself: a leak in any of the forms it claims to cover is found."""
    samples = [
        f"header Authorization: Bearer {CANARY}",
        base64.b64encode(f"Bearer {CANARY}".encode()).decode(),
        base64.b64encode(f"xx{CANARY}yy".encode()).decode(),
        base64.urlsafe_b64encode(f"user:{CANARY}".encode()).decode(),
        "https://x/?api_key=" + urllib.parse.quote(CANARY, safe=""),
        CANARY.encode().hex(),
    ]
    assert all(_found(s) for s in samples)
    assert _found("sk-voxbatch-canary and nothing else") == []


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # with the traceback, if any


@pytest.fixture
def every_log() -> Iterator[_Records]:
    """Every record of every logger that could see a request, at DEBUG (headers would show here if anywhere)."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in ("", "prefect", *LOUD_LOGGERS)]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        if lg.name in LOUD_LOGGERS:
            lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries of a failing server in milliseconds (the 500 run retries every call)."""
    monkeypatch.setattr(
        "voxbatch.run.endpoint.RetryPolicy", functools.partial(RetryPolicy, backoff_base_s=0.01, backoff_cap_s=0.05)
    )


def _inputs(folder: Path, jfk_flac: bytes) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    books = folder / "books.csv"
    books.write_text('id,text,format\nbook,"A short book. It has two sentences.",mp3\n', encoding="utf-8")
    clip = decode_to_pcm(jfk_flac, RATE_HZ)[: int(CLIP_S * RATE_HZ)]
    (folder / "clip.flac").write_bytes(encode_pcm(clip, RATE_HZ, ["-f", "flac"]))
    recordings = folder / "recordings.csv"
    recordings.write_text("id,audio_path\nclip,clip.flac\n", encoding="utf-8")
    return books, recordings


def _closed_port() -> int:
    """A local port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _scan_files(root: Path) -> dict[str, list[str]]:
    """Every file under ``root``: its bytes, and for Parquet files the decoded table too."""
    leaks: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        found = _found(path.read_bytes())
        if path.suffix == ".parquet":
            found += _found(pq.read_table(path).to_pandas().to_csv())
        if found:
            leaks[str(path)] = found
    return leaks


PAGE = 200  # the API's largest page


async def _prefect_records(since: datetime) -> tuple[list[str], int, int]:
    """The flow runs since ``since`` as the Prefect API holds them: runs, artifacts and logs (as JSON), every page
    (the session's server also holds other test files' runs meanwhile)."""
    await APILogHandler.aflush()
    async with get_client() as client:

        async def every(read: Callable[..., Awaitable[list[Any]]], **query: Any) -> list[Any]:
            found: list[Any] = []
            while True:
                page = await read(**query, limit=PAGE, offset=len(found))
                found += page
                if len(page) < PAGE:
                    return found

        runs = await every(
            client.read_flow_runs, flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since))
        )
        ids = [run.id for run in runs]
        artifacts = await every(
            client.read_artifacts, artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=ids))
        )
        logs = await every(client.read_logs, log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)))
    blobs = [r.model_dump_json() for r in runs] + [a.model_dump_json() for a in artifacts]
    blobs += [log.model_dump_json() for log in logs]
    return blobs, len(artifacts), len(logs)


def _context(text: str, chars: int = 300) -> str:
    """Where the raw key sits in ``text``, with the key itself masked (a failing test must not print it)."""
    at = text.find(CANARY)
    return "" if at < 0 else text[max(0, at - chars) : at + len(CANARY) + 40].replace(CANARY, "<KEY>")


def _prefect_server_files() -> list[Path]:
    url = str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value() or "")
    if ":///" not in url:
        return []
    db = Path(url.split(":///", 1)[1])
    return sorted(db.parent.rglob("*"))  # the database, its WAL and shared-memory files, the server's log


def _exception_texts(exc: BaseException) -> list[str]:
    """Everything an exception could show: str, repr, the whole chained traceback, args, and its pickle (with Dask's
    tblib, which pickles every exception of the chain, and what each holds)."""
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(exc.args), repr(vars(exc))]
    cause: BaseException | None = exc
    while cause is not None:
        texts += [str(cause), repr(cause)]
        cause = cause.__cause__ or cause.__context__
    tblib.pickling_support.install(exc)  # as Dask does before sending a task's error: the whole chain pickles
    try:
        texts.append(pickle.dumps(exc).decode("latin-1"))
    except Exception as pickling:  # an exception that cannot travel to a worker is another problem, not a leak
        texts.append(repr(pickling))
    return texts


async def _client_errors(
    keyed: LocalServer, refusing: LocalServer, failing: LocalServer, cutting: LocalServer, gone: str
) -> list[Any]:
    """The client's own exceptions: a refused key, a failing server, cut answers and a server that is not there."""
    errors: list[Any] = []
    for origin, kind in (
        (refusing.origin, AuthenticationError),
        (failing.origin, ServerError),
        (cutting.origin, StreamTruncatedError),
        (gone, APIConnectionError),
    ):
        options = ClientOptions(
            api_key=CANARY, base_url=origin, retry=RetryPolicy(max_attempts=2, backoff_base_s=0.01, backoff_cap_s=0.01)
        )
        async with SpeechClient(options) as client:
            errors += [repr(client), repr(options), repr(client.transport), repr(client.transport.http.headers)]
            with pytest.raises(kind) as caught:
                await client.speak("Hello.", SpeechOptions(model=KOKORO, voice="af_heart"))
            errors.append(caught.value)
    async with SpeechClient(ClientOptions(api_key=CANARY, base_url=keyed.origin)) as client:
        assert (await client.speak("Hello.", SpeechOptions(model=KOKORO, voice="af_heart"))).audio  # the key works
    return errors


def test_a_recognisable_key_shows_nowhere(
    prefect_harness: str,
    make_server: Callable[..., LocalServer],
    tmp_path: Path,
    jfk_flac: bytes,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    every_log: _Records,
) -> None:
    since = datetime.now(UTC)
    books, recordings = _inputs(tmp_path / "in", jfk_flac)
    keyed = make_server(
        api_key=CANARY, recognizer="fake"
    )  # answers 401 to anything but the canary: the key is really sent
    monkeypatch.setenv("TOGETHER_API_KEY", CANARY)
    monkeypatch.setenv("TOGETHER_BASE_URL", keyed.origin)
    outputs: list[str] = []

    def run(*args: str, code: int) -> Result:
        result = _cli(*args)
        outputs.append(result.output)
        assert result.exit_code == code, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    # The happy paths: a dry run, both commands (Prefect artifacts included), and the reports.
    run("tts", str(books), "--out", str(tmp_path / "tts"), "--dry-run", code=0)
    run("tts", str(books), "--out", str(tmp_path / "tts"), code=0)
    run("stt", str(recordings), "--out", str(tmp_path / "stt"), code=0)
    for ledger in (tmp_path / "tts" / "ledger", tmp_path / "stt" / "ledger"):
        for fmt in ("table", "csv", "json"):
            run("report", str(ledger), "--by", "item", "--as", fmt, code=0)
    assert keyed.stats.count(status=401) == 0 and keyed.stats.count(status=200) >= 2

    # The error paths: the key refused (401), and a server whose every call fails (500); both say why.
    refusing = make_server(api_key=OTHER_KEY)
    monkeypatch.setenv("TOGETHER_BASE_URL", refusing.origin)
    refused = run("tts", str(books), "--out", str(tmp_path / "refused"), code=1)
    assert "401" in refused.output and "Invalid API key" in refused.output
    failing = make_server(api_key=CANARY, faults=FaultSpec(p500=1.0), recognizer="fake")
    monkeypatch.setenv("TOGETHER_BASE_URL", failing.origin)
    failed = run("stt", str(recordings), "--out", str(tmp_path / "failed"), code=1)
    assert "500" in failed.output
    cutting = make_server(api_key=CANARY, faults=FaultSpec(cut=1.0), recognizer="fake")
    gone = f"http://127.0.0.1:{_closed_port()}"
    errors = asyncio.run(_client_errors(keyed, refusing, failing, cutting, gone))

    # Search everything.
    leaks: dict[str, list[str]] = {}
    for folder in ("tts", "stt", "refused", "failed", "in"):
        leaks.update(_scan_files(tmp_path / folder))
    outputs_written = {p.suffix for p in tmp_path.rglob("*") if p.is_file()}
    assert {".mp3", ".srt", ".json", ".txt", ".vtt", ".parquet", ".pcm"} <= outputs_written  # the scan saw them all
    records, n_artifacts, n_logs = asyncio.run(_prefect_records(since))
    assert n_artifacts >= 6 and n_logs > 0  # progress, table and markdown of each of the four runs, and their logs
    leaks.update({f"prefect api record {i}": f for i, r in enumerate(records) if (f := _found(r))})
    database = _prefect_server_files()
    assert any(p.name == DB_FILE for p in database), "the harness's Prefect database was not found"
    for path in [*database, *Path(PREFECT_HOME.value()).rglob("*")]:
        if path.is_file() and (found := _found(path.read_bytes())):
            leaks[str(path)] = found
    captured = capfd.readouterr()
    texts = {"cli output": "\n".join(outputs), "stdout": captured.out, "stderr": captured.err}
    texts["logs"] = "\n".join(every_log.lines)
    for i, error in enumerate(errors):
        pieces = _exception_texts(error) if isinstance(error, SpeechAPIError) else [str(error)]
        texts[f"client error {i}"] = "\n".join(pieces)
    leaks.update({f"{name}: {_context(text)}": f for name, text in texts.items() if (f := _found(text))})
    assert len(every_log.lines) > 0 and "Invalid API key" in texts["logs"] + texts["cli output"]
    assert leaks == {}
