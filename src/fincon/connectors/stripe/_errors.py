"""Stripe error objects -> fincon errors, with Stripe's own retry advice applied."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from fincon.core.responses import RETRYABLE_STATUSES, error_for_status, parse_json, request_id_of
from fincon.errors import (
    AuthError,
    Conflict,
    FinconError,
    NotFound,
    PermissionDenied,
    RateLimited,
    RemoteValidationError,
    ServerError,
)

__all__ = ["parse_stripe_error"]

SYSTEM = "stripe"

_BY_TYPE: dict[str, type[FinconError]] = {
    "card_error": RemoteValidationError,
    "invalid_request_error": RemoteValidationError,
    "idempotency_error": Conflict,
    "authentication_error": AuthError,
    "permission_error": PermissionDenied,
    "rate_limit_error": RateLimited,
    "api_error": ServerError,
    "api_connection_error": ServerError,
}


def _class_for(status: int, kind: str) -> type[FinconError]:
    # The status says more than the type for these (Stripe's 401s are "invalid_request_error").
    by_status: dict[int, type[FinconError]] = {
        401: AuthError,
        403: PermissionDenied,
        404: NotFound,
        429: RateLimited,
    }
    if status in by_status:
        return by_status[status]
    if kind == "idempotency_error":
        return Conflict
    if status >= 500:
        return ServerError
    if status == 409:
        return Conflict
    return _BY_TYPE.get(kind, RemoteValidationError)


def _should_retry(response: httpx.Response) -> bool | None:
    header: str | None = response.headers.get("stripe-should-retry")
    if header is None:
        return None
    return header.strip().lower() == "true"


def parse_stripe_error(response: httpx.Response) -> FinconError | None:
    """The fincon error for a Stripe failure, or None for a success.

    ``retryable`` follows ``Stripe-Should-Retry`` when present (``false`` is never retried),
    else the status (429, 5xx) and 409 ``lock_timeout``.
    """
    status = response.status_code
    if status < 400:
        return None
    advice = _should_retry(response)
    error: Mapping[str, Any] | None = None
    try:
        body = parse_json(response, system=SYSTEM)
        if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
            error = body["error"]
    except FinconError:
        error = None
    if error is None:
        generic = error_for_status(response, system=SYSTEM)
        if advice is not None:
            generic.retryable = advice
        return generic
    kind = str(error.get("type") or "")
    code = error.get("code")
    code = None if code is None else str(code)
    retryable = status in RETRYABLE_STATUSES or (status == 409 and code == "lock_timeout")
    if advice is not None:
        retryable = advice
    details = dict(error)
    details.setdefault("type", kind)
    cls = _class_for(status, kind)
    message = str(error.get("message") or f"HTTP {status} from Stripe")
    if error.get("param"):
        message = f"{message} (param: {error['param']})"
    return cls(
        message,
        system=SYSTEM,
        status=status,
        code=code or error.get("decline_code") or kind or None,
        request_id=request_id_of(response),
        retryable=retryable,
        details=details,
    )
