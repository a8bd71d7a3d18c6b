"""Reading what clients send to an emulator: JSON and form bodies, query values, dates."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx

__all__ = ["parse_datetime", "read_form", "read_json"]


class _RejectConstant(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _RejectConstant(f"{name} is not valid JSON")


def read_json(request: httpx.Request) -> Any:
    """The request body parsed as JSON, numbers with a fraction as ``Decimal``.

    Raises ``ValueError`` when the body is empty or not JSON (``NaN`` and ``Infinity``
    included), so the emulator can answer 400 the way its vendor does.
    """
    body = request.content
    if not body.strip():
        raise ValueError("the request body is empty")
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"the request body is not valid JSON: {error}") from None


def read_form(request: httpx.Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (the last value of a
    repeated field wins); ``ValueError`` if it is not valid UTF-8."""
    try:
        text = request.content.decode()
    except UnicodeDecodeError:
        raise ValueError("the form body is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def parse_datetime(value: str) -> datetime:
    """An ISO 8601 datetime as an aware UTC datetime; a value without an offset is taken
    as UTC, a trailing ``Z`` is accepted. ``ValueError`` if it is not a datetime."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)
