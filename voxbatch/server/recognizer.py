"""Where recognition runs: in worker processes, so a decode never stalls the server's event loop.

pocketsphinx 5's binding holds Python's GIL for the whole of a decode (seconds for a long region), so
running it on a thread would freeze every other request of the server meanwhile. Each worker is a plain
``python -m voxbatch.server.recognizer_worker`` subprocess fed over its stdin/stdout (not
``multiprocessing``, whose spawned children re-import the parent's ``__main__`` script). Workers are
shared by every server of a process, started on first use, and stopped at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import pickle
import queue
import struct
import subprocess
import sys
import threading

import numpy as np
import numpy.typing as npt

from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ, Recognition

DEFAULT_WORKERS = 2  # one per core of the 2-core target machine; each worker holds one decoder (~100 MB)
HEADER = struct.Struct("<QI")  # payload bytes, sample rate (request); payload bytes, 0 (reply)


class RecognizerError(RuntimeError):
    """A worker failed or died while recognizing."""


class _Worker:
    """One worker process; used by one request at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voxbatch.server.recognizer_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def recognize(self, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> Recognition:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        payload = np.ascontiguousarray(pcm, dtype="<i2").tobytes()
        try:
            self.proc.stdin.write(HEADER.pack(len(payload), sample_rate_hz) + payload)
            self.proc.stdin.flush()
            size, ok = HEADER.unpack(_read_exactly(self.proc.stdout, HEADER.size))
            reply = _read_exactly(self.proc.stdout, size)
        except (OSError, EOFError) as exc:
            raise RecognizerError(f"recognizer worker died (exit code {self.proc.poll()})") from exc
        if not ok:
            raise RecognizerError(reply.decode("utf-8", "replace"))
        result = pickle.loads(reply)  # our own worker's output, never outside data
        assert isinstance(result, Recognition)
        return result

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _read_exactly(stream: object, n: int) -> bytes:
    chunks: list[bytes] = []
    while n > 0:
        chunk = stream.read(n)  # type: ignore[attr-defined]
        if not chunk:
            raise EOFError("worker closed its output")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


class WorkerPool:
    """A fixed number of workers, lent out one request at a time (thread-safe)."""

    def __init__(self, size: int = DEFAULT_WORKERS) -> None:
        self.size = size
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(size):
            self._idle.put(None)  # a slot; its worker starts when first needed
        self._all: list[_Worker] = []
        self._lock = threading.Lock()

    def recognize(self, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> Recognition:
        worker = self._idle.get()
        try:
            if worker is None or not worker.alive:
                worker = _Worker()
                with self._lock:
                    self._all.append(worker)
            return worker.recognize(pcm, sample_rate_hz)
        except RecognizerError:
            if worker is not None:
                worker.stop()
            worker = None  # the slot gets a fresh worker next time
            raise
        finally:
            self._idle.put(worker)

    def stop(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.stop()


_pool_lock = threading.Lock()
_pool: WorkerPool | None = None


def shared_pool() -> WorkerPool:
    """The process-wide pool (created on first use, stopped at exit)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool()
            atexit.register(_pool.stop)
        return _pool


async def recognize(pcm: npt.NDArray[np.int16], sample_rate_hz: int = SPHINX_SAMPLE_RATE_HZ) -> Recognition:
    """Recognize ``pcm`` in a worker process; the waiting thread blocks on a pipe, not on the GIL."""
    return await asyncio.to_thread(shared_pool().recognize, pcm, sample_rate_hz)
