"""Dynamics 365 JSON values the shared OData codecs do not cover, and amounts read exactly.

Edm values are decoded by :func:`fincon.protocols.odata.decode`; what is added here is
Dynamics' own: Business Central writes an empty date as ``0001-01-01`` (and an empty
datetime in year 1), enum members travel with XML-escaped names (``In_x0020_Review``,
``G_x002F_L_x0020_Account``), and a ``float`` amount is refused outright (only a JSON parser
without ``parse_float=Decimal`` makes one, and its digits are already lost). Amounts are exact
whether the server sends JSON numbers or strings (``IEEE754Compatible=true``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from fincon.errors import ServerError
from fincon.models import Money
from fincon.protocols.odata import ODataVersion, decode

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
_OFFSET = re.compile(r"(?:[Zz]|[+-]\d{2}:\d{2})$")
_V4 = ODataVersion.V4


def _decoded(edm_type: str, value: Any, field: str) -> Any:
    try:
        return decode(edm_type, value, _V4, field=field, system="dynamics")
    except ServerError as error:
        raise ValueError(error.message) from None


def exact_decimal(value: Any, *, field: str) -> Decimal | None:
    """A JSON number (already ``Decimal`` or ``int``) or numeric string as an exact ``Decimal``."""
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise TypeError(f"{field}: refusing a float amount; parse JSON with parse_float=Decimal")
    if type(value) is Decimal and value.is_finite():
        return value  # the common case (JSON numbers), kept off the generic decoder's path
    if isinstance(value, str):
        value = value.strip()
    result: Decimal = _decoded("Edm.Decimal", value, field)
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
    parsed: date = _decoded("Edm.Date", str(value)[:10], "date")
    return parsed


def parse_datetime(value: Any) -> datetime | None:
    """An ``Edm.DateTimeOffset`` as an aware datetime (UTC when the text has no offset)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    else:
        wire = str(value)
        if wire[10:11] == " ":
            wire = f"{wire[:10]}T{wire[11:]}"  # Python's str(datetime), as exports write it
        if not _OFFSET.search(wire):
            wire += "Z"  # F&O sometimes leaves out the offset; its times are UTC
        parsed = _decoded("Edm.DateTimeOffset", wire, "datetime")
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
