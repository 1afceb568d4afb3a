"""The one reader of server-requested waits: every header form, which answers they count on, and the cap."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import RateLimits
from voxbatch.client.rate_headers import MAX_SERVER_WAIT_S, UNIX_TIME_THRESHOLD_S, header_number, server_wait_s
from voxbatch.client.retry import RetryPolicy

NOW = 1_780_000_000.0  # a unix time (June 2026) for HTTP dates and timestamp resets


@pytest.mark.parametrize(
    ("headers", "status", "expected"),
    [
        ({"retry-after-ms": "1500"}, 429, 1.5),
        ({"Retry-After-Ms": "250", "retry-after": "9"}, 429, 0.25),  # ms wins, names are case-insensitive
        ({"retry-after-ms": "soon", "retry-after": "2"}, 429, 2.0),  # an unreadable ms value falls back
        ({"retry-after": "3"}, 503, 3.0),
        ({"retry-after": "0.5"}, 429, 0.5),
        ({"RETRY-AFTER": " 4 "}, 500, 4.0),  # read on any answer; the caller decides which answers it heeds
        ({"x-ratelimit-reset": "2.5"}, 429, 2.5),
        ({"x-ratelimit-reset": "2.5"}, 503, None),  # the reset hint counts only when the limit is spent ...
        ({"x-ratelimit-reset": "2.5", "x-ratelimit-remaining": "0"}, 200, 2.5),  # ... a 429, or nothing left
        ({"x-ratelimit-reset": "2.5", "x-ratelimit-remaining": "3"}, 200, None),
        ({"X-RateLimit-Reset": "0.75", "X-RateLimit-Remaining": "0"}, None, 0.75),
        ({"retry-after": "1", "x-ratelimit-reset": "5"}, 429, 5.0),  # both given: the later
        ({"retry-after": "5", "x-ratelimit-reset": "1"}, 429, 5.0),
        ({"retry-after-ms": "500", "x-ratelimit-reset": "oops"}, 429, 0.5),
        ({}, 429, None),
        ({"retry-after": "soon"}, 429, None),
        ({"retry-after": "inf"}, 429, None),  # not a number of seconds
        ({"retry-after": "nan"}, 429, None),
        ({"retry-after": "-4"}, 429, 0.0),  # in the past: go now
        ({"retry-after-ms": "-10"}, 429, 0.0),
        ({"retry-after": "600"}, 429, 600.0),  # not capped here: the retry gives up above its cap
    ],
)
def test_server_wait_from_headers(headers: dict[str, str], status: int | None, expected: float | None) -> None:
    assert server_wait_s(headers, status, now=NOW) == expected


def test_retry_after_as_an_http_date() -> None:
    date = email.utils.formatdate(NOW + 30, usegmt=True)
    assert server_wait_s({"retry-after": date}, 429, now=NOW) == pytest.approx(30.0)
    past = email.utils.formatdate(NOW - 30, usegmt=True)
    assert server_wait_s({"retry-after": past}, 429, now=NOW) == 0.0


def test_reset_as_a_unix_timestamp() -> None:
    assert server_wait_s({"x-ratelimit-reset": str(NOW + 7)}, 429, now=NOW) == pytest.approx(7.0)
    assert server_wait_s({"x-ratelimit-reset": str(NOW - 7)}, 429, now=NOW) == 0.0
    just_below = UNIX_TIME_THRESHOLD_S - 1  # a (very long) duration, not a timestamp
    assert server_wait_s({"x-ratelimit-reset": str(just_below)}, 429, now=NOW) == just_below


def test_httpx_headers_are_read_as_they_come() -> None:
    headers = httpx.Headers({"Retry-After-Ms": "250", "X-RateLimit-Reset": "0.1"})
    assert server_wait_s(headers, 429) == 0.25


def test_without_now_dates_are_read_against_the_clock() -> None:
    date = email.utils.formatdate(2_000_000_000, usegmt=True)  # 2033: in the future for this test's lifetime
    wait = server_wait_s({"retry-after": date})
    assert wait is not None and wait > 0


@pytest.mark.parametrize(("value", "expected"), [("3", 3.0), (" 2.5 ", 2.5), ("x", None), ("inf", None), (None, None)])
def test_header_number(value: str | None, expected: float | None) -> None:
    assert header_number(value) == expected


@pytest.mark.parametrize("asked_s", [MAX_SERVER_WAIT_S - 1, MAX_SERVER_WAIT_S, MAX_SERVER_WAIT_S + 1, 3600.0])
def test_one_cap_for_the_retry_and_the_limiter(asked_s: float) -> None:
    assert MAX_SERVER_WAIT_S == 120.0  # the longest wait honoured: 2 minutes
    limiter = AsyncRateLimiter(RateLimits(), clock=lambda: 0.0)
    limiter.observe(429, {"retry-after": str(asked_s)})
    assert limiter.paused_until == min(asked_s, MAX_SERVER_WAIT_S)  # every caller pauses at most the cap
    policy = RetryPolicy()
    assert policy.retry_after_cap_s == MAX_SERVER_WAIT_S  # a call asked for longer gives up (test_retry)
