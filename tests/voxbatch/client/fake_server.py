"""The local server's answers without its sockets, for :class:`FakeTransport`, and virtual time to run them on.

:class:`FakeServer` answers as ``LocalServer(ServerOptions(faults=..., requests_per_minute=..., burst_requests=...))``
would: the same seeded fault draws (:class:`FaultInjector`), the same token bucket (:class:`RequestLimiter`) on the
clock it is given, the same error bodies and headers (``injected_error``, the bucket's admission headers) and the
same check of model and voice. It answers at once; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import heapq
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

from voxbatch.client.fake_transport import Received, Reply, plausible_reply
from voxbatch.client.transport import SpeechRequest
from voxbatch.server.errors import ApiError
from voxbatch.server.faults import FaultInjector, FaultSpec
from voxbatch.server.gateway import injected_error
from voxbatch.server.ratelimit import RequestLimiter
from voxbatch.server.speech_request import resolve_model_voice

T = TypeVar("T")


class VirtualTime:
    """Fake time for many sleepers at once: when every task is waiting, jump to the earliest wake-up."""

    SETTLE_STEPS = 50  # event-loop turns with nothing due before the clock may jump

    def __init__(self) -> None:
        self.now = 0.0
        self._due: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._due, (self.now + seconds, self._seq, future))
        await future

    async def run(self, work: Awaitable[T]) -> T:
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(self.SETTLE_STEPS):
                await asyncio.sleep(0)
            if self._due and not task.done():
                when, _, future = heapq.heappop(self._due)
                self.now = max(self.now, when)
                if not future.done():
                    future.set_result(None)
        return task.result()


def api_error_reply(error: ApiError) -> Reply:
    """The fake's reply for an error the local server would answer."""
    return Reply(status=error.status, headers=error.headers, body=json.dumps(error.body()).encode())


class FakeServer:
    """A responder for :class:`FakeTransport` that behaves like the local server (see the module docstring)."""

    def __init__(
        self,
        *,
        faults: FaultSpec | None = None,
        requests_per_minute: float | None = None,
        burst_requests: int | None = None,
        clock: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.spec = faults or FaultSpec()
        self.injector = FaultInjector(self.spec)
        self.bucket = RequestLimiter(requests_per_minute, burst_requests, None, clock=clock)
        self.faults: Counter[str] = Counter()  # what the fault draws injected, as the server's stats count them

    def __call__(self, received: Received) -> Reply:
        admission = self.bucket.acquire() if self.bucket.enabled else None
        if admission is not None:
            self.bucket.release()  # the fake answers at once: nothing stays in flight
            if not admission.admitted:
                return api_error_reply(
                    ApiError(
                        429,
                        f"Too many requests ({admission.reason} limit).",
                        type="rate_limit_exceeded",
                        code="dynamic_request_limited",
                        headers=admission.headers(),
                    )
                )
        fault = self.injector.draw()
        if fault != "none":
            self.faults[fault] += 1
        if fault == "drop":
            return Reply(fault="dropped")
        if fault in ("429", "500", "503"):
            limit = None if self.bucket.rpm is None else int(self.bucket.rpm)
            return api_error_reply(injected_error(fault, self.spec.retry_after_s, limit))
        if isinstance(received.request, SpeechRequest):
            opts = received.request.options
            try:
                resolve_model_voice(opts.model, opts.voice)
            except ApiError as exc:
                return api_error_reply(exc)
        if fault == "cut":
            return Reply(fault="cut")
        reply = plausible_reply(received)
        extra = admission.headers() if admission is not None else {}
        return Reply(reply.status, {**extra, **reply.headers}, reply.body, reply.words, reply.ttfb_s, reply.fault)
