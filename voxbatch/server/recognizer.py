"""Where recognition runs: in worker processes, so a decode never stalls the server's event loop.

pocketsphinx 5's binding holds Python's GIL for the whole of a decode (seconds for a long region), so
running it on a thread would freeze every other request of the server meanwhile. Each worker is a plain
``python -m voxbatch.server.recognizer_worker`` subprocess fed over its stdin/stdout (not
``multiprocessing``, whose spawned children re-import the parent's ``__main__`` script). Workers are
shared by every server of a process, started on first use, and stopped at exit.

A decode whose caller has left is stopped, not finished: the waiting thread sends the worker a cancel
message when its ``cancel`` event is set, and the worker stops at its next speech region (at most
``SphinxOptions.max_segment_s`` of audio later) and answers "cancelled"; the worker stays warm.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading

import numpy as np
import numpy.typing as npt

from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ, Recognition, RecognitionCancelled

DEFAULT_WORKERS = 2  # one per core of the 2-core target machine; each worker holds one decoder (~100 MB)
HEADER = struct.Struct("<QI")  # request: payload bytes, sample rate; reply: payload bytes, status
CANCEL_MESSAGE = HEADER.pack(0, 0)  # a request with sample rate 0: stop the decode in progress
REPLY_FAILED, REPLY_OK, REPLY_CANCELLED = 0, 1, 2
CANCEL_POLL_S = 0.1  # how often a waiting thread looks at its cancel event while the worker decodes

__all__ = ["RecognitionCancelled", "RecognizerError", "WorkerPool", "recognize", "shared_pool"]


class RecognizerError(RuntimeError):
    """A worker failed or died while recognizing."""


def read_exactly(fd: int, n: int) -> bytes:
    """``n`` bytes from a pipe (unbuffered); EOFError when it closes first."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = os.readv(fd, [view[got:]])
        if k == 0:
            raise EOFError("the other end closed the pipe")
        got += k
    return bytes(buf)


def write_all(fd: int, data: bytes) -> None:
    """All of ``data`` to a pipe (unbuffered)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Worker:
    """One worker process; used by one request at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voxbatch.server.recognizer_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # raw pipes: select() must see every byte the worker wrote
        )

    def recognize(
        self, pcm: npt.NDArray[np.int16], sample_rate_hz: int, cancel: threading.Event | None = None
    ) -> Recognition:
        """Recognize in the worker; when ``cancel`` is set meanwhile, stop it and raise RecognitionCancelled."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        stdin, stdout = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        payload = np.ascontiguousarray(pcm, dtype="<i2").tobytes()
        try:
            write_all(stdin, HEADER.pack(len(payload), sample_rate_hz) + payload)
            cancel_sent = False
            while not select.select([stdout], [], [], CANCEL_POLL_S)[0]:
                if cancel is not None and cancel.is_set() and not cancel_sent:
                    write_all(stdin, CANCEL_MESSAGE)  # only this thread writes to this worker
                    cancel_sent = True
            size, status = HEADER.unpack(read_exactly(stdout, HEADER.size))
            reply = read_exactly(stdout, size)
        except (OSError, EOFError) as exc:
            raise RecognizerError(f"recognizer worker died (exit code {self.proc.poll()})") from exc
        if status == REPLY_CANCELLED:
            raise RecognitionCancelled("the decode was stopped: its caller left")
        if status != REPLY_OK:
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


class WorkerPool:
    """A fixed number of workers, lent out one request at a time (thread-safe)."""

    def __init__(self, size: int = DEFAULT_WORKERS) -> None:
        self.size = size
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(size):
            self._idle.put(None)  # a slot; its worker starts when first needed
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._busy = 0

    @property
    def busy(self) -> int:
        """Requests holding a worker right now (0: the pool is idle)."""
        with self._lock:
            return self._busy

    def recognize(
        self, pcm: npt.NDArray[np.int16], sample_rate_hz: int, cancel: threading.Event | None = None
    ) -> Recognition:
        if cancel is not None and cancel.is_set():
            raise RecognitionCancelled("the caller left before its decode began")
        worker = self._idle.get()
        with self._lock:
            self._busy += 1
        try:
            if cancel is not None and cancel.is_set():
                raise RecognitionCancelled("the caller left before its decode began")
            if worker is None or not worker.alive:
                worker = _Worker()
                with self._lock:
                    self._all.append(worker)
            return worker.recognize(pcm, sample_rate_hz, cancel)
        except RecognizerError:
            if worker is not None:
                worker.stop()
            worker = None  # the slot gets a fresh worker next time
            raise
        finally:
            with self._lock:
                self._busy -= 1
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


async def recognize(
    pcm: npt.NDArray[np.int16], sample_rate_hz: int = SPHINX_SAMPLE_RATE_HZ, cancel: threading.Event | None = None
) -> Recognition:
    """Recognize ``pcm`` in a worker process; the waiting thread blocks on a pipe, not on the GIL.

    Setting ``cancel`` stops the decode (RecognitionCancelled); this returns once the worker has stopped.
    """
    return await asyncio.to_thread(shared_pool().recognize, pcm, sample_rate_hz, cancel)
