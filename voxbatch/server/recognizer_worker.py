"""A recognition worker process: reads PCM requests on stdin, writes pickled results on stdout.

Between two speech regions of a decode it looks, without waiting, for a cancel message on stdin (the
server sends one when the request's caller has left); it then stops and answers ``REPLY_CANCELLED``.
A cancel that arrives after the answer has gone out is read (and ignored) before the next request.
Both pipes are read and written unbuffered (``os.read``/``os.write``), so ``select`` sees every byte.
"""

from __future__ import annotations

import pickle
import select
import traceback

import numpy as np

from voxbatch.engines.sphinx import RecognitionCancelled, SphinxEngine
from voxbatch.server.recognizer import (
    CANCEL_MESSAGE,
    HEADER,
    REPLY_CANCELLED,
    REPLY_FAILED,
    REPLY_OK,
    read_exactly,
    write_all,
)

STDIN_FD = 0
STDOUT_FD = 1


def _cancel_waiting() -> bool:
    """Whether the server has sent a cancel for the decode in progress (consumes it), or has gone away."""
    readable, _, _ = select.select([STDIN_FD], [], [], 0)
    if not readable:
        return False
    try:
        message = read_exactly(STDIN_FD, HEADER.size)
    except EOFError:
        return True  # the server closed our input (it stopped or died): nobody wants this decode
    if message != CANCEL_MESSAGE:  # the server sends nothing else while a decode runs
        raise RuntimeError("recognizer protocol: expected a cancel during a decode")
    return True


def main() -> None:
    engine = SphinxEngine(pool_size=1)  # this process serves one request at a time
    while True:
        try:
            header = read_exactly(STDIN_FD, HEADER.size)
        except EOFError:
            return  # the server closed our input: time to go
        if header == CANCEL_MESSAGE:
            continue  # a cancel for a decode that had already finished
        size, sample_rate_hz = HEADER.unpack(header)
        payload = read_exactly(STDIN_FD, size)
        try:
            pcm = np.frombuffer(payload, dtype="<i2").astype(np.int16)
            result = engine.recognize(pcm, sample_rate_hz, should_stop=_cancel_waiting)
            reply, status = pickle.dumps(result), REPLY_OK
        except RecognitionCancelled:
            reply, status = b"", REPLY_CANCELLED
        except Exception:
            reply, status = traceback.format_exc().encode(), REPLY_FAILED
        try:
            write_all(STDOUT_FD, HEADER.pack(len(reply), status) + reply)
        except BrokenPipeError:
            return  # the server is gone


if __name__ == "__main__":
    main()
