"""When to try a call again, and how long to wait first (tenacity, composed from named parts).

- **What is retried:** 408, 409, 429, 5xx, connection errors, timeouts and cut streams (the errors
  marked ``retryable`` in :mod:`voxbatch.client.errors`); never 400/401/403/404/413/422.
- **How long to wait:** what the server asked for (:func:`voxbatch.client.rate_headers.server_wait_s`:
  ``retry-after-ms`` or ``retry-after`` in seconds or as an HTTP date, and ``x-ratelimit-reset`` when the
  limit is spent; the later of the two) plus up to 25 % jitter, never less, up to ``retry_after_cap_s``
  (default ``MAX_SERVER_WAIT_S``, 120 s); otherwise full-jitter exponential backoff,
  ``uniform(0, min(cap, base * 2**n))``. A server asking for more than the cap ends the retries: waiting
  less would only earn another 429.
- **A 429 behind a limiter that holds it** (``limiter_waits``: the shared limiter has heard the 429, pauses
  every caller for the server's wait and paces them one by one): no private sleep at all, the retry queues
  in the limiter at once. Callers refused at the same instant then start one pacing interval apart instead
  of waking together and colliding again. A wait longer than the limiter's longest pause
  (``MAX_SERVER_WAIT_S``; only a policy with a higher ``retry_after_cap_s`` honours one) is still slept here.
- **When to stop:** after ``max_attempts`` attempts, or when the next wait would pass the call's
  ``deadline_s``.

Each retry is logged (reason and wait) and counted in a :class:`RetryStats` the caller owns, so
attempts and total wait are known even when the call finally fails.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from voxbatch.client.errors import APIStatusError, SpeechAPIError
from voxbatch.client.rate_headers import MAX_SERVER_WAIT_S, server_wait_s
from voxbatch.defaults import MAX_ATTEMPTS_PER_CALL

logger = logging.getLogger("voxbatch.client.retry")

T = TypeVar("T")

DEFAULT_DEADLINE_S = 300.0
DEFAULT_BACKOFF_BASE_S = 0.5
DEFAULT_BACKOFF_CAP_S = 20.0
SERVER_WAIT_JITTER = 0.25  # up to 25 % added to a server-requested wait


@dataclass(frozen=True)
class RetryPolicy:
    """How a call is retried.

    Example::

        RetryPolicy(max_attempts=5, deadline_s=120, backoff_base_s=0.5, backoff_cap_s=8)
    """

    max_attempts: int = MAX_ATTEMPTS_PER_CALL
    deadline_s: float = DEFAULT_DEADLINE_S  # whole call, attempts and waits together
    backoff_base_s: float = DEFAULT_BACKOFF_BASE_S
    backoff_cap_s: float = DEFAULT_BACKOFF_CAP_S
    retry_after_cap_s: float = MAX_SERVER_WAIT_S  # longest server-requested wait we honour

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.deadline_s <= 0 or self.backoff_base_s < 0 or self.backoff_cap_s < 0:
            raise ValueError("max_attempts must be >= 1, deadline_s > 0 and backoff times >= 0")


@dataclass
class RetryStats:
    """What retrying cost one call (filled in as it goes; readable after success or failure)."""

    attempts: int = 0
    retry_wait_s: float = 0.0
    last_error: str | None = None


def is_retryable(exc: BaseException) -> bool:
    """The taxonomy decides: 408/409/429/5xx, connection, timeout and truncation errors."""
    return isinstance(exc, SpeechAPIError) and exc.retryable


class wait_server_or_full_jitter:  # tenacity names its wait strategies in lower case
    """Wait what the server asked (up to a cap), else full-jitter exponential backoff."""

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None, limiter_waits: bool = False) -> None:
        self.policy = policy
        self.rng = rng or random.Random()
        self.limiter_waits = limiter_waits  # a 429's wait is the shared limiter's (see the module docstring)
        self._decided: dict[int, tuple[float, float | None]] = {}  # attempt -> (wait, what the server asked)

    def decide(self, state: RetryCallState) -> tuple[float, float | None]:
        """The wait after this attempt and the wait the server asked for, if any (drawn once per attempt)."""
        if state.attempt_number not in self._decided:
            exc = state.outcome.exception() if state.outcome else None
            asked = server_wait_s(exc.headers, exc.status) if isinstance(exc, APIStatusError) else None
            held = self.limiter_waits and isinstance(exc, APIStatusError) and exc.status == 429
            if held and (asked is None or asked <= MAX_SERVER_WAIT_S):
                self._decided[state.attempt_number] = (0.0, asked)  # the shared limiter waits
            elif asked is not None:
                # Never earlier than asked; a little later at random, so callers told the same instant
                # do not all come back at once and trip the limit again.
                self._decided[state.attempt_number] = (asked * (1 + SERVER_WAIT_JITTER * self.rng.random()), asked)
            else:
                exponent = state.attempt_number - 1
                ceiling = min(self.policy.backoff_cap_s, self.policy.backoff_base_s * 2**exponent)
                self._decided[state.attempt_number] = (self.rng.uniform(0.0, ceiling), None)
        return self._decided[state.attempt_number]

    def __call__(self, state: RetryCallState) -> float:
        return self.decide(state)[0]


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    stats: RetryStats,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
    what: str = "call",
    limiter_waits: bool = False,
) -> T:
    """Run ``attempt`` until it succeeds or the policy gives up; re-raise the last error then.

    ``limiter_waits``: ``attempt`` waits in a shared limiter that has heard every 429 (pause and pacing), so a
    429's retry does not sleep on its own.
    """
    started = clock()
    wait = wait_server_or_full_jitter(policy, rng, limiter_waits)

    def stop(state: RetryCallState) -> bool:
        if stop_after_attempt(policy.max_attempts)(state):
            return True
        next_wait, asked = wait.decide(state)
        if asked is not None and asked > policy.retry_after_cap_s:  # what it asked, not the jittered wait
            logger.warning(
                "%s: server asks to wait %.1f s (cap %.1f s); giving up", what, asked, policy.retry_after_cap_s
            )
            return True
        return clock() - started + next_wait > policy.deadline_s

    async def counted_sleep(seconds: float) -> None:
        stats.retry_wait_s += seconds
        await sleep(seconds)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        queued = " (queued in the shared limiter)" if wait.limiter_waits and delay == 0 else ""
        attempt_number = state.attempt_number
        logger.warning(
            "%s: attempt %d failed (%s); retrying in %.2f s%s", what, attempt_number, _describe(exc), delay, queued
        )

    retrying = AsyncRetrying(
        retry=retry_if_exception(is_retryable),
        stop=stop,
        wait=wait,
        sleep=counted_sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    async for attempt_state in retrying:
        with attempt_state:
            stats.attempts += 1
            try:
                return await attempt()
            except SpeechAPIError as exc:
                stats.last_error = _describe(exc)
                raise
    raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no error"
    return f"{type(exc).__name__}: {exc}"
