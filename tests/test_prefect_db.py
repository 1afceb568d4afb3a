"""The suite's migrated Prefect database: a schema file for the installed Prefect, and templates made from it are
migrated to its last revision."""

from __future__ import annotations

import sqlite3
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.prefect_db import migrated_template, schema_file, sqlite_head


def test_templates_come_from_the_installed_prefects_schema_file(tmp_path: Path) -> None:
    if not schema_file().is_file():  # (the suite is then ~8 CPU-s slower, not wrong)
        pytest.skip(f"no schema file for prefect {version('prefect')}: templates are migrated; see tests/prefect_db.py")
    template = migrated_template(tmp_path)

    with sqlite3.connect(template) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    connection.close()
    assert revision == sqlite_head()
    assert {"flow", "flow_run", "task_run", "artifact", "log", "block_document", "deployment"} <= tables
    assert mode == "wal"  # as a migration leaves it


def test_a_template_is_made_once_and_then_copied(tmp_path: Path) -> None:
    first = migrated_template(tmp_path)
    stamp = first.stat().st_mtime_ns
    assert migrated_template(tmp_path) == first
    assert first.stat().st_mtime_ns == stamp
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # its scratch folder is gone
