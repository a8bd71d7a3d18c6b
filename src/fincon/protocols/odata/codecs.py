"""Edm value codecs for both OData versions: JSON payload values and URL literals.

- :func:`decode` turns a JSON payload value into a Python value (``Edm.Decimal`` ->
  ``Decimal`` exactly, V2 ``/Date(ms)/`` -> aware ``datetime``, ``Edm.Time`` ``PT10H`` ->
  ``time``, ``Edm.Guid`` -> ``UUID``, ...);
- :func:`encode` does the reverse for request bodies (V2 writes Int64 and Decimal as
  strings, V4 as numbers unless ``ieee754_compatible``);
- :func:`literal` renders a value as a URL literal in the version's syntax (V2
  ``datetime'2026-01-01T00:00:00'``, ``guid'...'``, ``1.50M``; V4 bare dates, GUIDs and
  decimals, ``duration'PT1H'``); strings are quoted with ``''`` doubling;
- :func:`infer_edm_type` picks the Edm type of a Python value when no metadata says.

Python types per Edm type: ``Edm.Binary`` bytes; ``Edm.Boolean`` bool; ``Edm.Byte``,
``SByte``, ``Int16/32/64`` int; ``Edm.Decimal``, ``Edm.Single`` and ``Edm.Double`` ``Decimal``
(never ``float``: JSON is parsed with ``parse_float=Decimal`` and floating types stay exact
as sent; encoding accepts a float only for Single/Double); ``Edm.String`` str; ``Edm.Guid``
UUID; ``Edm.DateTime`` (V2) and ``Edm.DateTimeOffset`` aware datetime (V2 ``DateTime`` is
UTC by SAP convention); ``Edm.Date`` date; ``Edm.Time`` (V2) and ``Edm.TimeOfDay`` time;
``Edm.Duration`` timedelta. Naive datetimes are refused when encoding.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from fincon.errors import ServerError, ValidationError
from fincon.protocols.odata._version import ODataVersion

__all__ = [
    "EDM_TYPES",
    "decode",
    "encode",
    "format_duration",
    "infer_edm_type",
    "literal",
    "parse_duration",
    "quote_string",
]

V2_ONLY = frozenset({"Edm.DateTime", "Edm.Time"})
V4_ONLY = frozenset({"Edm.Date", "Edm.TimeOfDay", "Edm.Duration"})
#: Every primitive type the codecs handle.
EDM_TYPES = frozenset(
    {
        "Edm.Binary",
        "Edm.Boolean",
        "Edm.Byte",
        "Edm.SByte",
        "Edm.Int16",
        "Edm.Int32",
        "Edm.Int64",
        "Edm.Decimal",
        "Edm.Single",
        "Edm.Double",
        "Edm.String",
        "Edm.Guid",
        "Edm.DateTimeOffset",
    }
    | V2_ONLY
    | V4_ONLY
)
_INT_RANGES = {
    "Edm.Byte": (0, 255),
    "Edm.SByte": (-128, 127),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ISO_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?([Zz]|[+-]\d{2}:\d{2})?$"
)
_ISO_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,12}))?)?$")
_MS_DATE = re.compile(r"^/Date\((-?\d{1,15})(?:([+-])(\d{1,4}))?\)/$")
_DURATION = re.compile(
    r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,9})?)S)?)?$",
)
_V4_SPECIALS = {"INF": Decimal("Infinity"), "-INF": Decimal("-Infinity"), "NaN": Decimal("NaN")}


def _bad_input(edm_type: str, value: Any, why: str, field: str | None, system: str | None) -> ValidationError:
    where = f" for {field}" if field else ""
    return ValidationError(
        f"cannot write {type(value).__name__} as {edm_type}{where}: {why}", field=field, system=system
    )


def _bad_wire(edm_type: str, value: Any, field: str | None, system: str | None) -> ServerError:
    where = f" in {field}" if field else ""
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return ServerError(
        f"the service sent {shown} where {edm_type} was expected{where}",
        system=system,
        code="malformed_value",
        retryable=False,
        details={"field": field, "edm_type": edm_type},
    )


def _check_version(edm_type: str, version: ODataVersion, field: str | None, system: str | None) -> None:
    if version.is_v4 and edm_type in V2_ONLY:
        raise ValidationError(
            f"{edm_type} does not exist in OData V4 (use Edm.DateTimeOffset or Edm.TimeOfDay)",
            field=field,
            system=system,
        )
    if not version.is_v4 and edm_type in V4_ONLY:
        raise ValidationError(
            f"{edm_type} does not exist in OData V2 (use Edm.DateTime or Edm.Time)",
            field=field,
            system=system,
        )


# -- durations -------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """Parse an ISO 8601 day-time duration (``PT10H30M``, ``-P1DT2.5S``).

    :raises ValueError: when ``text`` is not one.
    """
    match = _DURATION.match(text)
    if not match or text.endswith(("P", "T")):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    sign, days, hours, minutes, seconds = match.groups()
    value = timedelta(
        days=int(days or 0),
        hours=int(hours or 0),
        minutes=int(minutes or 0),
        # Through Decimal, not float: timedelta keeps microseconds exactly.
        microseconds=int(Decimal(seconds) * 1_000_000) if seconds else 0,
    )
    return -value if sign else value


def format_duration(value: timedelta) -> str:
    """Write a ``timedelta`` as an ISO 8601 day-time duration (``P1DT2H``, ``PT0S``)."""
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    days, rest = value.days, value.seconds
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or value.microseconds:
        fraction = f".{value.microseconds:06d}".rstrip("0") if value.microseconds else ""
        time_part += f"{seconds}{fraction}S"
    if not days and not time_part:
        return "PT0S"
    return f"{sign}P{f'{days}D' if days else ''}{f'T{time_part}' if time_part else ''}"


def _time_of(value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, timedelta) and timedelta(0) <= value < timedelta(days=1):
        seconds = value.seconds
        return time(seconds // 3600, seconds // 60 % 60, seconds % 60, value.microseconds)
    raise ValueError("expected a time of day")


def _time_as_duration(value: time) -> str:
    return format_duration(
        timedelta(
            hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
        )
    )


# -- datetimes -------------------------------------------------------------------------------


def _aware(value: Any, edm_type: str, field: str | None, system: str | None) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _bad_input(edm_type, value, "the datetime is naive; give it a timezone", field, system)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise _bad_input(edm_type, value, "expected a timezone-aware datetime", field, system)


def _iso_utc(value: datetime, *, zone: bool) -> str:
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + ("Z" if zone else "")


def _ms_date(value: datetime, *, with_offset: bool) -> str:
    delta = value.astimezone(UTC) - _EPOCH
    millis = delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
    return f"/Date({millis}+0000)/" if with_offset else f"/Date({millis})/"


def _parse_ms_date(text: str) -> datetime:
    match = _MS_DATE.match(text)
    if not match:
        raise ValueError(text)
    millis, sign, offset = match.groups()
    # The instant is the milliseconds since the epoch; the offset (minutes) only says which
    # local time it was shown in.
    instant = _EPOCH + timedelta(milliseconds=int(millis))
    if sign:
        minutes = int(offset) * (-1 if sign == "-" else 1)
        return instant.astimezone(timezone(timedelta(minutes=minutes)))
    return instant


def _micro(fraction: str | None) -> int:
    # Sub-microsecond digits are dropped: Python datetimes hold microseconds.
    return int((fraction or "").ljust(6, "0")[:6])


def _parse_iso_datetime(text: str, *, assume_utc: bool) -> datetime:
    match = _ISO_DATETIME.match(text.strip())
    if not match:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone is None:
        if not assume_utc:
            raise ValueError(f"{text} has no UTC offset")
        tz = UTC
    elif zone in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    return datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second or 0), _micro(fraction), tzinfo=tz
    )


def _parse_time(text: str) -> time:
    match = _ISO_TIME.match(text.strip())
    if not match:
        raise ValueError(text)
    hour, minute, second, fraction = match.groups()
    return time(int(hour), int(minute), int(second or 0), _micro(fraction))


# -- decode ----------------------------------------------------------------------------------


def decode(
    edm_type: str,
    value: Any,
    version: ODataVersion,
    *,
    field: str | None = None,
    system: str | None = None,
) -> Any:
    """Turn a JSON payload value of ``edm_type`` into its Python value (None stays None).

    Non-primitive types (complex, enum, collections) are returned as received.

    :raises ServerError: (code ``malformed_value``) when the value does not fit the type.
    """
    if value is None:
        return None
    try:
        return _decode(edm_type, value, version)
    except (ValueError, TypeError, ArithmeticError, binascii.Error):
        raise _bad_wire(edm_type, value, field, system) from None


def _decode_number(value: Any, *, allow_float: bool = False) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, float):
        # A float for an exact type means the body was parsed without parse_float=Decimal and
        # may already have lost digits: refuse it. Single/Double are approximate anyway.
        if not allow_float:
            raise TypeError("a float for an exact number (parse JSON with parse_float=Decimal)")
        return Decimal(repr(value))
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if text in _V4_SPECIALS:
            return _V4_SPECIALS[text]
        # SAP sometimes writes V2 decimal literals with their suffix in payloads.
        if text[-1:] in ("M", "m", "D", "d", "F", "f"):
            text = text[:-1]
        return Decimal(text)
    raise TypeError(type(value).__name__)


def _decode(edm_type: str, value: Any, version: ODataVersion) -> Any:
    if edm_type == "Edm.String":
        if not isinstance(value, str):
            raise TypeError("expected a string")
        return value
    if edm_type == "Edm.Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise TypeError("expected a boolean")
    if edm_type in _INT_RANGES:
        if isinstance(value, bool):
            raise TypeError("a boolean is not an integer")
        number = _decode_number(value)
        if number != number.to_integral_value():
            raise ValueError("not an integer")
        result = int(number)
        low, high = _INT_RANGES[edm_type]
        if not low <= result <= high:
            raise ValueError("out of range")
        return result
    if edm_type == "Edm.Decimal":
        number = _decode_number(value)
        if not number.is_finite():
            raise ValueError("not a finite decimal")
        return number
    if edm_type in ("Edm.Single", "Edm.Double"):
        return _decode_number(value, allow_float=True)
    if edm_type == "Edm.Guid":
        return uuid.UUID(str(value))
    if edm_type == "Edm.Binary":
        if not isinstance(value, str):
            raise TypeError("expected base64")
        text = value.strip()
        padded = text + "=" * (-len(text) % 4)
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    if edm_type in ("Edm.DateTime", "Edm.DateTimeOffset"):
        if not isinstance(value, str):
            raise TypeError("expected a date string")
        if value.startswith("/Date("):
            return _parse_ms_date(value)
        # Edm.DateTime carries no offset (SAP means UTC); DateTimeOffset must carry one.
        return _parse_iso_datetime(value, assume_utc=edm_type == "Edm.DateTime")
    if edm_type == "Edm.Date":
        if not isinstance(value, str):
            raise TypeError("expected a date string")
        if value.startswith("/Date("):
            return _parse_ms_date(value).date()
        return date.fromisoformat(value)
    if edm_type == "Edm.Time":
        if not isinstance(value, str):
            raise TypeError("expected a duration")
        return _time_of(parse_duration(value))
    if edm_type == "Edm.TimeOfDay":
        if not isinstance(value, str):
            raise TypeError("expected a time")
        return _parse_time(value)
    if edm_type == "Edm.Duration":
        if not isinstance(value, str):
            raise TypeError("expected a duration")
        return parse_duration(value)
    return value


# -- encode ----------------------------------------------------------------------------------


def encode(
    edm_type: str,
    value: Any,
    version: ODataVersion,
    *,
    field: str | None = None,
    system: str | None = None,
    ieee754_compatible: bool = False,
) -> Any:
    """Turn a Python value into the JSON payload form of ``edm_type`` (None stays None).

    The result is a ``str``, ``int``, ``bool`` or ``Decimal`` ready for
    :func:`fincon.core.jsonenc.dumps`. V2 writes Int64 and Decimal as strings, V4 as numbers
    unless ``ieee754_compatible`` (then as strings, matching ``IEEE754Compatible=true``).

    :raises ValidationError: naming ``field`` when the value does not fit the type.
    """
    if value is None:
        return None
    _check_version(edm_type, version, field, system)
    as_strings = ieee754_compatible or not version.is_v4
    if edm_type == "Edm.String":
        return _string(edm_type, value, field, system)
    if edm_type == "Edm.Boolean":
        if not isinstance(value, bool):
            raise _bad_input(edm_type, value, "expected a bool", field, system)
        return value
    if edm_type in _INT_RANGES:
        whole = _integer(edm_type, value, field, system)
        return str(whole) if edm_type == "Edm.Int64" and as_strings else whole
    if edm_type == "Edm.Decimal":
        text = _decimal_text(edm_type, value, field, system)
        return text if as_strings else Decimal(text)
    if edm_type in ("Edm.Single", "Edm.Double"):
        number = _floating(edm_type, value, field, system)
        if not number.is_finite():
            return {"Infinity": "INF", "-Infinity": "-INF"}.get(str(number), "NaN")
        return _plain(number) if not version.is_v4 or ieee754_compatible else number
    if edm_type == "Edm.Guid":
        return str(_guid(edm_type, value, field, system))
    if edm_type == "Edm.Binary":
        raw = _binary(edm_type, value, field, system)
        if version.is_v4:
            return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        return base64.b64encode(raw).decode("ascii")
    if edm_type == "Edm.DateTime":
        return _ms_date(_aware(value, edm_type, field, system), with_offset=False)
    if edm_type == "Edm.DateTimeOffset":
        moment = _aware(value, edm_type, field, system)
        return _ms_date(moment, with_offset=True) if not version.is_v4 else _iso_utc(moment, zone=True)
    if edm_type == "Edm.Date":
        return _date(edm_type, value, field, system).isoformat()
    if edm_type in ("Edm.Time", "Edm.TimeOfDay"):
        try:
            clock = _time_of(value)
        except ValueError:
            raise _bad_input(edm_type, value, "expected a time of day", field, system) from None
        if clock.tzinfo is not None:
            raise _bad_input(edm_type, value, "a time of day carries no timezone", field, system)
        return _time_as_duration(clock) if edm_type == "Edm.Time" else clock.isoformat()
    if edm_type == "Edm.Duration":
        if not isinstance(value, timedelta):
            raise _bad_input(edm_type, value, "expected a timedelta", field, system)
        return format_duration(value)
    if edm_type.startswith("Edm."):
        raise _bad_input(edm_type, value, "this Edm type is not supported", field, system)
    return value


def _string(edm_type: str, value: Any, field: str | None, system: str | None) -> str:
    if not isinstance(value, str):
        raise _bad_input(edm_type, value, "expected a str", field, system)
    return value


def _integer(edm_type: str, value: Any, field: str | None, system: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise _bad_input(edm_type, value, "expected an int", field, system)
    if isinstance(value, Decimal) and (not value.is_finite() or value != value.to_integral_value()):
        raise _bad_input(edm_type, value, "not a whole number", field, system)
    number = int(value)
    low, high = _INT_RANGES[edm_type]
    if not low <= number <= high:
        raise _bad_input(edm_type, value, f"outside {low}..{high}", field, system)
    return number


def _plain(number: Decimal) -> str:
    # Fixed-point digits, never an exponent: "1E+2" is not a valid OData decimal.
    text = format(number, "f")
    return "0" if text == "-0" else text


def _decimal_text(edm_type: str, value: Any, field: str | None, system: str | None) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        why = (
            "a float may already have lost a cent; use Decimal"
            if isinstance(value, float)
            else "expected Decimal"
        )
        raise _bad_input(edm_type, value, why, field, system)
    number = Decimal(value)
    if not number.is_finite():
        raise _bad_input(edm_type, value, "not a finite amount", field, system)
    return _plain(number)


def _floating(edm_type: str, value: Any, field: str | None, system: str | None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, float)):
        raise _bad_input(edm_type, value, "expected a number", field, system)
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _guid(edm_type: str, value: Any, field: str | None, system: str | None) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise _bad_input(edm_type, value, "expected a UUID", field, system)


def _binary(edm_type: str, value: Any, field: str | None, system: str | None) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise _bad_input(edm_type, value, "expected bytes", field, system)
    return bytes(value)


def _date(edm_type: str, value: Any, field: str | None, system: str | None) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _bad_input(edm_type, value, "expected a date (not a datetime)", field, system)
    return value


# -- URL literals ----------------------------------------------------------------------------


def quote_string(value: str) -> str:
    """``O'Neil`` -> ``'O''Neil'``: the only escape inside an OData string literal."""
    return "'" + value.replace("'", "''") + "'"


def literal(
    edm_type: str,
    value: Any,
    version: ODataVersion,
    *,
    field: str | None = None,
    system: str | None = None,
) -> str:
    """Render ``value`` as a URL literal of ``edm_type`` in ``version``'s syntax.

    The result is not yet percent-encoded (the query builder does that). ``None`` renders as
    ``null``. An enum type (``NS.Status``) renders V4's ``NS.Status'Member'``.

    :raises ValidationError: naming ``field`` when the value does not fit the type.
    """
    if value is None:
        return "null"
    _check_version(edm_type, version, field, system)
    v4 = version.is_v4
    if edm_type == "Edm.String":
        return quote_string(_string(edm_type, value, field, system))
    if edm_type == "Edm.Boolean":
        if not isinstance(value, bool):
            raise _bad_input(edm_type, value, "expected a bool", field, system)
        return "true" if value else "false"
    if edm_type in _INT_RANGES:
        whole = _integer(edm_type, value, field, system)
        return f"{whole}L" if edm_type == "Edm.Int64" and not v4 else str(whole)
    if edm_type == "Edm.Decimal":
        text = _decimal_text(edm_type, value, field, system)
        return text if v4 else f"{text}M"
    if edm_type in ("Edm.Single", "Edm.Double"):
        number = _floating(edm_type, value, field, system)
        if not number.is_finite():
            if not v4:
                raise _bad_input(edm_type, value, "OData V2 has no literal for it", field, system)
            return {"Infinity": "INF", "-Infinity": "-INF"}.get(str(number), "NaN")
        text = _plain(number)
        return text if v4 else f"{text}{'f' if edm_type == 'Edm.Single' else 'd'}"
    if edm_type == "Edm.Guid":
        guid = str(_guid(edm_type, value, field, system))
        return guid if v4 else f"guid'{guid}'"
    if edm_type == "Edm.Binary":
        raw = _binary(edm_type, value, field, system)
        if v4:
            return "binary'" + base64.urlsafe_b64encode(raw).decode("ascii") + "'"
        return "X'" + raw.hex().upper() + "'"
    if edm_type == "Edm.DateTime":
        return f"datetime'{_iso_utc(_aware(value, edm_type, field, system), zone=False)}'"
    if edm_type == "Edm.DateTimeOffset":
        text = _iso_utc(_aware(value, edm_type, field, system), zone=True)
        return text if v4 else f"datetimeoffset'{text}'"
    if edm_type == "Edm.Date":
        return _date(edm_type, value, field, system).isoformat()
    if edm_type in ("Edm.Time", "Edm.TimeOfDay"):
        try:
            clock = _time_of(value)
        except ValueError:
            raise _bad_input(edm_type, value, "expected a time of day", field, system) from None
        if clock.tzinfo is not None:
            raise _bad_input(edm_type, value, "a time of day carries no timezone", field, system)
        return f"time'{_time_as_duration(clock)}'" if edm_type == "Edm.Time" else clock.isoformat()
    if edm_type == "Edm.Duration":
        if not isinstance(value, timedelta):
            raise _bad_input(edm_type, value, "expected a timedelta", field, system)
        return f"duration'{format_duration(value)}'"
    if edm_type.startswith("Edm."):
        raise _bad_input(edm_type, value, "this Edm type has no URL literal", field, system)
    # An enum or type definition: V4 writes enum members as Namespace.Type'Member'.
    text = _string(edm_type, value.value if hasattr(value, "value") else value, field, system)
    if v4 and re.fullmatch(r"[A-Za-z_][\w.]*", edm_type):
        return f"{edm_type}{quote_string(text)}"
    return quote_string(text)


def infer_edm_type(value: Any, version: ODataVersion) -> str:
    """The Edm type a Python value is written as when no metadata names one.

    ``datetime`` is ``Edm.DateTimeOffset`` in V4 and ``Edm.DateTime`` in V2 (SAP's usual
    type for dates and timestamps); give the type explicitly where a V2 property is a
    ``DateTimeOffset``.

    :raises ValidationError: for a type with no Edm counterpart (``float`` included).
    """
    v4 = version.is_v4
    if isinstance(value, bool):
        return "Edm.Boolean"
    if isinstance(value, str):
        return "Edm.String"
    if isinstance(value, int):
        return "Edm.Int32" if -(2**31) <= value < 2**31 else "Edm.Int64"
    if isinstance(value, Decimal):
        return "Edm.Decimal"
    if isinstance(value, uuid.UUID):
        return "Edm.Guid"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "Edm.Binary"
    if isinstance(value, datetime):
        return "Edm.DateTimeOffset" if v4 else "Edm.DateTime"
    if isinstance(value, date):
        return "Edm.Date" if v4 else "Edm.DateTime"
    if isinstance(value, time):
        return "Edm.TimeOfDay" if v4 else "Edm.Time"
    if isinstance(value, timedelta):
        return "Edm.Duration" if v4 else "Edm.Time"
    if isinstance(value, float):
        raise ValidationError("refusing a float in an OData query: use Decimal for amounts")
    raise ValidationError(f"cannot write a {type(value).__name__} in an OData query")
