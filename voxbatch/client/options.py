"""How a client is configured: one frozen options object, built from arguments or the environment."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from voxbatch.client.errors import ConfigurationError
from voxbatch.client.retry import RetryPolicy
from voxbatch.client.timeouts import CallTimeouts
from voxbatch.environment import API_KEY_ENV as API_KEY_ENV  # read here; listed with the others there
from voxbatch.environment import BASE_URL_ENV as BASE_URL_ENV

DEFAULT_BASE_URL = "https://api.together.xyz/v1"
NO_KEY = "no-key"  # sent to a server on this machine given without a key (local servers ignore it)
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_WRITE_TIMEOUT_S = 60.0  # longest wait to send one block of a request
# How long an attempt may take, start to last byte, and the longest silence inside it, follow the work:
# see voxbatch.client.timeouts.
DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_MAX_KEEPALIVE = 32

Provider = Literal["together", "openai"]


def normalize_base_url(url: str) -> str:
    """``https://host``, ``https://host/`` and ``https://host/v1`` all mean ``https://host/v1``.

    Together's SDK 3.x reads ``TOGETHER_BASE_URL`` as a bare host and adds ``/v1`` per path, older SDKs
    and OpenAI-style clients include ``/v1``; both spellings must work.
    """
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"base URL must start with http:// or https://; got {url!r}")
    return url if url.endswith("/v1") else f"{url}/v1"


@dataclass(frozen=True)
class ClientOptions:
    """Everything a :class:`voxbatch.client.SpeechClient` needs. The key is never shown in a repr."""

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    provider: Provider = "together"
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S
    timeouts: CallTimeouts = field(default_factory=CallTimeouts)  # per attempt, from its work
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_keepalive: int = DEFAULT_MAX_KEEPALIVE
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        if not self.api_key:
            raise ConfigurationError(_missing_key_message())

    @classmethod
    def from_env(cls, api_key: str | None = None, base_url: str | None = None, **kwargs: object) -> ClientOptions:
        """Options from arguments, falling back to ``TOGETHER_API_KEY`` and ``TOGETHER_BASE_URL``.

        A key is required, except by a server on this machine (``localhost`` or a loopback address, such as
        ``voxbatch serve``), which is sent :data:`NO_KEY` when none is given.
        """
        url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        key = api_key or os.environ.get(API_KEY_ENV) or (NO_KEY if is_local_url(url) else None)
        if not key:
            raise ConfigurationError(_missing_key_message())
        return cls(api_key=key, base_url=url, **kwargs)  # type: ignore[arg-type]

    @property
    def origin(self) -> str:
        """The base URL without ``/v1``."""
        return self.base_url[: -len("/v1")]

    @property
    def ws_base_url(self) -> str:
        return "ws" + self.base_url[len("http") :]


def is_local_url(url: str) -> bool:
    """Whether ``url`` names a server on this machine: ``localhost`` (or ``*.localhost``) or a loopback address."""
    host = (urlsplit(normalize_base_url(url)).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: only the machine's resolver knows, and a key is safer than a guess
        return False


def _missing_key_message() -> str:
    return (
        f"no API key: pass api_key=... or set the {API_KEY_ENV} environment variable "
        f"(a server on this machine, given by {BASE_URL_ENV}, needs none)"
    )
