"""Counters of everything the server was asked, so tests can prove what was (and was not) requested."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it."""

    at: float  # unix time the answer started
    method: str
    path: str
    status: int
    request_id: str
    model: str | None = None
    voice: str | None = None
    input_sha256: str | None = None  # of the TTS input text, to tell which texts were synthesized
    characters: int = 0  # billed characters (successful TTS only)
    audio_seconds: float = 0.0  # billed audio seconds (successful STT only)
    fault: str = "none"
    transport: str | None = None  # how speech was asked for: "rest", "sse" or "websocket" (None: not speech)


class ServerStats:
    """Thread-safe per-endpoint, per-status counts and billing totals, plus a bounded request log.

    Also the work in progress (decodes and syntheses running now, per endpoint: a gauge that ``reset``
    leaves alone), the most that ran at once (``peak_in_progress``: e.g. both recognizer workers busy together),
    the work-seconds they added up to (``work_s``: the gauge over time, ``clock`` seconds; busy workers times
    time, for benchmarks) and how many were stopped because their caller left (``cancelled``).
    """

    def __init__(self, keep: int = 10000, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._keep = keep
        self._clock = clock
        self._working: Counter[str] = Counter()
        self._version = 0  # bumped at every change, for wait_until
        self.reset()

    def reset(self) -> None:
        with self._lock:
            now = self._clock()
            self._peak: Counter[str] = Counter(self._working)  # since the reset: what runs now, at least
            self._work_s: dict[str, float] = {}
            self._work_since: dict[str, float] = dict.fromkeys(self._working, now)
            self._cancelled: Counter[str] = Counter()
            self._stops_asked: Counter[str] = Counter()
            self._by_endpoint: dict[str, Counter[int]] = {}
            self._faults: Counter[str] = Counter()
            self._characters = 0
            self._audio_seconds = 0.0
            self._log: deque[RequestRecord] = deque(maxlen=self._keep)
            self._since = time.time()
            self._notify()

    def record(self, rec: RequestRecord) -> None:
        with self._lock:
            self._by_endpoint.setdefault(rec.path, Counter())[rec.status] += 1
            if rec.fault != "none":
                self._faults[rec.fault] += 1
            self._characters += rec.characters
            self._audio_seconds += rec.audio_seconds
            self._log.append(rec)
            self._notify()

    def work_started(self, path: str) -> None:
        """A decode or synthesis for ``path`` began."""
        with self._lock:
            self._tally_work(path)
            self._working[path] += 1
            self._peak[path] = max(self._peak[path], self._working[path])
            self._notify()

    def _tally_work(self, path: str) -> None:
        """Add the work done for ``path`` since its gauge last changed (call with the lock held)."""
        now = self._clock()
        since = self._work_since.get(path, now)
        self._work_s[path] = self._work_s.get(path, 0.0) + self._working[path] * (now - since)
        self._work_since[path] = now

    def stop_asked(self, path: str) -> None:
        """Work for ``path`` was told to stop (its caller left); ``work_ended`` follows once it has."""
        with self._lock:
            self._stops_asked[path] += 1
            self._notify()

    def stops_asked(self, path: str | None = None) -> int:
        with self._lock:
            return sum(n for p, n in self._stops_asked.items() if path is None or p == path)

    def work_ended(self, path: str, *, cancelled: bool) -> None:
        """It ended: finished or failed, or ``cancelled`` (stopped part way because its caller left)."""
        with self._lock:
            self._tally_work(path)
            self._working[path] -= 1
            if cancelled:
                self._cancelled[path] += 1
            self._notify()

    def in_progress(self, path: str | None = None) -> int:
        """Decodes and syntheses running now (0: the server is idle)."""
        with self._lock:
            return sum(n for p, n in self._working.items() if path is None or p == path)

    def peak_in_progress(self, path: str | None = None) -> int:
        """The most decodes or syntheses (of ``path``, or of any one endpoint) that ran at once since the reset."""
        with self._lock:
            return max((n for p, n in self._peak.items() if path is None or p == path), default=0)

    def work_s(self, path: str | None = None) -> float:
        """Work-seconds since the reset: each decode or synthesis's running time, added up (two workers busy
        for one second: 2.0). Includes the work running now."""
        with self._lock:
            for p in list(self._working):
                self._tally_work(p)
            return sum(s for p, s in self._work_s.items() if path is None or p == path)

    def cancelled(self, path: str | None = None) -> int:
        """Work stopped part way because its caller left."""
        with self._lock:
            return sum(n for p, n in self._cancelled.items() if path is None or p == path)

    def wait_until(self, condition: Callable[[ServerStats], bool], timeout_s: float) -> bool:
        """Block until ``condition(self)`` holds (checked at every change); False if ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                seen = self._version
            if condition(self):  # outside the lock: the condition calls the counting methods
                return True
            with self._changed:
                while self._version == seen:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._changed.wait(remaining)

    def _notify(self) -> None:
        """Wake every ``wait_until`` (call with the lock held)."""
        self._version += 1
        self._changed.notify_all()

    def requests(self, path: str | None = None, status: int | None = None) -> list[RequestRecord]:
        """Logged requests, optionally filtered by path and status."""
        with self._lock:
            return [r for r in self._log if (path is None or r.path == path) and (status is None or r.status == status)]

    def transports(self, status: int | None = None) -> dict[str, int]:
        """Speech requests per transport (``rest``, ``sse``, ``websocket``), from the request log."""
        with self._lock:
            kinds = [r.transport for r in self._log if r.transport and (status is None or r.status == status)]
        return dict(Counter(kinds))

    def count(self, path: str | None = None, status: int | None = None) -> int:
        with self._lock:
            counters = [c for p, c in self._by_endpoint.items() if path is None or p == path]
            return sum(sum(v for k, v in c.items() if status is None or k == status) for c in counters)

    def snapshot(self, include_log: bool = False) -> dict[str, Any]:
        """A JSON-ready summary (served at ``GET /_voxbatch/stats``)."""
        with self._lock:
            out: dict[str, Any] = {
                "since": self._since,
                "total_requests": sum(sum(c.values()) for c in self._by_endpoint.values()),
                "endpoints": {
                    p: {str(s): n for s, n in sorted(c.items())} for p, c in sorted(self._by_endpoint.items())
                },
                "faults": dict(self._faults),
                "characters_billed": self._characters,
                "audio_seconds_billed": round(self._audio_seconds, 3),
                "in_progress": sum(self._working.values()),
                "peak_in_progress": dict(sorted(self._peak.items())),
                "cancelled": {p: n for p, n in sorted(self._cancelled.items()) if n},
            }
            if include_log:
                out["requests"] = [asdict(r) for r in self._log]
            return out
