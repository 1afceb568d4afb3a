"""Where recognition runs: in worker processes, so a decode never stalls the server's event loop.

pocketsphinx 5's binding holds Python's GIL for the whole of a decode (seconds for a long region), so
running it on a thread would freeze every other request of the server meanwhile. The workers are
shared by every server of a process, started on first use and stopped at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import numpy.typing as npt

from voxbatch.engines.sphinx import SPHINX_SAMPLE_RATE_HZ, Recognition, SphinxEngine

DEFAULT_WORKERS = 2  # one per core of the 2-core target machine; each worker holds one decoder (~100 MB)

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_engine: SphinxEngine | None = None  # the worker's own engine (one decoder: the worker is single-threaded)


def _recognize_in_worker(pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> Recognition:
    global _engine
    if _engine is None:
        _engine = SphinxEngine(pool_size=1)
    return _engine.recognize(pcm, sample_rate_hz)


def _shared_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # "spawn": the server process runs threads (uvicorn, espeak), which fork would copy mid-flight.
            _pool = ProcessPoolExecutor(DEFAULT_WORKERS, mp_context=multiprocessing.get_context("spawn"))
            atexit.register(shutdown)
        return _pool


def shutdown() -> None:
    """Stop the worker processes (they restart on next use)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def recognize(pcm: npt.NDArray[np.int16], sample_rate_hz: int = SPHINX_SAMPLE_RATE_HZ) -> Recognition:
    """Recognize ``pcm`` in a worker process without blocking the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_shared_pool(), _recognize_in_worker, pcm, sample_rate_hz)
