"""Building emulator responses: JSON bodies with exact decimals, dates, and early exits."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from email.utils import format_datetime as _format_http_date
from typing import Any, Literal

import httpx

__all__ = [
    "Abort",
    "encoded_json_response",
    "format_datetime",
    "http_date",
    "json_response",
    "response_body",
    "retry_after_value",
]


class Abort(Exception):
    """Raise ``Abort(response)`` anywhere inside an emulator's handler to answer with
    ``response`` at once (an auth failure, a validation error, a 429)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"abort with HTTP {response.status_code}")
        self.response = response


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, second precision: ``2026-01-01T09:30:00Z``."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("refusing to format a naive datetime: emulator times are aware")
    if offset:
        value = value.astimezone(timezone.utc)
    return value.isoformat(timespec="seconds")[:19] + "Z"


def http_date(value: datetime) -> str:
    """An IMF-fixdate for HTTP headers: ``Thu, 01 Jan 2026 09:30:00 GMT``."""
    if value.tzinfo is None:
        raise ValueError("refusing to format a naive datetime: emulator times are aware")
    return _format_http_date(value.astimezone(timezone.utc), usegmt=True)


def retry_after_value(seconds: float) -> str:
    """A ``Retry-After`` delay: whole seconds, rounded up (RFC 9110 allows no fractions)."""
    return str(max(0, math.ceil(seconds)))


def _encode_default_string(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # exact digits, never an exponent
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _encode(data: Any, decimals: Literal["string", "number"]) -> bytes:
    if decimals == "number":
        # Exact JSON numbers need a hand-written encoder (json writes Decimal via float).
        from fincon.core.jsonenc import dumps

        return dumps(data)
    return json.dumps(
        data, default=_encode_default_string, separators=(",", ":"), ensure_ascii=False
    ).encode()


def json_response(
    data: Any,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    decimals: Literal["string", "number"] = "string",
    content_type: str = "application/json",
) -> httpx.Response:
    """A JSON response. ``Decimal`` is written with its exact digits as a string (the
    default, ``"1234.50"``) or as a number (``decimals="number"``); datetimes as ISO 8601
    with ``Z``; dates as ``YYYY-MM-DD``. Floats are never produced from amounts."""
    return encoded_json_response(
        _encode(data, decimals), status=status, headers=headers, content_type=content_type
    )


def encoded_json_response(
    body: bytes,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    """A JSON response whose body is already encoded (a page served from a :class:`PageCache`)."""
    # A stream rather than ``content=``: reading it into the response costs more than
    # building the JSON. Transports send the stream as is; ``Emulator.handle`` reads it.
    return httpx.Response(
        status,
        headers={"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})},
        stream=httpx.ByteStream(body),
    )


def response_body(response: httpx.Response) -> bytes:
    """The bytes to put on the wire for ``response`` (still encoded, as the emulator built it)."""
    stream = response.stream
    if isinstance(stream, httpx.ByteStream):
        return b"".join(stream)
    if response.is_stream_consumed:
        return response.content
    return response.read()
