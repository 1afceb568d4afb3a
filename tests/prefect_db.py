"""A migrated Prefect database, made once per test session and copied wherever a test starts a Prefect server.

Migrating an empty SQLite database to Prefect's schema costs about 8 CPU-seconds (alembic runs every migration,
in a process that imports Prefect's server), and the suite starts several servers on fresh databases: the
``prefect_harness`` and the commands whose own Prefect server is what a test is about. A copy of a migrated
database is what every run after a user's first has: the server starts on it without migrating, and everything
else about the start is unchanged.

For the Prefect the project pins, the migrated schema is kept in ``tests/prefect_schema/`` as the SQL that builds
it, named by the last migration's revision (``python -m tests.prefect_db`` writes it after a Prefect upgrade that
adds migrations): building a database from it takes milliseconds. Without one for the installed Prefect, the
template is migrated as before (and ``tests/test_prefect_db.py`` says so, skipped). Either way a server checks its
database's revision when it starts and migrates what is not current, so a stale schema file costs time, never
correctness. (Migrations list a table's constraints in no fixed order: two files written for one version may differ
in that order alone.)

The workers of one session share one template: the first to need it makes it under a file lock, the others wait
for it. It is keyed by Prefect's version.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import pytest

SCHEMA_FOLDER = Path(__file__).resolve().parent / "prefect_schema"
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


_REVISION_RE = re.compile(r'^(down_revision|revision)\s*=\s*(?:"([0-9a-f]+)"|None)', re.MULTILINE)


def sqlite_head() -> str:
    """The last of the installed Prefect's SQLite migrations, read from their files (asking alembic would import
    Prefect's server: seconds)."""
    spec = find_spec("prefect")
    assert spec is not None and spec.origin is not None
    versions = Path(spec.origin).parent / "server" / "database" / "_migrations" / "versions" / "sqlite"
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        fields = dict(_REVISION_RE.findall(path.read_text(encoding="utf-8")))
        if fields.get("revision"):
            revisions.add(fields["revision"])
            if fields.get("down_revision"):
                parents.add(fields["down_revision"])
    heads = revisions - parents
    assert len(heads) == 1, f"Prefect's SQLite migrations end in {len(heads)} revisions: {sorted(heads)}"
    return heads.pop()


def schema_file() -> Path:
    """Where the SQL of the schema that the installed Prefect's migrations make is kept (named by their last
    revision, so releases that add no migration share it)."""
    return SCHEMA_FOLDER / f"prefect-sqlite-{sqlite_head()}.sql"


def _migrate(db: Path) -> None:
    """Migrate an empty database at ``db`` to the installed Prefect's schema (in a process of its own)."""
    home = Path(tempfile.mkdtemp(prefix="prefect-template-", dir=db.parent))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    done = subprocess.run(
        [sys.executable, "-c", _MIGRATE, str(db)],
        env=env,
        capture_output=True,
        text=True,
        timeout=MIGRATE_HANG_GUARD_S,
    )
    shutil.rmtree(home, ignore_errors=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _build(db: Path, schema: Path) -> None:
    """A database at ``db`` made from a schema file, in the journal mode Prefect's migration leaves (WAL)."""
    with sqlite3.connect(db) as connection:
        connection.executescript(schema.read_text(encoding="utf-8"))
        connection.execute("PRAGMA journal_mode=WAL")
    connection.close()


def migrated_template(folder: Path) -> Path:
    """``folder``'s migrated database for this Prefect version, made the first time (from its schema file, else by
    migrating; under a lock, in a folder of its own and renamed into place, so nobody copies half a database)."""
    template = folder / f"prefect-{version('prefect')}.db"
    with (folder / f"{template.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.is_file():
            scratch = Path(tempfile.mkdtemp(prefix="prefect-template-", dir=folder))
            db = scratch / DB_FILE
            schema = schema_file()
            if schema.is_file():
                _build(db, schema)
            else:
                _migrate(db)
            db.replace(template)
            shutil.rmtree(scratch, ignore_errors=True)
    return template


def write_schema_file() -> Path:
    """Migrate an empty database with the installed Prefect and keep its schema as SQL (see the module doc)."""
    scratch = Path(tempfile.mkdtemp(prefix="prefect-schema-"))
    try:
        _migrate(scratch / DB_FILE)
        with sqlite3.connect(scratch / DB_FILE) as connection:
            sql = "\n".join(connection.iterdump()) + "\n"
        connection.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    SCHEMA_FOLDER.mkdir(exist_ok=True)
    path = schema_file()
    path.write_text(sql, encoding="utf-8")
    return path


def seed_prefect_home(home: Path, template: Path) -> Path:
    """``home`` as a Prefect home whose database is already migrated (what a command started there finds)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, home / DB_FILE)
    return home


if __name__ == "__main__":  # python -m tests.prefect_db: keep the installed Prefect's schema (after an upgrade)
    print(write_schema_file())
