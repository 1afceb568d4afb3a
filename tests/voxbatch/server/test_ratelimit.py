"""The server's own rate limit: RequestLimiter on a fake clock, then 429s over a real socket."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from tests.voxbatch.server.tts_helpers import AUTH, assert_api_error, run, settled
from voxbatch.server.faults import FaultSpec
from voxbatch.server.ratelimit import Admission, RequestLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limiter(rpm: float | None = None, burst: int | None = None, concurrency: int | None = None):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    return RequestLimiter(rpm, burst, concurrency, clock=clock), clock


def take(lim: RequestLimiter) -> Admission:
    """Acquire and release at once (a request that finished)."""
    admission = lim.acquire()
    if admission.admitted:
        lim.release()
    return admission


# --- unit tests on a fake clock ----------------------------------------------------------------------


def test_no_limits_means_disabled() -> None:
    lim, _ = limiter()
    assert not lim.enabled
    assert limiter(rpm=60)[0].enabled
    assert limiter(concurrency=2)[0].enabled


def test_burst_then_refusal_then_refill() -> None:
    lim, clock = limiter(rpm=60, burst=3)
    admitted = [take(lim) for _ in range(3)]
    assert [a.admitted for a in admitted] == [True, True, True]
    assert [a.remaining for a in admitted] == [2, 1, 0]
    assert all(a.limit == 60 and a.reason == "ok" for a in admitted)
    refused = take(lim)
    assert not refused.admitted
    assert refused.reason == "rate"
    assert refused.remaining == 0
    assert refused.reset_s == pytest.approx(1.0)
    clock.advance(0.5)
    assert not take(lim).admitted
    assert take(lim).reset_s == pytest.approx(0.5)
    clock.advance(0.5)
    assert take(lim).admitted
    assert not take(lim).admitted


def test_default_burst_is_one_seconds_worth() -> None:
    for rpm, burst in ((120, 2), (600, 10), (30, 1), (1, 1)):
        lim, _ = limiter(rpm=rpm)
        results = [take(lim).admitted for _ in range(burst + 1)]
        assert results == [True] * burst + [False], rpm


def test_refill_never_exceeds_the_burst() -> None:
    lim, clock = limiter(rpm=60, burst=2)
    clock.advance(3600)
    assert [take(lim).admitted for _ in range(3)] == [True, True, False]


def test_admitted_reset_is_time_until_the_bucket_is_full() -> None:
    lim, _ = limiter(rpm=60, burst=4)
    assert take(lim).reset_s == pytest.approx(1.0)
    assert take(lim).reset_s == pytest.approx(2.0)


def test_refused_wait_rounds_up_in_retry_headers() -> None:
    lim, _ = limiter(rpm=40, burst=1)  # one token per 1.5 s
    assert take(lim).admitted
    refused = take(lim)
    assert refused.reset_s == pytest.approx(1.5)
    headers = refused.headers()
    assert headers["retry-after"] == "2"
    assert headers["retry-after-ms"] == "1500"
    assert headers["x-ratelimit-limit"] == "40"
    assert headers["x-ratelimit-remaining"] == "0"
    assert headers["x-ratelimit-reset"] == "1.500"


def test_admitted_headers_have_no_retry_after() -> None:
    lim, _ = limiter(rpm=60, burst=2)
    headers = take(lim).headers()
    assert set(headers) == {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}
    assert headers["x-ratelimit-remaining"] == "1"


def test_a_concurrency_cap_sends_no_rate_headers() -> None:
    lim, _ = limiter(concurrency=1)
    admitted = lim.acquire()
    assert admitted.admitted and admitted.headers() == {}
    refused = lim.acquire()
    assert refused.reason == "concurrency" and set(refused.headers()) == {"retry-after", "retry-after-ms"}
    both, _ = limiter(rpm=60, burst=2, concurrency=1)
    assert both.acquire().headers()["x-ratelimit-limit"] == "60"
    assert set(both.acquire().headers()) == {"retry-after", "retry-after-ms"}  # refused for concurrency


def test_retry_after_is_at_least_one_second() -> None:
    refused = Admission(False, "rate", 600, 0, 0.05)
    assert refused.headers()["retry-after"] == "1"
    assert refused.headers()["retry-after-ms"] == "50"


def test_concurrency_cap_and_release() -> None:
    lim, _ = limiter(concurrency=2)
    first, second = lim.acquire(), lim.acquire()
    assert first.admitted and second.admitted
    assert first.limit is None  # a cap in flight, not a rate: it is not stated as one
    refused = lim.acquire()
    assert not refused.admitted
    assert refused.reason == "concurrency"
    assert refused.headers()["retry-after"] == "1"
    lim.release()
    assert lim.acquire().admitted
    assert not lim.acquire().admitted


def test_release_never_goes_below_zero() -> None:
    lim, _ = limiter(concurrency=1)
    lim.release()
    lim.release()
    assert lim.acquire().admitted
    assert not lim.acquire().admitted


def test_concurrency_refusal_does_not_spend_a_token() -> None:
    lim, _ = limiter(rpm=60, burst=2, concurrency=1)
    assert lim.acquire().admitted  # token 1, slot taken
    assert lim.acquire().reason == "concurrency"
    lim.release()
    assert lim.acquire().admitted  # token 2 was still there
    lim.release()
    assert take(lim).reason == "rate"


def test_thread_safe_under_contention() -> None:
    lim, _ = limiter(rpm=60, burst=100)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            admitted = take(lim).admitted
            with lock:
                results.append(admitted)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 100


# --- over a real socket -------------------------------------------------------------------------------


def test_429_with_headers_then_recovery(make_server) -> None:
    limited = make_server(requests_per_minute=120, burst_requests=2)
    url = f"{limited.base_url}/models"
    with httpx.Client(headers=AUTH, timeout=30) as client:
        ok = [client.get(url) for _ in range(2)]
        refused = client.get(url)
        assert [r.status_code for r in ok] == [200, 200]
        assert [r.headers["x-ratelimit-remaining"] for r in ok] == ["1", "0"]  # on 2xx answers too
        assert all(r.headers["x-ratelimit-limit"] == "120" for r in ok)
        assert_api_error(refused, 429, code="dynamic_request_limited", type_="rate_limit_exceeded")
        assert refused.headers["x-ratelimit-limit"] == "120"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        wait_ms = int(refused.headers["retry-after-ms"])
        assert 0 < wait_ms <= 500
        assert int(refused.headers["retry-after"]) == 1
        assert float(refused.headers["x-ratelimit-reset"]) == pytest.approx(wait_ms / 1000, abs=0.002)
        assert refused.headers["x-request-id"]
        time.sleep(wait_ms / 1000 + 0.02)
        assert client.get(url).status_code == 200
    settled(limited, 4)
    assert limited.stats.count("/v1/models", 429) == 1
    assert limited.stats.count("/v1/models", 200) == 3


def test_auth_failures_do_not_spend_the_rate(make_server) -> None:
    limited = make_server(requests_per_minute=60, burst_requests=1)
    for _ in range(3):
        assert httpx.get(f"{limited.base_url}/models", timeout=30).status_code == 401
    assert httpx.get(f"{limited.base_url}/models", headers=AUTH, timeout=30).status_code == 200


def test_admin_routes_are_not_limited(make_server) -> None:
    limited = make_server(requests_per_minute=60, burst_requests=1)
    for _ in range(3):
        assert httpx.get(f"{limited.origin}/_voxbatch/stats", timeout=30).status_code == 200


def test_concurrency_cap_over_sockets(make_server) -> None:
    capped = make_server(max_concurrency=1, faults=FaultSpec(ttfb_ms=300))
    url = f"{capped.base_url}/models"

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(headers=AUTH, timeout=30) as client:
            slow = asyncio.create_task(client.get(url))
            deadline = time.monotonic() + 10
            while capped.state.limiter._in_flight < 1:  # the slow request holds the only slot
                assert time.monotonic() < deadline
                await asyncio.sleep(0.005)
            refused = await client.get(url)
            first = await slow
            return first, refused, await client.get(url)

    first, refused, after = run(scenario())
    assert first.status_code == 200
    assert_api_error(refused, 429, code="dynamic_request_limited")
    assert "concurrency" in refused.json()["error"]["message"]
    # A cap in flight is not a rate: no x-ratelimit-* a learning client would read as "1 request a minute".
    assert not any(name.startswith("x-ratelimit") for name in refused.headers)
    assert not any(name.startswith("x-ratelimit") for name in first.headers)
    assert refused.headers["retry-after"] == "1"
    assert after.status_code == 200
