"""Whether Prefect's settings could name an API, read without Prefect: any doubt is a "maybe"."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbatch.run.prefect_config import may_configure_api, prefect_home


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    return tmp_path / "home"


def _env(home: Path, **more: str) -> dict[str, str]:
    return {"PREFECT_HOME": str(home), **more}


def test_nothing_configured_is_no(home: Path) -> None:
    work = home.parent / "work"
    assert not may_configure_api(_env(home), work)
    (work / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["prefect>=3"]\n')
    assert not may_configure_api(_env(home), work)  # names prefect, configures nothing
    (home / "profiles.toml").write_text('active = "ephemeral"\n[profiles.ephemeral]\nPREFECT_LOGGING_LEVEL = "INFO"\n')
    assert not may_configure_api(_env(home), work)
    assert not may_configure_api(_env(home, PREFECT_PROFILE="missing"), work)  # Prefect falls back to its default


def test_an_api_or_a_home_set_anywhere_prefect_looks_is_maybe(home: Path) -> None:
    work = home.parent / "work"
    assert may_configure_api(_env(home, PREFECT_API_URL="http://127.0.0.1:4200/api"), work)
    assert may_configure_api(_env(home, PREFECT_PROFILES_PATH=str(home / "other.toml")), work)
    (home / "profiles.toml").write_text(
        'active = "ephemeral"\n[profiles.ephemeral]\n[profiles.local]\nPREFECT_API_URL = "http://127.0.0.1:4200/api"\n'
        '[profiles.moved]\nPREFECT_HOME = "/elsewhere"\n'
    )
    assert not may_configure_api(_env(home), work)
    assert may_configure_api(_env(home, PREFECT_PROFILE="local"), work)
    assert may_configure_api(_env(home, PREFECT_PROFILE="moved"), work)
    (home / "profiles.toml").write_text("not = [valid toml")
    assert may_configure_api(_env(home), work)  # Prefect would warn; we do not guess


@pytest.mark.parametrize(
    ("name", "text"),
    [(".env", "PREFECT_API_URL=http://x/api\n"), ("prefect.toml", "[api]\n"), ("pyproject.toml", "[tool.prefect]\n")],
)
def test_settings_files_in_the_working_folder_are_maybe(home: Path, name: str, text: str) -> None:
    work = home.parent / "work"
    (work / name).write_text(text)
    assert may_configure_api(_env(home), work)


def test_the_home_is_prefects_default_unless_the_environment_moves_it(home: Path) -> None:
    assert prefect_home({"PREFECT_HOME": str(home)}) == home
    assert prefect_home({}) == Path.home() / ".prefect"
