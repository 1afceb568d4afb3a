"""A caller who leaves stops its synthesis: a speech request over a raw socket, closed before it is spoken.

To be sure the caller is gone before espeak-ng starts (it takes milliseconds), the test holds the
library's lock until the server has told the work to stop; every wait is a hang guard on an event.
"""

from __future__ import annotations

import json
import socket

from tests.conftest import TEST_API_KEY
from voxbatch.engines import espeak
from voxbatch.server.runner import LocalServer

SPEECH = "/v1/audio/speech"
HANG_GUARD_S = 120.0


def test_a_caller_who_leaves_stops_its_synthesis(make_server) -> None:  # type: ignore[no-untyped-def]
    srv: LocalServer = make_server()
    body = json.dumps({"model": "hexgrad/Kokoro-82M", "voice": "af_heart", "input": "Hello there. " * 100}).encode()
    head = (
        f"POST {SPEECH} HTTP/1.1\r\nHost: {srv.options.host}\r\nAuthorization: Bearer {TEST_API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with espeak._LOCK:  # the synthesis waits here, as it would behind another caller's
        sock = socket.create_connection((srv.options.host, srv.port))
        try:
            sock.sendall(head + body)
            assert srv.stats.wait_until(lambda s: s.in_progress(SPEECH) == 1, HANG_GUARD_S)
        finally:
            sock.close()
        assert srv.stats.wait_until(lambda s: s.stops_asked(SPEECH) == 1, HANG_GUARD_S), srv.stats.snapshot()
    assert srv.stats.wait_until(
        lambda s: s.cancelled(SPEECH) == 1 and s.in_progress() == 0 and s.count(SPEECH, 499) == 1, HANG_GUARD_S
    ), srv.stats.snapshot()
    assert srv.stats.snapshot()["characters_billed"] == 0
