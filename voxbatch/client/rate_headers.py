"""Reading a server's rate-limit answer headers: how long it asks us to pause, and the numbers it states.

``retry-after-ms`` first (more precise), then ``retry-after`` in seconds or as an HTTP date; ``x-ratelimit-reset``
as a duration or a unix timestamp. Pauses are cut to ``MAX_SERVER_PAUSE_S`` (the SDKs distrust longer ones too).
Headers are given with lower-case names.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

MAX_SERVER_PAUSE_S = 60.0  # longer retry-after/reset values are cut to this (the SDKs distrust them too)
UNIX_TIME_THRESHOLD_S = 1e9  # an x-ratelimit-reset above this is a unix timestamp, not a duration


def header_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _clamp_pause(seconds: float | None) -> float | None:
    if seconds is None or seconds <= 0:
        return None
    return min(seconds, MAX_SERVER_PAUSE_S)


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms`` first (more precise), then ``retry-after`` in seconds or as an HTTP date."""
    if (ms := header_number(headers.get("retry-after-ms"))) is not None:
        return _clamp_pause(ms / 1000)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    if (seconds := header_number(raw)) is not None:
        return _clamp_pause(seconds)
    try:
        return _clamp_pause(parsedate_to_datetime(raw).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def reset_s(headers: Mapping[str, str]) -> float | None:
    """``x-ratelimit-reset`` as seconds from now (a duration, or a unix timestamp from some providers)."""
    value = header_number(headers.get("x-ratelimit-reset"))
    if value is not None and value > UNIX_TIME_THRESHOLD_S:
        value -= time.time()
    return _clamp_pause(value)
