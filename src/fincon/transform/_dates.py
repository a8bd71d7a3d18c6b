"""Date and timestamp codecs for the formats finance systems send.

Every ``parse_*`` raises ``fincon.errors.ValidationError`` naming the format expected and
every ``format_*`` is its inverse, so that ``parse(format(value)) == value``. Timestamps
come back timezone-aware; a naive datetime is refused rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from fincon.errors import ValidationError

__all__ = [
    "format_eu_date",
    "format_iso_date",
    "format_iso_datetime",
    "format_sap_date",
    "format_sap_datetime",
    "format_unix_timestamp",
    "format_us_date",
    "parse_eu_date",
    "parse_iso_date",
    "parse_iso_datetime",
    "parse_sap_date",
    "parse_sap_datetime",
    "parse_unix_timestamp",
    "parse_us_date",
]

_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_EU_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# OData v2 JSON: /Date(<ms since epoch, UTC>)/ with an optional offset in minutes, +hhmm style digits.
_SAP_DATE = re.compile(r"\\?/Date\((-?\d+)(?:([+-])(\d{4}))?\)\\?/")


def _fail(text: object, expected: str, field: str | None) -> ValidationError:
    return ValidationError(f"{text!r} is not a valid {expected}", field=field)


def _build_date(year: str, month: str, day: str, text: str, expected: str, field: str | None) -> dt.date:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError as error:
        raise ValidationError(f"{text!r} is not a valid {expected}: {error}", field=field) from None


def _require_aware(value: dt.datetime, field: str | None) -> None:
    if value.utcoffset() is None:
        raise ValidationError(
            f"{value.isoformat()} has no timezone; fincon only handles timezone-aware datetimes", field=field
        )


def parse_iso_date(text: str, *, field: str | None = None) -> dt.date:
    """``"2026-01-31"`` -> ``date(2026, 1, 31)``."""
    value = text.strip() if isinstance(text, str) else text
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise _fail(text, "ISO 8601 date (YYYY-MM-DD)", field)
    return _build_date(value[:4], value[5:7], value[8:], text, "ISO 8601 date", field)


def format_iso_date(value: dt.date) -> str:
    """``date(2026, 1, 31)`` -> ``"2026-01-31"``."""
    return value.isoformat()


def parse_iso_datetime(
    text: str, *, assume_tz: dt.tzinfo | None = None, field: str | None = None
) -> dt.datetime:
    """An ISO 8601 timestamp (``Z`` or ``+hh:mm`` offset) -> an aware ``datetime``.

    A timestamp without offset is refused unless ``assume_tz`` says which zone it is in.
    """
    value = text.strip() if isinstance(text, str) else text
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise _fail(text, "ISO 8601 timestamp", field)
    if value.endswith(("Z", "z")):  # fromisoformat accepts "Z" only from Python 3.11
        value = value[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _fail(text, "ISO 8601 timestamp", field) from None
    if parsed.tzinfo is None:
        if assume_tz is None:
            raise ValidationError(
                f"{text!r} has no timezone offset; pass assume_tz= to say which zone it is in", field=field
            )
        parsed = parsed.replace(tzinfo=assume_tz)
    return parsed


def format_iso_datetime(value: dt.datetime) -> str:
    """An aware ``datetime`` -> ISO 8601 with offset (``Z`` for UTC)."""
    _require_aware(value, None)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse_us_date(text: str, *, field: str | None = None) -> dt.date:
    """``"01/31/2026"`` (MM/DD/YYYY) -> ``date(2026, 1, 31)``."""
    match = _US_DATE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise _fail(text, "MM/DD/YYYY date", field)
    month, day, year = match.groups()
    return _build_date(year, month, day, text, "MM/DD/YYYY date", field)


def format_us_date(value: dt.date) -> str:
    """``date(2026, 1, 31)`` -> ``"01/31/2026"``."""
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


def parse_eu_date(text: str, *, field: str | None = None) -> dt.date:
    """``"31.01.2026"`` (DD.MM.YYYY, as German and Swiss systems print dates) -> ``date(2026, 1, 31)``."""
    match = _EU_DATE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise _fail(text, "DD.MM.YYYY date", field)
    day, month, year = match.groups()
    return _build_date(year, month, day, text, "DD.MM.YYYY date", field)


def format_eu_date(value: dt.date) -> str:
    """``date(2026, 1, 31)`` -> ``"31.01.2026"``."""
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def parse_sap_datetime(text: str, *, field: str | None = None) -> dt.datetime:
    """SAP/OData v2 ``/Date(ms)/`` or ``/Date(ms+mmmm)/`` -> an aware ``datetime``.

    ``ms`` counts milliseconds since 1970-01-01 UTC; the optional ``+mmmm``/``-mmmm`` is the
    offset in minutes and sets the result's timezone (the instant is unchanged).
    """
    match = _SAP_DATE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise _fail(text, "SAP /Date(ms)/ value", field)
    millis, sign, minutes = match.groups()
    offset = dt.timedelta(minutes=int(minutes)) if minutes else dt.timedelta(0)
    try:
        zone = dt.timezone(-offset if sign == "-" else offset)
        return (_EPOCH + dt.timedelta(milliseconds=int(millis))).astimezone(zone)
    except (ValueError, OverflowError) as error:
        raise ValidationError(f"{text!r} is out of range: {error}", field=field) from None


def format_sap_datetime(value: dt.datetime, *, with_offset: bool = False) -> str:
    """An aware ``datetime`` -> ``/Date(ms)/``, or ``/Date(ms+mmmm)/`` with its offset in minutes.

    Sub-millisecond digits are dropped (SAP keeps milliseconds only).
    """
    _require_aware(value, None)
    millis = (value - _EPOCH) // dt.timedelta(milliseconds=1)
    if not with_offset:
        return f"/Date({millis})/"
    offset = value.utcoffset() or dt.timedelta(0)
    minutes = offset // dt.timedelta(minutes=1)
    return f"/Date({millis}{'-' if minutes < 0 else '+'}{abs(minutes):04d})/"


def parse_sap_date(text: str, *, field: str | None = None) -> dt.date:
    """SAP ``Edm.DateTime`` holding a calendar date (``/Date(1769817600000)/``, midnight UTC) -> ``date``."""
    moment = parse_sap_datetime(text, field=field)
    utc = moment.astimezone(_UTC)
    if utc.time() != dt.time(0):
        raise ValidationError(f"{text!r} is not a calendar date (it is not midnight UTC)", field=field)
    return utc.date()


def format_sap_date(value: dt.date) -> str:
    """``date`` -> ``/Date(ms)/`` at midnight UTC, as SAP sends ``Edm.DateTime`` dates."""
    return format_sap_datetime(dt.datetime(value.year, value.month, value.day, tzinfo=_UTC))


def parse_unix_timestamp(value: int | str | Decimal, *, field: str | None = None) -> dt.datetime:
    """Seconds since 1970-01-01 UTC (``int``, digit string, or ``Decimal``) -> a UTC ``datetime``.

    Floats are refused: a float cannot hold microseconds of a present-day timestamp exactly.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise _fail(value, "Unix timestamp (int seconds)", field)
    try:
        seconds = Decimal(value.strip() if isinstance(value, str) else value)
        microseconds = int(seconds.scaleb(6).to_integral_value())
        if seconds.scaleb(6) != microseconds:
            raise ValidationError(f"{value!r} has more precision than microseconds", field=field)
        return _EPOCH + dt.timedelta(microseconds=microseconds)
    except (InvalidOperation, ValueError, OverflowError):
        raise _fail(value, "Unix timestamp (int seconds)", field) from None


def format_unix_timestamp(value: dt.datetime) -> int:
    """An aware ``datetime`` -> whole seconds since 1970-01-01 UTC (fractions of a second dropped)."""
    _require_aware(value, None)
    return (value - _EPOCH) // dt.timedelta(seconds=1)
