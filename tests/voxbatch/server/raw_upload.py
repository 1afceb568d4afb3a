"""A transcription request sent over a raw socket, so a test can leave (close it) while the server works on it."""

from __future__ import annotations

import socket
import uuid

from tests.conftest import TEST_API_KEY
from voxbatch.server.runner import LocalServer

TRANSCRIPTIONS = "/v1/audio/transcriptions"


def multipart(audio: bytes, filename: str) -> tuple[bytes, str]:
    """A transcription form (model, json answer, the file) and its boundary."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nopenai/whisper-large-v3\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="response_format"\r\n\r\njson\r\n'.encode(),
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + audio
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts), boundary


def send_transcription(srv: LocalServer, audio: bytes, filename: str) -> socket.socket:
    """Send a whole transcription request for ``audio``; the socket stays open (close it to leave)."""
    body, boundary = multipart(audio, filename)
    head = (
        f"POST {TRANSCRIPTIONS} HTTP/1.1\r\nHost: {srv.options.host}\r\n"
        f"Authorization: Bearer {TEST_API_KEY}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock = socket.create_connection((srv.options.host, srv.port))
    try:
        sock.sendall(head + body)
    except BaseException:
        sock.close()
        raise
    return sock
