"""Exception hierarchy of the EggAPI client.

Every failure the client raises is an :class:`EggAPIError`. Attributes:

* ``status`` - HTTP status, or ``None`` when no response was received.
* ``code`` - the upstream ``error.code`` (``"VALIDATION_ERROR"`` ...), ``"HTTP_<status>"``
  when the body carried no usable code, or a client-side code such as ``"TRANSPORT"``.
* ``message`` - raw upstream/diagnostic text, for logs only (never show it to users).
* ``retry_after`` - seconds from a ``Retry-After`` header, if one was sent.
* ``retryable`` - whether repeating the same *idempotent* request may succeed.
* ``user_message`` - a polite, sanitised sentence that is safe to show in Discord (English).
* ``user_key`` - the catalogue key of that sentence (``bot.i18n``), to show it in the reader's language.

Hierarchy::

    EggAPIError
    +-- EggAPIClientError          any other 4xx (unknown code / no envelope)
    |   +-- BadRequest             400 BAD_REQUEST
    |   +-- ValidationFailed       400 VALIDATION_ERROR
    |   +-- Unauthorized           401 UNAUTHORIZED
    |   +-- Forbidden              403 FORBIDDEN
    |   +-- InsufficientBalance    403 INSUFFICIENT_BALANCE
    |   +-- NotFound               404 NOT_FOUND
    +-- EggAPIUnavailable          "upstream down": retryable, catch this to say "try later"
    |   +-- RateLimited            429 RATE_LIMITED (after retries were exhausted)
    |   +-- TransportError         timeout / connection failure, no HTTP answer
    |   +-- EggAPIServerError      any other 5xx (unknown code / HTML proxy page)
    |       +-- InternalError      500 INTERNAL_ERROR
    |       +-- UpstreamError      502 UPSTREAM_ERROR
    |       +-- ServiceUnavailable 503 SERVICE_UNAVAILABLE
    +-- MalformedResponse          2xx answer that is not the documented shape
    +-- DownloadTooLarge           output file larger than the caller's ``max_bytes``
    +-- SubmitOutcomeUnknown       POST /v1/generate may or may not have created a task

:class:`SubmitOutcomeUnknown` is deliberately *not* an :class:`EggAPIUnavailable`: a task
may exist (and be billed) upstream, so callers must not resubmit automatically. The
underlying error is available as ``cause`` (and ``__cause__``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bot.i18n import texts

__all__ = [
    "BadRequest",
    "DownloadTooLarge",
    "EggAPIClientError",
    "EggAPIError",
    "EggAPIServerError",
    "EggAPIUnavailable",
    "Forbidden",
    "InsufficientBalance",
    "InternalError",
    "MalformedResponse",
    "NotFound",
    "RateLimited",
    "ServiceUnavailable",
    "SubmitOutcomeUnknown",
    "TransportError",
    "Unauthorized",
    "UpstreamError",
    "ValidationFailed",
    "error_for",
]

_MAX_MESSAGE_CHARS = 500


class EggAPIError(Exception):
    """Base class of every error raised by the EggAPI client."""

    default_code: ClassVar[str] = "ERROR"
    retryable: bool = False
    user_key: ClassVar[str] = "service.failed"

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code or self.default_code
        self.message = _shorten(message)
        self.retry_after = retry_after
        self.method = method
        self.path = path
        super().__init__(self.message)

    @property
    def user_message(self) -> str:
        """A polite sentence without upstream details, safe to show to Discord users (in English;
        ``user_key`` names it in the catalogues, for the reader's language)."""
        return texts(None)(self.user_key)

    def __str__(self) -> str:
        where = f"{self.method} {self.path} " if self.method and self.path else ""
        status = f"HTTP {self.status} " if self.status is not None else ""
        text = f": {self.message}" if self.message else ""
        return f"{where}{status}{self.code}{text}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, message={self.message!r})"


class EggAPIClientError(EggAPIError):
    """The request was rejected (4xx); repeating it unchanged will not help."""

    user_key = "service.rejected"


class BadRequest(EggAPIClientError):
    """400 BAD_REQUEST: malformed request."""

    default_code = "BAD_REQUEST"
    user_key = "service.bad_request"


class ValidationFailed(EggAPIClientError):
    """400 VALIDATION_ERROR: a field broke the documented limits."""

    default_code = "VALIDATION_ERROR"
    user_key = "service.invalid_options"


class Unauthorized(EggAPIClientError):
    """401 UNAUTHORIZED: the API key is missing, malformed, inactive or invalid."""

    default_code = "UNAUTHORIZED"
    user_key = "service.key_refused"


class Forbidden(EggAPIClientError):
    """403 FORBIDDEN: the account is suspended or not permitted."""

    default_code = "FORBIDDEN"
    user_key = "service.forbidden"


class InsufficientBalance(EggAPIClientError):
    """403 INSUFFICIENT_BALANCE: the account balance cannot pay for the output."""

    default_code = "INSUFFICIENT_BALANCE"
    user_key = "service.out_of_credit"


class NotFound(EggAPIClientError):
    """404 NOT_FOUND: no such task (or file)."""

    default_code = "NOT_FOUND"
    user_key = "service.not_found"


class EggAPIUnavailable(EggAPIError):
    """EggAPI is down, overloaded or unreachable; the same request may succeed later."""

    retryable = True
    user_key = "service.unavailable"


class RateLimited(EggAPIUnavailable):
    """429 RATE_LIMITED: too many requests; ``retry_after`` is set when the server said so."""

    default_code = "RATE_LIMITED"
    user_key = "service.busy"


class TransportError(EggAPIUnavailable):
    """No HTTP answer: timeout, refused or reset connection, TLS failure."""

    default_code = "TRANSPORT"
    user_key = "service.unreachable"


class EggAPIServerError(EggAPIUnavailable):
    """A 5xx answer without a known code (e.g. an HTML page from a proxy)."""


class InternalError(EggAPIServerError):
    """500 INTERNAL_ERROR."""

    default_code = "INTERNAL_ERROR"


class UpstreamError(EggAPIServerError):
    """502 UPSTREAM_ERROR: the image provider behind EggAPI failed."""

    default_code = "UPSTREAM_ERROR"


class ServiceUnavailable(EggAPIServerError):
    """503 SERVICE_UNAVAILABLE."""

    default_code = "SERVICE_UNAVAILABLE"


class MalformedResponse(EggAPIError):
    """A success (or redirect) answer that does not match the documented shape."""

    default_code = "MALFORMED_RESPONSE"
    user_key = "service.unexpected"


class DownloadTooLarge(EggAPIError):
    """An output file exceeded the caller's ``max_bytes`` limit."""

    default_code = "DOWNLOAD_TOO_LARGE"
    user_key = "service.too_large"


class SubmitOutcomeUnknown(EggAPIError):
    """POST /v1/generate failed ambiguously: a task may exist upstream. Do not resubmit."""

    default_code = "SUBMIT_OUTCOME_UNKNOWN"
    user_key = "service.unconfirmed"

    def __init__(self, message: str = "", *, cause: EggAPIError | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.cause = cause


_BY_CODE: Mapping[str, type[EggAPIError]] = {
    "BAD_REQUEST": BadRequest,
    "VALIDATION_ERROR": ValidationFailed,
    "UNAUTHORIZED": Unauthorized,
    "FORBIDDEN": Forbidden,
    "INSUFFICIENT_BALANCE": InsufficientBalance,
    "NOT_FOUND": NotFound,
    "RATE_LIMITED": RateLimited,
    "INTERNAL_ERROR": InternalError,
    "UPSTREAM_ERROR": UpstreamError,
    "SERVICE_UNAVAILABLE": ServiceUnavailable,
}

# Statuses whose meaning is unambiguous at the HTTP level even without an envelope.
_BY_STATUS: Mapping[int, type[EggAPIError]] = {
    401: Unauthorized,
    404: NotFound,
    429: RateLimited,
}


def error_for(
    status: int,
    code: str | None,
    message: str,
    *,
    retry_after: float | None = None,
    method: str | None = None,
    path: str | None = None,
) -> EggAPIError:
    """Build the exception for an error answer.

    A documented ``code`` wins; otherwise (unknown code, non-JSON or envelope-less body)
    the HTTP status decides: 401/404/429 map to their classes, other 4xx to
    :class:`EggAPIClientError`, 5xx to :class:`EggAPIServerError`, anything else to
    :class:`MalformedResponse`. An unknown ``code`` is kept in ``.code``.
    """
    cls = _BY_CODE.get(code) if code else None
    if cls is None:
        cls = _BY_STATUS.get(status)
    if cls is None:
        if 400 <= status < 500:
            cls = EggAPIClientError
        elif 500 <= status < 600:
            cls = EggAPIServerError
        else:
            cls = MalformedResponse
    return cls(
        message,
        status=status,
        code=code or f"HTTP_{status}",
        retry_after=retry_after,
        method=method,
        path=path,
    )


def _shorten(text: str) -> str:
    """Collapse whitespace and cut very long upstream text (e.g. HTML pages)."""
    text = " ".join(str(text).split())
    if len(text) > _MAX_MESSAGE_CHARS:
        return text[: _MAX_MESSAGE_CHARS - 3] + "..."
    return text
