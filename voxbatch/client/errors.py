"""The one error taxonomy for every provider the client talks to.

::

    SpeechAPIError
    ├── ConfigurationError              missing key, bad base URL (raised before any request)
    ├── LedgerUnavailableError          the ledger could not record a call before it went out: not sent
    ├── APIStatusError                  the server answered with an error status
    │   ├── BadRequestError             400
    │   ├── AuthenticationError         401
    │   ├── PermissionDeniedError       403
    │   ├── NotFoundError               404
    │   ├── RequestTimeoutError         408  (retried)
    │   ├── ConflictError               409  (retried)
    │   ├── RequestTooLargeError        413
    │   ├── UnprocessableEntityError    422
    │   ├── RateLimitError              429  (retried)
    │   └── ServerError                 5xx  (retried)
    ├── APIConnectionError              no answer: refused, reset, dropped   (retried)
    │   └── APITimeoutError             connect/read/total timeout            (retried)
    └── StreamTruncatedError            the answer broke off part-way       (retried)

Status errors carry the status, the request id and the server's own message; a timeout says whether its
request went out (``request_sent``: a connect or pool timeout never sent it, so it cannot have been billed).
No error, message or repr ever contains the API key: messages are built from the server's answer, never from
the request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import httpx

REQUEST_ID_HEADERS = ("x-request-id", "cf-ray", "request-id")
MAX_MESSAGE_CHARS = 500  # of a non-JSON error body kept in the message


class SpeechAPIError(Exception):
    """Base of every error the client raises."""

    retryable = False


class LedgerUnavailableError(SpeechAPIError):
    """The ledger could not record a call before it went out, so it was not sent (nothing was paid)."""


class ConfigurationError(SpeechAPIError):
    """The client is not configured to make requests (e.g. no API key)."""


class APIStatusError(SpeechAPIError):
    """The server answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        request_id: str | None = None,
        error_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.error_type = error_type
        self.code = code
        self.param = param
        self.headers: Mapping[str, str] = dict(headers or {})

    def __str__(self) -> str:
        parts = [f"HTTP {self.status}: {self.message}"]
        if self.code:
            parts.append(f"code={self.code}")
        if self.param:
            parts.append(f"param={self.param}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r}, request_id={self.request_id!r})"


class BadRequestError(APIStatusError):
    """400: the request is invalid; sending it again cannot succeed."""


class AuthenticationError(APIStatusError):
    """401: missing or invalid API key."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this model or endpoint."""


class NotFoundError(APIStatusError):
    """404: unknown endpoint or model."""


class RequestTimeoutError(APIStatusError):
    """408: the server timed out waiting for the request."""

    retryable = True


class ConflictError(APIStatusError):
    """409: a conflicting request is in progress."""

    retryable = True


class RequestTooLargeError(APIStatusError):
    """413: the upload exceeds the provider's limit."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: over the provider's rate limit; honour ``retry-after``."""

    retryable = True


class ServerError(APIStatusError):
    """5xx: the provider failed or is overloaded."""

    retryable = True


class APIConnectionError(SpeechAPIError):
    """No answer arrived: the connection was refused, reset or dropped."""

    retryable = True


class APITimeoutError(APIConnectionError):
    """The connect, read or total timeout expired."""

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent  # False for a connect or pool timeout: the request never went out


class StreamTruncatedError(SpeechAPIError):
    """An answer broke off part-way (a cut body, or a stream without its end marker)."""

    retryable = True


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The request id a provider put in its answer's headers, if any."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return next((lowered[h] for h in REQUEST_ID_HEADERS if h in lowered), None)


def make_status_error(status: int, body: bytes, headers: Mapping[str, str]) -> APIStatusError:
    """The taxonomy's error for an error answer, with the server's message and request id."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIStatusError)
    message, error_type, code, param = _parse_error_body(body)
    return cls(
        message or f"HTTP {status}",
        status=status,
        request_id=request_id_of(headers),
        error_type=error_type,
        code=code,
        param=param,
        headers=headers,
    )


def _parse_error_body(body: bytes) -> tuple[str, str | None, str | None, str | None]:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:MAX_MESSAGE_CHARS], None, None, None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return (
            str(error.get("message") or ""),
            _str_or_none(error.get("type")),
            _str_or_none(error.get("code")),
            _str_or_none(error.get("param")),
        )
    if isinstance(error, str):  # some OpenAI-compatible servers answer {"error": "..."} or {"detail": ...}
        return error, None, None, None
    detail = data.get("detail") if isinstance(data, dict) else None
    return (str(detail) if detail else json.dumps(data)[:MAX_MESSAGE_CHARS]), None, None, None


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def from_transport_error(exc: httpx.TransportError) -> SpeechAPIError:
    """Map an httpx transport failure to the taxonomy (the cause is kept by ``raise ... from exc``).

    The httpx error stays chained for debugging, but without its request: that holds the
    ``Authorization`` header, and Dask (tblib) pickles an exception with its whole chain.
    """
    _forget_request(exc)
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        never_sent = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
        return APITimeoutError(f"{kind}: the request timed out", request_sent=not never_sent)
    if isinstance(exc, httpx.RemoteProtocolError) and "incomplete" in str(exc).lower():
        return StreamTruncatedError(f"{kind}: the answer broke off before it was complete")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError) and "peer closed" in str(exc).lower():
        return StreamTruncatedError(f"{kind}: the answer broke off before it was complete")
    return APIConnectionError(f"{kind}: {_safe(str(exc))}")


def _forget_request(exc: httpx.TransportError) -> None:
    """Drop the request (and so the API key in its headers) that an httpx error carries."""
    if isinstance(exc, httpx.RequestError):
        exc._request = None  # httpx keeps it here; ``exc.request`` then says it is unset


def _safe(text: str) -> str:
    # httpx messages name hosts and sizes, never headers; still, keep them short.
    return text[:MAX_MESSAGE_CHARS]
