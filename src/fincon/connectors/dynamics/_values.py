"""Reading and writing Dynamics 365 JSON values exactly.

OData V4 servers send ``Edm.Decimal`` as JSON numbers, or as strings when the request said
``IEEE754Compatible=true`` and the server honours it; both are read as exact ``Decimal``
(JSON is parsed with ``parse_float=Decimal``, so a number never passes through ``float``).
Enum members travel with XML-escaped names (``In_x0020_Review``, ``G_x002F_L_x0020_Account``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from fincon.models import Money

__all__ = [
    "EMPTY_DATE",
    "decode_member",
    "encode_member",
    "exact_decimal",
    "money",
    "parse_date",
    "parse_datetime",
    "text",
]

#: Business Central writes an empty date as 0001-01-01.
EMPTY_DATE = "0001-01-01"
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_NEEDS_ESCAPE = re.compile(r"[^A-Za-z0-9_]")


def exact_decimal(value: Any, *, field: str) -> Decimal | None:
    """A JSON number (already ``Decimal`` or ``int``) or numeric string as an exact ``Decimal``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field}: {value!r} is not an amount")
    if isinstance(value, float):
        # Only a JSON parser without parse_float=Decimal produces these: the digits are already lost.
        raise TypeError(f"{field}: refusing a float amount; parse JSON with parse_float=Decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{field}: {value!r} is not a decimal number") from None
    else:
        raise ValueError(f"{field}: {type(value).__name__} is not an amount")
    if not result.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite amount")
    return result


def money(value: Any, currency: str | None, *, field: str) -> Money | None:
    """``Money`` from a wire amount, or None when the amount is absent."""
    amount = exact_decimal(value, field=field)
    if amount is None:
        return None
    if not currency:
        raise ValueError(f"{field}: an amount without a currency (set the company's local currency)")
    return Money(amount, currency)


def parse_date(value: Any) -> date | None:
    """An ``Edm.Date`` (``YYYY-MM-DD``); BC's empty date ``0001-01-01`` is None."""
    if value in (None, "", EMPTY_DATE):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return date.fromisoformat(str(value)[:10])


def parse_datetime(value: Any) -> datetime | None:
    """An ``Edm.DateTimeOffset`` as an aware datetime (UTC when the text says ``Z``)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    if parsed.year <= 1:
        return None  # BC's empty datetime
    return parsed


def text(value: Any) -> str | None:
    """A string property: blank is None."""
    if value is None:
        return None
    value = str(value)
    return value if value.strip() else None


def decode_member(value: Any) -> str | None:
    """``In_x0020_Review`` -> ``In Review``; the blank member ``_x0020_`` -> None."""
    if value is None:
        return None
    decoded = _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), str(value))
    return decoded if decoded.strip() else None


def encode_member(value: str | None) -> str:
    """``In Review`` -> ``In_x0020_Review``; None -> the blank member ``_x0020_``."""
    if not value:
        return "_x0020_"
    return _NEEDS_ESCAPE.sub(lambda match: f"_x{ord(match.group(0)):04X}_", value)
