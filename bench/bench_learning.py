"""A limit nobody told us: the client against a strict server at 600 requests/minute, told nothing, then told.

The server is the local one with a token bucket of one (``burst_requests=1``): any two requests closer than 0.1 s
apart get a 429. The client is the run's own (``voxbatch/run/context.py``): one ``SpeechClient`` whose
``AsyncRateLimiter`` learns the limit (``RateLimits(learn=True, max_in_flight=16)``) when no ``--rpm`` is given,
or paces at the given rate. The calls are chunk-like (``speak`` of a tiny text, as the audiobook flow calls it,
16 at a time per chapter, several chapters at once), so the bench measures pacing, not synthesis.

Counts come from the server's own log: failed chunks, the share of requests answered 429, and the achieved rate
of admitted requests after the first 30 s (the learning phase), as a share of the limit.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from voxbatch.client.client import SpeechClient, SpeechOptions
from voxbatch.client.errors import SpeechAPIError
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import RateLimits
from voxbatch.client.options import ClientOptions
from voxbatch.server.options import ServerOptions
from voxbatch.server.runner import LocalServer

LIMIT_RPM = 600.0
SERVER_BURST = 1
CHUNKS = 900  # 90 s at the limit: 60 s measured after the learning phase
CHAPTERS = 6  # chapters synthesized at once, each 16 chunks at a time (voxbatch.pipelines.audiobook.synthesize)
PER_CHAPTER_IN_FLIGHT = 16
RUN_MAX_IN_FLIGHT = 16  # the run's default --max-in-flight
LEARNING_PHASE_S = 30.0
SPEECH_PATH = "/v1/audio/speech"
TEXT = "Hi."
KEY = "bench-key"

# Targets from issue 13.
TARGET_FAILED = 0
TARGET_429_SHARE = 0.05
TARGET_RATE_SHARE = 0.85


@dataclass(frozen=True)
class Outcome:
    """One run's counts (from the server's log) and the limiter's final state."""

    chunks: int
    failed: int
    requests: int
    limited: int
    rate_after_learning_rpm: float
    whole_run_rpm: float
    final_pace_rpm: float | None
    learned_limit_rpm: float | None

    @property
    def limited_share(self) -> float:
        return self.limited / self.requests if self.requests else 0.0


async def _book(server: LocalServer, limiter: AsyncRateLimiter) -> int:
    """Every chunk once, chapter by chapter as the flow does; returns the number of chunks that failed."""
    options = ClientOptions(api_key=KEY, base_url=server.origin)
    opts = SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart")
    failed = 0
    async with SpeechClient(options, limiter=limiter) as client:

        async def chapter(chunks: int) -> None:
            nonlocal failed
            gate = asyncio.Semaphore(PER_CHAPTER_IN_FLIGHT)

            async def one() -> None:
                nonlocal failed
                async with gate:
                    try:
                        await client.speak(TEXT, opts)
                    except SpeechAPIError:
                        failed += 1

            await asyncio.gather(*(one() for _ in range(chunks)))

        sizes = [CHUNKS // CHAPTERS + (1 if i < CHUNKS % CHAPTERS else 0) for i in range(CHAPTERS)]
        await asyncio.gather(*(chapter(n) for n in sizes))
    return failed


def run_book(limits: RateLimits) -> Outcome:
    """One book against a fresh strict server; counts from the server's request log."""
    with LocalServer(
        ServerOptions(port=0, api_key=KEY, requests_per_minute=LIMIT_RPM, burst_requests=SERVER_BURST)
    ) as server:
        limiter = AsyncRateLimiter(limits)
        failed = asyncio.run(_book(server, limiter))
        log = server.stats.requests(SPEECH_PATH)
    admitted = sorted(r.at for r in log if r.status == 200)
    first, last = (admitted[0], admitted[-1]) if admitted else (0.0, 0.0)
    after = [t for t in admitted if t >= first + LEARNING_PHASE_S]
    rate_after = (len(after) - 1) / (after[-1] - after[0]) * 60 if len(after) > 1 else 0.0
    whole = (len(admitted) - 1) / (last - first) * 60 if len(admitted) > 1 else 0.0
    return Outcome(
        chunks=CHUNKS,
        failed=failed,
        requests=len(log),
        limited=sum(1 for r in log if r.status == 429),
        rate_after_learning_rpm=rate_after,
        whole_run_rpm=whole,
        final_pace_rpm=limiter.current_rpm,
        learned_limit_rpm=limiter.learned_limit_rpm,
    )


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def learning_section(repeats: int = 1) -> str:
    told_nothing = [run_book(RateLimits(max_in_flight=RUN_MAX_IN_FLIGHT, learn=True)) for _ in range(repeats)]
    told = [
        run_book(RateLimits(requests_per_minute=LIMIT_RPM, max_in_flight=RUN_MAX_IN_FLIGHT)) for _ in range(repeats)
    ]
    rows = []
    verdicts = []
    for label, runs in (("told nothing (learns the limit)", told_nothing), (f"`--rpm {LIMIT_RPM:.0f}`", told)):
        failed = statistics.median(o.failed for o in runs)
        share = statistics.median(o.limited_share for o in runs)
        rate = statistics.median(o.rate_after_learning_rpm for o in runs)
        whole = statistics.median(o.whole_run_rpm for o in runs)
        requests = statistics.median(o.requests for o in runs)
        limited = statistics.median(o.limited for o in runs)
        pace = runs[-1].final_pace_rpm
        rows.append(
            f"| {label} | {CHUNKS} | {failed:g} | {requests:g} | {limited:g} ({share:.1%}) | "
            f"{rate:.0f}/min ({rate / LIMIT_RPM:.3f}) | {whole:.0f}/min ({whole / LIMIT_RPM:.3f}) | "
            f"{'-' if pace is None else f'{pace:.0f}/min'} |"
        )
        verdicts.append((label, failed, share, rate / LIMIT_RPM))
    _, failed, share, ratio = verdicts[0]
    rpm_label, rpm_failed, rpm_share, rpm_ratio = verdicts[1]
    return "\n".join(
        [
            "## Client: a limit nobody told us",
            "",
            f"A {CHUNKS}-chunk book (`speak` of {TEXT!r}, {CHAPTERS} chapters at once, {PER_CHAPTER_IN_FLIGHT} chunks "
            f"at a time per chapter, run limit {RUN_MAX_IN_FLIGHT} in flight, 6 attempts per chunk) against the local "
            f"server at {LIMIT_RPM:.0f} requests/minute with a bucket of {SERVER_BURST}. Counts from the server's "
            f"log; 'after {LEARNING_PHASE_S:.0f} s' is the admitted rate from {LEARNING_PHASE_S:.0f} s after the "
            f"first admitted request to the last; median of {repeats} run(s).",
            "",
            "| client | chunks | failed | requests | 429s (share) | rate after 30 s (/ limit) | whole run (/ limit) "
            "| final pace |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Targets (issue 13), told nothing: 0 failed chunks: {_met(failed <= TARGET_FAILED)}; 429s under "
            f"{TARGET_429_SHARE:.0%}: {_met(share < TARGET_429_SHARE)}; at least {TARGET_RATE_SHARE} of the limit "
            f"after {LEARNING_PHASE_S:.0f} s: {_met(ratio >= TARGET_RATE_SHARE)}. With {rpm_label}: 0 failed "
            f"{_met(rpm_failed == 0)}, 0 429s {_met(rpm_share == 0)}, rate {rpm_ratio:.3f} of the limit.",
            "",
        ]
    )


def run() -> list[str]:
    return [learning_section()]


if __name__ == "__main__":
    started = time.perf_counter()
    print(learning_section())
    print(f"({time.perf_counter() - started:.0f} s)")
