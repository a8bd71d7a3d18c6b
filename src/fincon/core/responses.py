"""Reading responses: exact JSON, and HTTP statuses turned into fincon errors."""

from __future__ import annotations

import functools
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

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

__all__ = ["error_for_status", "parse_json", "request_id_of"]

#: Statuses worth retrying for any system (DESIGN section 5).
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

#: The longest wait a ``Retry-After`` can ask for (about 31 years): keeps date arithmetic in range.
_MAX_RETRY_AFTER = float(10**9)

_REQUEST_ID_HEADERS = ("request-id", "x-request-id", "x-ms-request-id", "sap-request-id", "x-correlation-id")


def parse_json(response: httpx.Response, *, system: str | None = None) -> Any:
    """Decode a JSON body with every number as ``Decimal`` (never float).

    Integers stay ``int``; a number with a fraction or an exponent becomes a ``Decimal`` of
    its exact digits (``1.10`` -> ``Decimal("1.10")``). ``NaN`` and ``Infinity`` are not JSON
    and are refused. Malformed JSON (and JSON that is not UTF-8) raises
    :class:`ServerError` naming the system, never a ``ValueError``.
    """
    import msgspec

    content = response.content
    if content[:3] == _UTF8_BOM:
        content = content[3:]  # RFC 8259 lets a parser ignore it; some .NET services send one
    try:
        return _json_decoder().decode(content)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ServerError(
            f"the server sent a body that is not valid JSON ({exc}; {len(content)} bytes)",
            system=system,
            status=response.status_code,
            request_id=request_id_of(response),
            code="malformed_response",
            retryable=False,
        ) from None


_UTF8_BOM = b"\xef\xbb\xbf"


@functools.cache
def _json_decoder() -> Any:
    # msgspec decodes about twice as fast as the json module, to the same values: a listing
    # of large objects spends a third of its time here. Its float_hook gets the number's
    # text, so no float is ever made; it refuses NaN and Infinity by itself.
    import msgspec

    return msgspec.json.Decoder(float_hook=Decimal)


def request_id_of(response: httpx.Response) -> str | None:
    headers = response.headers
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def retry_after_seconds(response: httpx.Response, now: Any) -> float | None:
    """``Retry-After`` as seconds from ``now`` (an aware datetime), in either of its forms.

    Returns None when absent or unparsable (a garbage header must not crash a retry loop).
    """
    raw = response.headers.get("retry-after")
    return parse_retry_after(raw, now) if raw is not None else None


def parse_retry_after(raw: str, now: Any) -> float | None:
    """Parse a ``Retry-After`` value: delta-seconds or an HTTP date; negative waits become 0."""
    value = raw.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        # Only ASCII digits are delta-seconds ("²".isdigit() is true); long strings are capped
        # before int() (which refuses more than 4300 digits).
        digits = value.lstrip("0") or "0"
        return _MAX_RETRY_AFTER if len(digits) > 9 else float(int(digits))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return min(max(float((when - now).total_seconds()), 0.0), _MAX_RETRY_AFTER)


_STATUS_ERRORS: dict[int, type[FinconError]] = {
    400: RemoteValidationError,
    401: AuthError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    410: NotFound,
    412: Conflict,
    422: RemoteValidationError,
    429: RateLimited,
}


def error_class_for_status(status: int) -> type[FinconError]:
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    if status >= 500 or status in (408, 425):
        return ServerError
    return RemoteValidationError if 400 <= status < 500 else FinconError


def error_for_status(
    response: httpx.Response,
    *,
    system: str | None,
    message: str | None = None,
    code: str | None = None,
    details: Any = None,
) -> FinconError:
    """Build the fincon error for an HTTP failure, with the vendor's message and code if known."""
    status = response.status_code
    cls = error_class_for_status(status)
    text = message or f"HTTP {status} {response.reason_phrase or ''}".strip()
    return cls(
        text,
        system=system,
        status=status,
        code=code,
        request_id=request_id_of(response),
        retryable=status in RETRYABLE_STATUSES,
        details=details,
    )
