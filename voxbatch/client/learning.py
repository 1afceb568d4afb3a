"""How the in-process limiter (:mod:`voxbatch.client.limiter`) answers the server: backing off on 429s, pausing for
the waits it asks for, and learning a rate limit nobody told it; and the tuning it learns with.

**Adaptive** (``RateLimits.adaptive``): the configured rates are a ceiling, not a promise. A 429 multiplies the
current rate by ``backoff_factor`` (never below ``min_rate_fraction`` of the configured rate);
``recovery_successes`` consecutive 2xx answers raise it by ``recovery_factor`` (never above the configured rate).
``retry-after`` / ``retry-after-ms`` on a 429 or 503, and ``x-ratelimit-reset`` on a 429 or on any answer with
``x-ratelimit-remaining: 0``, pause every new slot until that time (read by
:func:`voxbatch.client.rate_headers.server_wait_s`, at most ``MAX_SERVER_WAIT_S``; counted from when the answer
is read: later than the server meant, never earlier). Only a 429 for a request
sent *after* the last decrease lowers the rate again: a burst of refusals for requests already on their way is
one signal, not sixteen. With ``adaptive=False`` answers are ignored and only the configured pacing applies.

**Learning** (``RateLimits(learn=True)`` with no ``requests_per_minute``): the limit nobody told us. The limiter
starts with ``LEARN_INITIAL_IN_FLIGHT`` calls in flight and no pace, and learns from every answer:

- ``x-ratelimit-limit`` (requests per ``limit_header_window_s``; the latest value wins, limits change) is the
  server's limit; the pace is set ``learned_headroom`` under it at once. Starts are spaced by the pace, and a late
  wake-up is made up only within that headroom, so two starts are never closer than the limit allows. A
  ``remaining: 0`` pause still counts from when the answer is read: on a loaded machine that margin is what
  keeps a strict server's 429s rare (measured: BENCHMARKS.md).
- The window of ``x-ratelimit-limit`` is assumed, not known (Together does not document it and measures per
  second), so the stated limit stays the ceiling only while ``x-ratelimit-remaining`` agrees: once at least
  ``RELEASE_STREAK_ANSWERS`` 2xx answers in a row (and more than the limit's count) each say at least
  ``RELEASE_REMAINING_SHARE`` of the limit remains, although ``RELEASE_USED_SHARE`` of it was started within the
  assumed window before each (a per-window count would have drained it), the window must be shorter: the limit
  is released for good (``stated_limit_released``) and the pace probes past the rate the server kept accepting as
  with no limit stated. A strict token bucket (``remaining`` 0 or 1), a per-window count that drains, and answers
  without ``remaining`` never release it.
- A 429 for a request sent before any pace was known only teaches the limit its headers state. A 429 (for a
  request sent after the last decrease) while pacing under that limit means arrivals bunched on their way (or
  someone shares the budget): the pace steps down by ``UNDER_LIMIT_BACKOFF`` and the headroom grows by
  ``HEADROOM_STEP`` (it gives back ``HEADROOM_DECAY`` per round of successes): the headroom is learned too.
  With no limit stated, a 429 multiplies the pace (before any pace: the rate requests were starting at) by
  ``backoff_factor`` and remembers where trouble began.
- Each 429 also narrows the calls in flight by ``backoff_factor`` (never below one, nor below what the pace keeps
  in flight at the calls' usual duration); each 2xx widens them, by one per answer until the first 429 (slow
  start), then by one per window of answers, up to ``max_in_flight``.
- ``recovery_successes`` 2xx answers in a row raise the pace by ``recovery_factor``: up to the stated limit less
  the headroom, or, with none stated, up to just under where trouble began and then past it by ``PROBE_STEP`` per
  round, until the next 429.
"""

from __future__ import annotations

LEARN_INITIAL_IN_FLIGHT = 4  # learning starts with this many calls in flight until answers say more
PROBE_STEP = 0.05  # past the pace that drew the last 429, the pace rises by this share per recovery round
OBSERVED_RATE_WINDOW_S = 5.0  # before any pace, a 429 halves the start rate measured over this window
OBSERVED_RATE_MIN_SPAN_S = 1.0  # ... counted over at least this long (a burst at one instant is not infinitely fast)
RECENT_STARTS_KEPT = 64
UNDER_LIMIT_BACKOFF = 0.8  # a 429 while pacing under the server's stated limit: bunched arrivals, not a wrong rate
HEADROOM_STEP = 0.02  # ... and the headroom under the limit grows by this (arrivals jitter more than we allowed for)
MAX_HEADROOM = 0.25
HEADROOM_DECAY = 0.002  # each recovery round without a 429 gives this much headroom back (down to the configured)
LATENCY_SMOOTHING = 0.2  # weight of the newest answer in the running mean of how long a call takes
WINDOW_LATENCY_MARGIN = 1.5  # the window never shrinks below this many times the calls the pace keeps in flight
# The safety valve on a stated limit whose window we only assume (limit_header_window_s): it stops being the ceiling
# after this many 2xx answers in a row (and more than the stated limit's count), each saying at least
# RELEASE_REMAINING_SHARE of the limit remains although we had started RELEASE_USED_SHARE of it within the window.
RELEASE_STREAK_ANSWERS = 20
RELEASE_REMAINING_SHARE = 0.5
RELEASE_USED_SHARE = 0.75
