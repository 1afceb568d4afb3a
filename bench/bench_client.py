"""The client: does it reach the configured rate without 429s, and what does it cost over bare httpx?

Both comparisons run in the same process against the local server over loopback.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from voxbatch.client.client import SpeechClient, SpeechOptions
from voxbatch.client.limiter import AsyncRateLimiter
from voxbatch.client.limits import RateLimits
from voxbatch.client.options import ClientOptions
from voxbatch.server.options import ServerOptions
from voxbatch.server.runner import LocalServer

RATE_CALLS = 2000
RATE_RPM = 3000.0  # 50 calls/s: 2,000 calls take 40 s at the limit
SERVER_BURST = 3  # the server's bucket; the client is configured with the server's exact rate
RATE_CONCURRENCY = 32
OVERHEAD_CALLS = 2000
OVERHEAD_CONCURRENCY = 8
OVERHEAD_REPEATS = 3
TEXT = "Hi."
BODY = {
    "model": "hexgrad/Kokoro-82M",
    "voice": "af_heart",
    "input": TEXT,
    "response_format": "raw",
    "response_encoding": "pcm_s16le",
}
KEY = "bench-key"


async def _client_run(server: LocalServer, calls: int, concurrency: int, limiter: AsyncRateLimiter | None) -> float:
    options = ClientOptions(api_key=KEY, base_url=server.origin)
    gate = asyncio.Semaphore(concurrency)
    records: list[object] = []  # the ledger sink: every call builds its record, as in a real run
    async with SpeechClient(options, limiter=limiter, ledger=records.append) as client:
        opts = SpeechOptions(model="hexgrad/Kokoro-82M", voice="af_heart")

        async def one() -> None:
            async with gate:
                await client.speak(TEXT, opts)

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(calls)))
        return time.perf_counter() - start


async def _bare_run(server: LocalServer, calls: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}"}) as http:

        async def one() -> None:
            async with gate:
                response = await http.post("/audio/speech", json=BODY)
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(calls)))
        return time.perf_counter() - start


def rate_section() -> str:
    with LocalServer(
        ServerOptions(port=0, api_key=KEY, requests_per_minute=RATE_RPM, burst_requests=SERVER_BURST)
    ) as srv:
        limiter = AsyncRateLimiter(RateLimits(requests_per_minute=RATE_RPM))
        elapsed = asyncio.run(_client_run(srv, RATE_CALLS, RATE_CONCURRENCY, limiter))
        limited = srv.stats.count("/v1/audio/speech", 429)
    # Between the first and the last start there are calls - 1 intervals of 60/rpm seconds.
    achieved_rpm = (RATE_CALLS - 1) / elapsed * 60
    return "\n".join(
        [
            "## Client: achieved rate against a known limit",
            "",
            f"{RATE_CALLS} speech calls, {RATE_CONCURRENCY} in flight, client limiter and server both at "
            f"{RATE_RPM:.0f} requests/minute (server bucket: {SERVER_BURST}).",
            "",
            "| configured | achieved | achieved / configured | 429s |",
            "|---|---|---|---|",
            f"| {RATE_RPM:.0f}/min | {achieved_rpm:.0f}/min | {achieved_rpm / RATE_RPM:.3f} | {limited} |",
            "",
        ]
    )


def overhead_section() -> str:
    with LocalServer(ServerOptions(port=0, api_key=KEY)) as srv:
        asyncio.run(_bare_run(srv, 50, OVERHEAD_CONCURRENCY))  # warm up
        bare, client = [], []
        for _ in range(OVERHEAD_REPEATS):  # interleaved, so drift in the machine hits both alike
            bare.append(asyncio.run(_bare_run(srv, OVERHEAD_CALLS, OVERHEAD_CONCURRENCY)))
            client.append(asyncio.run(_client_run(srv, OVERHEAD_CALLS, OVERHEAD_CONCURRENCY, None)))
    bare_s, client_s = statistics.median(bare), statistics.median(client)
    return "\n".join(
        [
            "## Client: overhead over a bare asyncio + httpx loop",
            "",
            f"{OVERHEAD_CALLS} identical speech calls, {OVERHEAD_CONCURRENCY} in flight, no rate limit; median of "
            f"{OVERHEAD_REPEATS} interleaved runs. The client adds retries, timing, typed results and ledger records.",
            "",
            "| loop | wall time | per call | ratio |",
            "|---|---|---|---|",
            f"| bare httpx | {bare_s:.2f} s | {bare_s / OVERHEAD_CALLS * 1000:.2f} ms | 1.00x |",
            f"| voxbatch SpeechClient | {client_s:.2f} s | {client_s / OVERHEAD_CALLS * 1000:.2f} ms | "
            f"{client_s / bare_s:.2f}x |",
            "",
        ]
    )


def run() -> list[str]:
    return [rate_section(), overhead_section()]
