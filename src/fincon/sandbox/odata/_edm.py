"""Edm values on the server side: stored Python values <-> JSON wire values and URL literals.

Stored values are Python's: ``str``, ``bool``, ``int``, ``Decimal`` (never a float), aware
``datetime`` (``Edm.DateTime`` is midnight UTC for a date), ``date``, ``time``, ``timedelta``.
V2 writes Decimal and Int64 as strings and dates as ``/Date(ms)/``; V4 writes numbers (strings under
``IEEE754Compatible=true``) and ISO 8601.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from fincon.sandbox.odata._schema import EdmProperty

__all__ = [
    "comparable",
    "decoder_for",
    "encoder_for",
    "format_key_literal",
    "parse_literal",
    "same_value",
    "v2_date",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_V2_DATE = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{1,4}))?\)/$")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_INTEGERS = frozenset({"Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32"})
_DECIMALS = frozenset({"Edm.Decimal", "Edm.Double", "Edm.Single"})


def _ms(value: datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def v2_date(value: datetime | date, *, offset: bool) -> str:
    """``/Date(ms)/`` (``Edm.DateTime``) or ``/Date(ms+0000)/`` (``Edm.DateTimeOffset``, UTC)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return f"/Date({_ms(value)}+0000)/" if offset else f"/Date({_ms(value)})/"


def _iso(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def _duration(value: timedelta | time) -> str:
    if isinstance(value, time):
        value = timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)
    seconds = int(value.total_seconds())
    return f"PT{seconds // 3600:02d}H{seconds % 3600 // 60:02d}M{seconds % 60:02d}S"


def _decimal_text(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def encoder_for(prop: EdmProperty, *, v4: bool, ieee754: bool = False) -> Callable[[Any], Any]:
    """How a stored value of ``prop`` is written in a JSON response (None stays None)."""
    kind = prop.type
    if kind in _DECIMALS or kind == "Edm.Int64":
        if not v4 or ieee754:
            return _decimal_text
        return lambda value: value if isinstance(value, (int, Decimal)) else Decimal(str(value))
    if kind == "Edm.DateTime":
        return lambda value: v2_date(value, offset=False)
    if kind == "Edm.DateTimeOffset":
        return _iso if v4 else (lambda value: v2_date(value, offset=True))
    if kind == "Edm.Date":
        return lambda value: value.isoformat()
    if kind == "Edm.Time":
        return _duration
    if kind == "Edm.TimeOfDay":
        return lambda value: value.isoformat(timespec="seconds")
    return same_value


def same_value(value: Any) -> Any:
    """The encoder of values written as they are stored (strings, booleans, ints)."""
    return value


def _parse_v2_date(text: str, *, offset: bool) -> datetime:
    found = _V2_DATE.match(text)
    if found is None:
        return _parse_iso(text)
    moment = _EPOCH + timedelta(milliseconds=int(found.group(1)))
    if found.group(2):
        minutes = int(found.group(3))
        # The offset says which local time the instant was written in; the instant is unchanged.
        zone = timezone(timedelta(minutes=minutes if found.group(2) == "+" else -minutes))
        return moment.astimezone(zone) if offset else moment
    return moment


def _parse_iso(text: str) -> datetime:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def decoder_for(prop: EdmProperty, *, v4: bool) -> Callable[[Any], Any]:
    """How a JSON request value of ``prop`` becomes a stored value; ``ValueError`` if it cannot."""
    kind = prop.type

    def decode(value: Any) -> Any:
        if value is None:
            return None
        try:
            return _decode(kind, value, v4)
        except (ValueError, TypeError, InvalidOperation, ArithmeticError):
            raise ValueError(f"{value!r} is not a valid {kind}") from None

    return decode


def _decode(kind: str, value: Any, v4: bool) -> Any:
    if kind == "Edm.String" or kind == "Edm.Guid" or kind == "Edm.Binary":
        if not isinstance(value, str):
            raise TypeError
        return value
    if kind == "Edm.Boolean":
        if not isinstance(value, bool):
            raise TypeError
        return value
    if kind in _INTEGERS or kind == "Edm.Int64":
        if isinstance(value, (bool, float)):
            raise TypeError
        if isinstance(value, str) and not re.fullmatch(r"-?\d+", value):
            raise ValueError
        return int(value)
    if kind in _DECIMALS:
        if isinstance(value, (bool, float)):
            raise TypeError
        number = Decimal(str(value))
        if not number.is_finite():
            raise ValueError
        return number
    if kind == "Edm.DateTime":
        return _parse_v2_date(str(value), offset=False)
    if kind == "Edm.DateTimeOffset":
        return _parse_v2_date(str(value), offset=True) if not v4 else _parse_iso(str(value))
    if kind == "Edm.Date":
        return date.fromisoformat(str(value))
    if kind == "Edm.Time":
        found = _DURATION.match(str(value))
        if found is None:
            raise ValueError
        days, hours, minutes, seconds = (float(part) if part else 0.0 for part in found.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if kind == "Edm.TimeOfDay":
        return time.fromisoformat(str(value))
    return value  # complex and collection values are kept as sent


# -- URL literals -----------------------------------------------------------------------------------

_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?$")
_TYPED = re.compile(r"^(datetime|datetimeoffset|guid|time|binary|X)'(.*)'$", re.DOTALL)
_V4_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})$")
_V4_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_V4_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def parse_literal(text: str, *, v4: bool) -> Any:
    """A literal of a key predicate or ``$filter`` as a stored-style value; ``ValueError`` if unknown."""
    text = text.strip()
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    typed = _TYPED.match(text)
    if typed is not None:
        kind, body = typed.groups()
        if kind == "datetime":
            return _parse_iso(body)
        if kind == "datetimeoffset":
            return _parse_iso(body)
        if kind == "time":
            return _decode("Edm.Time", body, v4)
        return body
    if v4:
        if _V4_DATETIME.match(text):
            return _parse_iso(text)
        if _V4_DATE.match(text):
            return date.fromisoformat(text)
        if _V4_GUID.match(text):
            return text
    if _NUMBER.match(text):
        body = text.rstrip("mMdDfFlL")
        if re.fullmatch(r"-?\d+", body) and text[-1:] not in ("m", "M", "d", "D", "f", "F"):
            return int(body)
        return Decimal(body)
    raise ValueError(f"{text!r} is not an OData literal")


def format_key_literal(prop: EdmProperty, value: Any, *, v4: bool) -> str:
    """A key value as written inside ``Set(...)`` in an entity's URI."""
    kind = prop.type
    if kind == "Edm.String":
        return "'" + str(value).replace("'", "''") + "'"
    if kind == "Edm.Guid":
        return str(value) if v4 else f"guid'{value}'"
    if kind in ("Edm.DateTime",) and not v4:
        moment: datetime = value.astimezone(timezone.utc)
        return f"datetime'{moment:%Y-%m-%dT%H:%M:%S}'"
    if kind == "Edm.DateTimeOffset":
        return _iso(value) if v4 else f"datetimeoffset'{_iso(value)}'"
    if kind == "Edm.Decimal":
        return _decimal_text(value) + ("" if v4 else "M")
    if kind == "Edm.Int64" and not v4:
        return f"{value}L"
    if kind == "Edm.Boolean":
        return "true" if value else "false"
    return f"{value}"


def comparable(value: Any) -> Any:
    """A value that compares with values of the same Edm family (dates with datetimes at midnight UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return value
