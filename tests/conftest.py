"""Shared fixtures: an isolated environment, real audio inputs, and local servers on real sockets."""

from __future__ import annotations

import inspect
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before anything imports Prefect: tests get their own PREFECT_HOME and never phone home.
_PREFECT_HOME = tempfile.mkdtemp(prefix="voxbatch-test-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)
# Runs draw no charts unless a test asks (RunSpec(charts=True)): importing matplotlib and drawing would add seconds to
# every flow run and `voxbatch` process of the suite. The chart tests ask; commands started by tests inherit this.
os.environ["VOXBATCH_CHARTS"] = "off"


def _one_certificate_trust_store(folder: str) -> str:
    """A CA file holding only the first certificate of certifi's bundle.

    No test speaks TLS: every server of the suite (Prefect's, the local audio server) is plain HTTP on loopback.
    Yet every HTTP client loads its trust store when it is made, and Prefect makes one for every flow run and
    every task run: parsing certifi's ~150 certificates costs ~20 ms each time, which was about a fifth of the
    suite's in-process CPU. Pointed at this file (SSL_CERT_FILE for httpx and Python's ssl defaults,
    PREFECT_API_SSL_CERT_FILE for Prefect's clients), a client's trust store costs next to nothing; commands
    started by tests inherit both.
    """
    import certifi

    bundle = Path(certifi.where()).read_text(encoding="utf-8")  # (its comments name issuers in their languages)
    end = "-----END CERTIFICATE-----"
    first = bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)]
    path = Path(folder) / "one-ca.pem"
    path.write_text(first + "\n", encoding="utf-8")
    return str(path)


_TRUST_STORE = _one_certificate_trust_store(_PREFECT_HOME)
os.environ["SSL_CERT_FILE"] = _TRUST_STORE
os.environ["PREFECT_API_SSL_CERT_FILE"] = _TRUST_STORE
os.environ.pop("SSL_CERT_DIR", None)


def environ_without_prefect_settings() -> dict[str, str]:
    """This process's environment without its Prefect settings, but for the suite's trust store (above)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_API_SSL_CERT_FILE"] = _TRUST_STORE
    return env


from tests.prefect_db import migrated_template, seed_prefect_home, template_folder  # noqa: E402
from tests.prefect_harness import (  # noqa: E402
    HARNESS_STARTUP_TIMEOUT_S,
    SharedHarness,
    shared_harness,
    start_harness_server,
)
from voxbatch.run.prefect_server import EmbeddedServer  # noqa: E402
from voxbatch.server.options import ServerOptions  # noqa: E402
from voxbatch.server.runner import LocalServer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_API_KEY = "test-key-0123456789"


# Heavy first: files with a `slow` test, then the rest of tests/flows and tests/tasks (flow runs, Prefect), then the
# quick unit tests, the biggest files first. ``make test`` hands whole files to its workers in this order
# (--dist loadfile --no-loadscope-reorder), so the long ones start at once and the many short ones even out the end.
HEAVY_FOLDERS = (REPO_ROOT / "tests" / "flows", REPO_ROOT / "tests" / "tasks")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order test files slowest-first (see HEAVY_FOLDERS); the tests of a file keep their order."""
    first: dict[Path, int] = {}
    size: dict[Path, int] = {}
    slow: set[Path] = set()
    for index, item in enumerate(items):
        first.setdefault(item.path, index)
        size[item.path] = size.get(item.path, 0) + 1
        if item.get_closest_marker("slow"):
            slow.add(item.path)

    def rank(path: Path) -> tuple[int, int, int]:
        if path in slow:
            return (0, 0, first[path])
        if any(path.is_relative_to(folder) for folder in HEAVY_FOLDERS):
            return (1, 0, first[path])
        return (2, -size[path], first[path])

    order = {item: (rank(item.path), index) for index, item in enumerate(items)}
    items.sort(key=order.__getitem__)


@pytest.fixture(autouse=True)
def _no_log_handler_on_a_closed_stream() -> Iterator[None]:
    """A log handler that kept a finished CliRunner's captured stream (Prefect's console handler is set up once,
    on whatever stderr is current) is pointed at the real stderr, so a later command's output holds no
    "--- Logging error ---" from writing to a closed file. What any test captures is unchanged."""
    yield
    loggers = [
        logging.getLogger(),
        *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)),
    ]
    for logger in loggers:
        for handler in logger.handlers:
            console = getattr(handler, "console", None)
            if console is not None and getattr(console.file, "closed", False):
                console.file = sys.__stderr__
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and getattr(stream, "closed", False):
                handler.stream = sys.__stderr__  # (setStream would flush the closed one first)


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real provider settings leak into a test."""
    for name in ("TOGETHER_API_KEY", "TOGETHER_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def jfk_flac() -> bytes:
    """11 s of real speech (J. F. Kennedy, 1961), shipped with the demo manifests."""
    return (REPO_ROOT / "manifests" / "audio" / "jfk.flac").read_bytes()


JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


def heard_by_fake(audio: bytes) -> list[str]:
    """The words a ``recognizer="fake"`` server hears in an audio file (:mod:`voxbatch.server.fake_recognizer`)."""
    from voxbatch.audio.ffmpeg import decode_to_pcm
    from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ
    from voxbatch.server.fake_recognizer import recognize_stand_in

    return [w.word for w in recognize_stand_in(decode_to_pcm(audio, SPHINX_SAMPLE_RATE_HZ)).words]


@pytest.fixture(scope="session")
def server() -> Iterator[LocalServer]:
    """One keyed local server for the whole session; tests must not change its faults (use make_server)."""
    with LocalServer(ServerOptions(port=0, api_key=TEST_API_KEY)) as srv:
        yield srv


@pytest.fixture(scope="session")
def fake_server() -> Iterator[LocalServer]:
    """Like ``server``, but hearing with the stand-in recognizer (:mod:`voxbatch.server.fake_recognizer`): for tests
    about requests and answers rather than recognition. Tests must not change its faults either."""
    with LocalServer(ServerOptions(port=0, api_key=TEST_API_KEY, recognizer="fake")) as srv:
        yield srv


@pytest.fixture
def make_server() -> Iterator[object]:
    """A factory for servers with special options, stopped after the test."""
    started: list[LocalServer] = []

    def factory(**kwargs: object) -> LocalServer:
        kwargs.setdefault("port", 0)
        kwargs.setdefault("api_key", TEST_API_KEY)
        srv = LocalServer(ServerOptions(**kwargs)).start()  # type: ignore[arg-type]
        started.append(srv)
        return srv

    yield factory
    for srv in started:
        srv.stop()


# Where an xdist controller tells its workers about the session's one harness server (tests/prefect_harness.py).
SHARED_HARNESS_ENV = "VOXBATCH_TEST_PREFECT_HARNESS"
_SHARED_HARNESS_KEY = pytest.StashKey[SharedHarness]()


@pytest.hookimpl(trylast=True)  # after xdist's own pytest_configure, which registers "dsession" on a controller
def pytest_configure(config: pytest.Config) -> None:
    """An xdist controller starts the session's harness server for its workers (they start after this)."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not config.pluginmanager.has_plugin("dsession"):
        return
    shared = SharedHarness(config._tmp_path_factory.getbasetemp())  # (xdist's workers take their basetemp from it)
    config.stash[_SHARED_HARNESS_KEY] = shared
    os.environ[SHARED_HARNESS_ENV] = str(shared.file)


def pytest_unconfigure(config: pytest.Config) -> None:
    shared = config.stash.get(_SHARED_HARNESS_KEY, None)
    if shared is not None:
        os.environ.pop(SHARED_HARNESS_ENV, None)
        shared.stop()


@pytest.fixture(scope="session")
def prefect_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated Prefect database, made once for the session's workers (see tests/prefect_db.py)."""
    return migrated_template(template_folder(tmp_path_factory))


@pytest.fixture
def prefect_home(tmp_path: Path, prefect_db_template: Path) -> Path:
    """A fresh Prefect home whose database is already migrated, for a command that starts its own Prefect server."""
    return seed_prefect_home(tmp_path / "prefect-home", prefect_db_template)


@pytest.fixture(scope="session")
def prefect_harness(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Prefect API server for the whole session (tests/prefect_harness.py), with its own Prefect home and
    SQLite database (a copy of the migrated template); yields its API URL, which this process's Prefect settings
    point at meanwhile. Under xdist it is the controller's, shared by its workers; otherwise this process starts
    its own. Prefect's own ``prefect_test_harness`` starts the same server, but imports all of Prefect's server
    code into the test process to do so (~1.7 CPU-s per worker).

    Opt-in (seconds to start): only tests that run flows or Prefect limits ask for it.
    """
    import prefect.context
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_DATABASE_CONNECTION_URL, temporary_settings
    from prefect.utilities.asyncutils import run_coro_as_sync

    own: EmbeddedServer | None = None
    shared = os.environ.get(SHARED_HARNESS_ENV)
    if shared:
        harness = shared_harness(Path(shared))
    else:
        template = request.getfixturevalue("prefect_db_template")
        harness, own = start_harness_server(tmp_path_factory.mktemp("prefect-harness"), template)
    try:
        if own is not None:
            own.wait_healthy(HARNESS_STARTUP_TIMEOUT_S)
        with (
            temporary_settings(
                updates={PREFECT_API_URL: harness.api_url, PREFECT_SERVER_DATABASE_CONNECTION_URL: harness.database}
            ),
            # ... for contexts copied before, too (threads Prefect started earlier), as Prefect's harness does
            # (a private helper of Prefect's; prefect is pinned to 3.8 in pyproject.toml)
            prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()),
        ):
            yield harness.api_url

            async def drain() -> None:  # what this process still has queued for the server, before it goes
                for worker in (APILogWorker, EventsWorker):
                    try:
                        result = worker.drain_all()
                        if inspect.isawaitable(result):
                            await result
                    except RuntimeError:  # never started
                        pass

            run_coro_as_sync(drain())
    finally:
        if own is not None:
            own.stop()
