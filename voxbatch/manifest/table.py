"""Reading a manifest file (CSV or Parquet) into rows of strings, whatever its column types."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")  # ids name output files: nothing else is allowed
FIRST_DATA_ROW = 2  # the header is row 1


class ManifestError(ValueError):
    """The manifest as a whole cannot be read (missing file, unknown format, missing required column)."""


def read_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """The manifest as a DataFrame of strings (missing cells are empty strings)."""
    if not path.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path).astype(object).where(lambda f: f.notna(), "").astype(str)
        else:
            raise ManifestError(f"manifest {path}: use a .csv or .parquet file, not {suffix or 'no extension'}")
    except (ValueError, OSError) as exc:
        if isinstance(exc, ManifestError):
            raise
        raise ManifestError(f"manifest {path} could not be read: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ManifestError(f"manifest {path} has no {', '.join(repr(c) for c in missing)} column")
    return frame.map(lambda v: str(v).strip())
