"""Reading a server's rate-limit answer headers: how long it asks us to wait, and the numbers it states.

:func:`server_wait_s` is the one reader of server-requested waits; the retry (``voxbatch.client.retry``: how long
one call waits before its next attempt) and the limiter (``voxbatch.client.limiter``: how long every caller
pauses) both ask it, and both bound what it returns by the one cap, :data:`MAX_SERVER_WAIT_S`:

- ``retry-after-ms`` (more precise) or else ``retry-after``, in seconds or as an HTTP date;
- ``x-ratelimit-reset`` when the answer says the limit is spent (a 429, or ``x-ratelimit-remaining: 0``), as a
  duration or, above :data:`UNIX_TIME_THRESHOLD_S`, a unix timestamp;
- when both are given, the later: waiting less than either would only earn another refusal.

Headers may be given with names in any case.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

# The longest server-requested wait honoured: a call asked to wait longer gives up (RetryPolicy.retry_after_cap_s
# defaults to it), and the limiter pauses every caller for at most this long. Together's SDK trusts at most 60 s,
# OpenAI's 2 minutes; a batch run rather waits two minutes than fails the chunk.
MAX_SERVER_WAIT_S = 120.0
UNIX_TIME_THRESHOLD_S = 1e9  # an x-ratelimit-reset above this is a unix timestamp, not a duration
MS_PER_S = 1000.0


def header_number(value: str | None) -> float | None:
    """A header's value as a finite number, or None."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def server_wait_s(headers: Mapping[str, str], status: int | None = None, now: float | None = None) -> float | None:
    """Seconds (>= 0, not capped) the server asks us to wait before the next request, or None if it asks nothing.

    ``status`` is the answer's status (a 429 says the limit is spent); ``now`` is the unix time the answer is read
    at (default: the clock), for an HTTP date or a unix-timestamp reset.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    at = time.time() if now is None else now
    waits = [wait for wait in (_retry_after_s(lowered, at), _reset_s(lowered, status, at)) if wait is not None]
    return max(waits, default=None)


def _retry_after_s(headers: Mapping[str, str], now: float) -> float | None:
    if (ms := header_number(headers.get("retry-after-ms"))) is not None:
        return max(0.0, ms / MS_PER_S)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    if (seconds := header_number(raw)) is not None:
        return max(0.0, seconds)
    try:
        return max(0.0, parsedate_to_datetime(raw).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def _reset_s(headers: Mapping[str, str], status: int | None, now: float) -> float | None:
    spent = status == 429 or header_number(headers.get("x-ratelimit-remaining")) == 0
    value = header_number(headers.get("x-ratelimit-reset")) if spent else None
    if value is not None and value > UNIX_TIME_THRESHOLD_S:
        value -= now
    return None if value is None else max(0.0, value)
