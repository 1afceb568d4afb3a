"""A migrated Prefect database, made once per test session and copied wherever a test starts a Prefect server.

Migrating an empty SQLite database to Prefect's schema costs about 6 CPU-seconds (alembic runs every migration),
as much again as the server's own start, and the suite starts several servers on fresh databases: the
``prefect_harness`` of each xdist worker, and the commands whose own Prefect server is what a test is about. A copy
of a migrated database is what every run after a user's first has: the server starts on it without migrating, and
everything else about the start is unchanged.

The workers of one session share one template: the first to need it makes it under a file lock, the others wait
for it. It is keyed by Prefect's version, and a copy of a database that is not current would only be migrated by
the server as usual.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import pytest

DB_FILE = "prefect.db"  # the database under PREFECT_HOME when PREFECT_SERVER_DATABASE_CONNECTION_URL is not set
MIGRATE_HANG_GUARD_S = 600
# What `prefect server database upgrade` does, without importing Prefect's command line (a few CPU-s less).
_MIGRATE = """
import asyncio, sys
from prefect.server.database import provide_database_interface
from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL, temporary_settings
with temporary_settings(updates={PREFECT_SERVER_DATABASE_CONNECTION_URL: "sqlite+aiosqlite:///" + sys.argv[1]}):
    asyncio.run(provide_database_interface().create_db())
"""


def template_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's temporary root, shared by its xdist workers (each worker's base is a folder inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def migrated_template(folder: Path) -> Path:
    """``folder``'s migrated database for this Prefect version, migrated from empty the first time (under a lock,
    in a folder of its own and renamed into place, so nobody copies half a database)."""
    template = folder / f"prefect-{version('prefect')}.db"
    with (folder / f"{template.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.is_file():
            home = Path(tempfile.mkdtemp(prefix="prefect-template-", dir=folder))
            env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
            env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
            done = subprocess.run(
                [sys.executable, "-c", _MIGRATE, str(home / DB_FILE)],
                env=env,
                capture_output=True,
                text=True,
                timeout=MIGRATE_HANG_GUARD_S,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            (home / DB_FILE).replace(template)
            shutil.rmtree(home, ignore_errors=True)
    return template


def seed_prefect_home(home: Path, template: Path) -> Path:
    """``home`` as a Prefect home whose database is already migrated (what a command started there finds)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, home / DB_FILE)
    return home
