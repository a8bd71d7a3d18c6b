"""The exceptions fincon raises.

Every error carries the same fields, whichever system raised it, so that code handling
errors from SAP handles them from Stripe too:

- ``system``: the registered system name (``"stripe"``), or ``None`` for local errors;
- ``status``: the HTTP status, when there was a response;
- ``code``: the vendor's own error code (``"GW-0010"``, ``"resource_missing"``);
- ``message``: a human-readable sentence;
- ``request_id``: the vendor's request id, for their support;
- ``retryable``: whether retrying the same call may succeed;
- ``details``: the vendor error as parsed (Stripe error object, OData ``error``, ...);
- ``retry_after``: seconds the server asked us to wait before retrying, if it said.

Messages never contain secrets: they are built from redacted values only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = [
    "AuthError",
    "CircuitOpen",
    "ConfigError",
    "Conflict",
    "FinconError",
    "NotFound",
    "PaginationError",
    "PermissionDenied",
    "QuotaExceeded",
    "RateLimited",
    "RemoteValidationError",
    "ServerError",
    "TransportError",
    "Unsupported",
    "ValidationError",
]


class FinconError(Exception):
    """Base class of every error fincon raises."""

    #: Whether an error of this class is worth retrying by default.
    default_retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        system: str | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retryable = self.default_retryable if retryable is None else retryable
        self.details = details
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = []
        if self.system:
            parts.append(self.system)
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(self.code)
        prefix = f"[{' '.join(parts)}] " if parts else ""
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"{prefix}{self.message}{suffix}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, system={self.system!r}, "
            f"status={self.status!r}, code={self.code!r}, request_id={self.request_id!r}, "
            f"retryable={self.retryable!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep keyword-only fields when pickled (multiprocessing, caches).
        return (_rebuild, (type(self), self.message, self.__dict__))


def _rebuild(cls: type[FinconError], message: str, state: dict[str, Any]) -> FinconError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class ConfigError(FinconError):
    """A setting is missing, unknown or invalid; raised before anything is sent."""


class ValidationError(FinconError):
    """Local input is invalid; raised before anything is sent.

    ``field`` names the offending field (a dotted path for nested values).
    """

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field


class Unsupported(FinconError):
    """The system (or this connector) does not support the operation."""

    def __init__(self, message: str, *, operation: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.operation = operation


class AuthError(FinconError):
    """Credentials were refused or could not be obtained (HTTP 401, a failed login)."""


class PermissionDenied(FinconError):
    """The credentials are valid but not allowed to do this (HTTP 403)."""


class NotFound(FinconError):
    """The record or endpoint does not exist (HTTP 404)."""


class Conflict(FinconError):
    """The write conflicts with the record's current state (HTTP 409/412, a stale ETag)."""


class RemoteValidationError(FinconError):
    """The system rejected the input (HTTP 400/422 or an in-body validation failure)."""


class RateLimited(FinconError):
    """The system throttled the call and the wait exceeds what the caller allowed.

    ``retry_at`` is when the system said the call may be retried (aware UTC), if known.
    """

    default_retryable = True

    def __init__(self, message: str, *, retry_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_at = retry_at


class QuotaExceeded(FinconError):
    """A daily or hourly quota is exhausted; retrying soon will not help."""


class ServerError(FinconError):
    """The system failed (HTTP 5xx) or sent output that cannot be understood."""

    default_retryable = True


class PaginationError(ServerError):
    """The system's paging went wrong: a cursor cycle, a foreign next-link, no progress."""

    default_retryable = False


class TransportError(FinconError):
    """The call did not complete: connection refused or dropped, timeout, TLS failure.

    ``maybe_sent`` is true when the request may have reached the server (so a
    non-idempotent write may have been applied).
    """

    default_retryable = True

    def __init__(self, message: str, *, maybe_sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.maybe_sent = maybe_sent


class CircuitOpen(FinconError):
    """Recent calls failed repeatedly; the connector fails fast until the cool-down passes."""

    def __init__(self, message: str, *, retry_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_at = retry_at
