"""The suite's migrated Prefect database: its schema file is current, and templates made from it are migrated."""

from __future__ import annotations

import re
import sqlite3
from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

import pytest

from tests.prefect_db import migrated_template, schema_file

_REVISION_RE = re.compile(r'^(down_revision|revision)\s*=\s*(?:"([0-9a-f]+)"|None)', re.MULTILINE)


def _sqlite_head() -> str:
    """The last of the installed Prefect's SQLite migrations, read from their files (importing Prefect's server
    to ask alembic would cost seconds)."""
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
    assert len(heads) == 1, heads
    return heads.pop()


def _revision(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    connection.close()
    return str(revision)


def test_the_schema_file_is_at_the_installed_prefects_last_migration(tmp_path: Path) -> None:
    schema = schema_file()
    if not schema.is_file():
        pytest.skip(f"no schema file for prefect {version('prefect')}: each template is migrated (tests/prefect_db.py)")
    template = migrated_template(tmp_path)

    assert _revision(template) == _sqlite_head()
    with sqlite3.connect(template) as connection:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    connection.close()
    assert {"flow", "flow_run", "task_run", "artifact", "log", "block_document", "deployment"} <= tables
    assert mode == "wal"  # as a migration leaves it


def test_a_template_is_made_once_and_then_copied(tmp_path: Path) -> None:
    first = migrated_template(tmp_path)
    stamp = first.stat().st_mtime_ns
    assert migrated_template(tmp_path) == first
    assert first.stat().st_mtime_ns == stamp
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # its scratch folder is gone
