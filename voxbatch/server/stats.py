"""Counters of everything the server was asked, so tests can prove what was (and was not) requested."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
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


class ServerStats:
    """Thread-safe per-endpoint, per-status counts and billing totals, plus a bounded request log."""

    def __init__(self, keep: int = 10000) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._by_endpoint: dict[str, Counter[int]] = {}
            self._faults: Counter[str] = Counter()
            self._characters = 0
            self._audio_seconds = 0.0
            self._log: deque[RequestRecord] = deque(maxlen=self._keep)
            self._since = time.time()

    def record(self, rec: RequestRecord) -> None:
        with self._lock:
            self._by_endpoint.setdefault(rec.path, Counter())[rec.status] += 1
            if rec.fault != "none":
                self._faults[rec.fault] += 1
            self._characters += rec.characters
            self._audio_seconds += rec.audio_seconds
            self._log.append(rec)

    def requests(self, path: str | None = None, status: int | None = None) -> list[RequestRecord]:
        """Logged requests, optionally filtered by path and status."""
        with self._lock:
            return [r for r in self._log if (path is None or r.path == path) and (status is None or r.status == status)]

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
            }
            if include_log:
                out["requests"] = [asdict(r) for r in self._log]
            return out
