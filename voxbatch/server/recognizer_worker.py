"""A recognition worker process: reads PCM requests on stdin, writes pickled results on stdout."""

from __future__ import annotations

import pickle
import sys
import traceback

import numpy as np

from voxbatch.engines.sphinx import SphinxEngine
from voxbatch.server.recognizer import HEADER


def main() -> None:
    engine = SphinxEngine(pool_size=1)  # this process serves one request at a time
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = stdin.read(HEADER.size)
        if len(header) < HEADER.size:
            return  # the server closed our input: time to go
        size, sample_rate_hz = HEADER.unpack(header)
        payload = stdin.read(size)
        try:
            result = engine.recognize(np.frombuffer(payload, dtype="<i2").astype(np.int16), sample_rate_hz)
            reply, ok = pickle.dumps(result), 1
        except Exception:
            reply, ok = traceback.format_exc().encode(), 0
        stdout.write(HEADER.pack(len(reply), ok) + reply)
        stdout.flush()


if __name__ == "__main__":
    main()
