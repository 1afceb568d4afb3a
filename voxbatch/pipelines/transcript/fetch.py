"""Fetching a recording given by http(s) URL into a local file, so it can be probed and split like any other.

Downloads stream to disk (bounded memory), stop at a size limit, and land atomically: a file that exists
under the download folder is complete. Every run fetches again, so a changed file at the same URL is
noticed by its content hash; fetching costs nothing at the provider.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from voxbatch.atomic import create_temp_beside
from voxbatch.manifest.stt import safe_id

DOWNLOAD_TIMEOUT_S = 60.0
DOWNLOAD_MAX_BYTES = 1024 * 1024 * 1024  # 1 GiB: Together's own limit for files given by URL
DOWNLOAD_BLOCK_BYTES = 1024 * 1024


class FetchError(ValueError):
    """The URL could not be fetched; the message says why (never with credentials)."""


def _name(url: str) -> str:
    last = unquote(urlparse(url).path.rstrip("/").rsplit("/", 1)[-1])
    return safe_id(last) if last else "download"


def redact_url(url: str) -> str:
    parts = urlparse(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"  # no user:password, no query (tokens live there)


def public_source(source: str) -> str:
    """How a row's source may be written to outputs and logs: URLs without credentials or query."""
    return redact_url(source) if source.lower().startswith(("http://", "https://")) else source


def fetch(url: str, folder: Path, *, max_bytes: int = DOWNLOAD_MAX_BYTES) -> Path:
    """Download ``url`` to ``folder/<hash of url>/<name>`` and return the path."""
    # Keyed without the query: a signed URL that changes every night reuses (overwrites) one download.
    target = folder / hashlib.sha256(redact_url(url).encode("utf-8", "replace")).hexdigest()[:16] / _name(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_beside(target, ".part")  # usual permissions, not mkstemp's 0600
    received = 0
    try:
        with (
            os.fdopen(fd, "wb") as fh,
            httpx.stream("GET", url, timeout=DOWNLOAD_TIMEOUT_S, follow_redirects=True) as r,
        ):
            if r.status_code != 200:
                raise FetchError(f"GET {redact_url(url)} answered HTTP {r.status_code}")
            for block in r.iter_bytes(DOWNLOAD_BLOCK_BYTES):
                received += len(block)
                if received > max_bytes:
                    raise FetchError(f"{redact_url(url)} is larger than {max_bytes} bytes")
                fh.write(block)
        Path(tmp).replace(target)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError, OSError) as exc:  # InvalidURL, bad IDNA, disk
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, FetchError):
            raise
        raise FetchError(f"could not fetch {redact_url(url)}: {type(exc).__name__}") from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
