"""Whether Prefect's own settings could name an API or a home of their own, read without importing Prefect.

The ``voxbatch`` command starts its embedded Prefect API (:mod:`voxbatch.run.prefect_server`) as early as it can:
before Prefect itself is imported (about 1 CPU-s), so that the server's own start (about 4 CPU-s, in its own
process) overlaps the command's imports. That is only right when nothing configures another API. Prefect reads
its settings from the environment, a ``.env`` file, ``prefect.toml`` and ``[tool.prefect]`` in ``pyproject.toml``
(in the working folder) and the active profile of its profiles file; :func:`may_configure_api` answers True
("maybe") as soon as any of them could set the API URL, the home or the profiles file, so its False is safe to act
on. The command still compares Prefect's own answer, once imported, and stops an early server it should not have
started (:func:`flows.run_command.prepare_run`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path

DEFAULT_HOME = "~/.prefect"  # Prefect's default PREFECT_HOME
PROFILES_FILE = "profiles.toml"
NAMED_BY_PROFILES = ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_PROFILES_PATH")  # what would change the answer
FOLDER_FILES = (".env", "prefect.toml")  # read by Prefect from the working folder; either may set anything


def prefect_home(environ: Mapping[str, str]) -> Path:
    """``PREFECT_HOME`` as Prefect reads it from the environment (when nothing else sets it)."""
    return Path(environ.get("PREFECT_HOME") or DEFAULT_HOME).expanduser()


def may_configure_api(environ: Mapping[str, str], folder: Path) -> bool:
    """False only when no setting could name a Prefect API or move Prefect's home (then Prefect, imported, would
    start its own local one in :func:`prefect_home`); True when one does or might."""
    if environ.get("PREFECT_API_URL") or environ.get("PREFECT_PROFILES_PATH"):
        return True
    if any((folder / name).exists() for name in FOLDER_FILES):
        return True
    try:
        if "tool.prefect" in (folder / "pyproject.toml").read_text(encoding="utf-8"):
            return True
    except FileNotFoundError:
        pass
    except (OSError, UnicodeError):
        return True
    profiles = prefect_home(environ) / PROFILES_FILE
    try:
        data = tomllib.loads(profiles.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False  # Prefect's own default profile: no API of its own
    except (OSError, UnicodeError, tomllib.TOMLDecodeError):
        return True
    active = environ.get("PREFECT_PROFILE") or data.get("active")
    profile = data.get("profiles", {}).get(active) if isinstance(data.get("profiles"), dict) else None
    if profile is None:
        return False  # no such profile: Prefect falls back to its own default one
    return not isinstance(profile, dict) or any(name in profile for name in NAMED_BY_PROFILES)
