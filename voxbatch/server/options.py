"""How a local server instance is configured: one frozen options object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from voxbatch.server.faults import FaultSpec

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_INPUT_CHARS = 4096  # Together publishes no limit; OpenAI's is 4096
DEFAULT_MAX_UPLOAD_BYTES = 80 * 1024 * 1024  # 83886080: Together's direct-upload limit (80 MB)
DEFAULT_MAX_URL_BYTES = 1024 * 1024 * 1024  # 1 GB for files fetched from a URL
DEFAULT_MAX_AUDIO_S = 4 * 3600.0  # 14400 s: Together's 4 h duration limit
DEFAULT_WS_MAX_PARTIAL_CHARS = 250
STREAM_CHUNK_S = 0.25  # audio per SSE/WebSocket delta

StreamShape = Literal["conversation", "legacy"]
RecognizerName = Literal["sphinx", "fake"]


@dataclass(frozen=True)
class ServerOptions:
    """Everything a local server instance needs to know; ``ServerOptions()`` is a sane default."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT  # 0 picks a free port
    api_key: str | None = None  # None accepts any (or no) key; otherwise Bearer must match
    max_input_chars: int = DEFAULT_MAX_INPUT_CHARS
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_url_bytes: int = DEFAULT_MAX_URL_BYTES
    max_audio_s: float = DEFAULT_MAX_AUDIO_S
    requests_per_minute: float | None = None  # None: unlimited
    burst_requests: int | None = None  # bucket size; None: one second's worth (at least 1)
    max_concurrency: int | None = None  # requests in flight; None: unlimited
    stream_shape: StreamShape = "conversation"  # "legacy": {"object":"audio.tts.chunk","b64":...}
    faults: FaultSpec = field(default_factory=FaultSpec)
    recent_requests_kept: int = 10000  # entries in the stats request log
    # "fake": transcriptions come from voxbatch.server.fake_recognizer (tests whose point is not recognition)
    recognizer: RecognizerName = "sphinx"
