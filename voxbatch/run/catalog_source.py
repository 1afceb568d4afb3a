"""Where a run's catalog comes from: the embedded server's own, a fresh copy on disk, or the server itself.

Once per run, before any row is planned (:meth:`voxbatch.run.kernel.Kernel.run` and ``dry_run``):

- the embedded default: the embedded server's static catalog, read in-process (no server is started for it);
- any other server: the copy under the run's cache folder (``<cache>/catalogs/``) if it is younger than
  :data:`CATALOG_MAX_AGE_S`; else, in a run (never in a dry run, which calls nothing), ``GET /v1/voices`` and
  ``GET /v1/models`` through a client of their own (two free calls, not in the ledger, not paced with the work,
  at most :data:`CATALOG_ATTEMPTS` attempts each, stopped like any call when the run is), and the answer is kept
  on disk for the next run.

A catalog that cannot be had (no copy yet in a dry run, the server unreachable, a key refused) is a warning, and
the rows go unchecked: a run is never blocked on its catalog. ``voxbatch voices`` asks the server itself
(:func:`ask_server`), starting the embedded one briefly when the run would use it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from voxbatch.atomic import write_text_atomic
from voxbatch.client.client import SpeechClient
from voxbatch.client.limits import NoLimit
from voxbatch.client.options import ClientOptions
from voxbatch.client.retry import RetryPolicy
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.client.transport import SpeechTransport
from voxbatch.run.catalog import EMBEDDED_SOURCE, Catalog, embedded_catalog, listed_catalog
from voxbatch.run.endpoint import SecretResolver, open_endpoint, resolve_key
from voxbatch.run.shutdown import StopGate, current_stop
from voxbatch.run.spec import RunSpec

logger = logging.getLogger(__name__)
T = TypeVar("T")

CATALOG_DIR_NAME = "catalogs"  # under the run's cache root: one JSON file per server
CATALOG_MAX_AGE_S = 24 * 60 * 60  # 86400: a copy younger than a day is used instead of asking again
CATALOG_ATTEMPTS = 2  # per list: a server that cannot answer twice is skipped, not waited for
CATALOG_TIMEOUT_S = 15.0  # per attempt

Warn = Callable[[str], None]


class CatalogStore:
    """The catalogs kept on disk under a run's cache root, one file per server URL (no key is ever written)."""

    def __init__(self, cache_root: Path, clock: Callable[[], float] = time.time) -> None:
        self.folder = cache_root / CATALOG_DIR_NAME
        self.clock = clock

    def path(self, base_url: str) -> Path:
        return self.folder / f"{hashlib.sha256(base_url.encode()).hexdigest()[:16]}.json"

    def load(self, base_url: str, max_age_s: float = CATALOG_MAX_AGE_S) -> Catalog | None:
        """The copy of ``base_url``'s catalog if there is one younger than ``max_age_s`` (else None)."""
        try:
            data = json.loads(self.path(base_url).read_text(encoding="utf-8"))
            age_s = self.clock() - float(data["fetched_at"])
            if data["base_url"] != base_url or not 0 <= age_s < max_age_s:
                return None
            return Catalog.from_json(data["catalog"])
        except (OSError, ValueError, KeyError, TypeError):  # none yet, or not one we wrote: ask again
            return None

    def save(self, base_url: str, catalog: Catalog) -> None:
        """Keep ``catalog`` for the next run; a copy that cannot be written is only a warning."""
        data = {"base_url": base_url, "fetched_at": self.clock(), "catalog": catalog.to_json()}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path(base_url), json.dumps(data))
        except OSError as exc:
            logger.warning("could not keep the catalog of %s in %s: %s", base_url, self.folder, exc)


async def _listed(call: Awaitable[T]) -> T | Exception:
    """A list the server answered, or why it did not (a 404 from a server without the endpoint, a bad body...)."""
    try:
        return await call
    except Exception as exc:  # one list missing leaves only its part of the catalog unknown
        return exc


async def fetch_catalog(client: SpeechClient, source: str) -> Catalog:
    """``GET /v1/voices`` and ``GET /v1/models`` as one catalog; raises the first error when neither answers."""
    voices, models = await asyncio.gather(_listed(client.voices()), _listed(client.models()))
    if isinstance(voices, Exception) and isinstance(models, Exception):
        raise voices
    return listed_catalog(
        source,
        None if isinstance(voices, Exception) else voices,
        None if isinstance(models, Exception) else models,
    )


def catalog_client_options(options: ClientOptions) -> ClientOptions:
    """The run's client options for the two catalog calls: few, short attempts."""
    return replace(
        options,
        retry=RetryPolicy(max_attempts=CATALOG_ATTEMPTS),
        timeouts=CallTimeouts(override_s=CATALOG_TIMEOUT_S),
    )


async def load_catalog(
    spec: RunSpec,
    cache_root: Path,
    *,
    ask: bool,
    resolve_secret: SecretResolver | None = None,
    warn: Warn = logger.warning,
    clock: Callable[[], float] = time.time,
    transport: SpeechTransport | None = None,
) -> Catalog | None:
    """The catalog a run's rows are checked against, or None (warned) when there is none to be had.

    ``ask``: whether the server may be asked (a run) or only a copy on disk used (a dry run calls nothing).
    ``transport``: what carries the two calls (default: the network; tests pass a fake)."""
    if not spec.check_catalog:
        return None
    if spec.embedded:
        return embedded_catalog()
    url = spec.endpoint_id()
    store = CatalogStore(cache_root, clock)
    kept = store.load(url)
    if kept is not None:
        return kept
    if ask and current_stop().requested:  # stopping before the run began: nothing will be planned anyway
        return None
    if not ask:
        warn(f"models and voices are not checked: no copy of {url}'s catalog yet (the first run fetches it)")
        return None
    try:
        key = await resolve_key(spec, resolve_secret)
        options = catalog_client_options(ClientOptions(api_key=key, base_url=url))
        async with SpeechClient(options, limiter=StopGate(NoLimit(), current_stop()), transport=transport) as client:
            catalog = await fetch_catalog(client, url)
    except Exception as exc:  # whatever stops the catalog stops only the checking, never the run
        warn(f"models and voices are not checked: could not read {url}'s catalog ({_why(exc)})")
        return None
    store.save(url, catalog)
    return catalog


def _why(exc: Exception) -> str:
    """One line about a failed catalog call (the client's errors never carry the key)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def ask_server(spec: RunSpec, notice: Warn = print) -> Catalog:
    """The catalog of the server a run with ``spec`` would use, asked now (the embedded one started briefly).

    Raises the first list's error (e.g. :class:`~voxbatch.client.errors.SpeechAPIError`) when neither answers."""
    key = await resolve_key(spec, None)
    with open_endpoint(spec, key, notice=notice) as endpoint:
        source = EMBEDDED_SOURCE if endpoint.embedded else endpoint.options.base_url
        async with SpeechClient(catalog_client_options(endpoint.options)) as client:
            return await fetch_catalog(client, source)
