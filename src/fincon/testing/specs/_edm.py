"""How OData JSON writes each Edm primitive: V2 "verbose" JSON and V4 JSON differ.

Each checker returns ``None`` when the value has the right shape, else the reason. V2 writes
Edm.Int64 and Edm.Decimal as strings and dates as ``/Date(ms)/``; V4 writes numbers (strings
under ``IEEE754Compatible=true``) and ISO 8601 text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fincon.testing.specs._errors import short_repr

__all__ = ["Facets", "check_primitive"]

_RANGES = {
    "Edm.Byte": (0, 255),
    "Edm.SByte": (-128, 127),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
_INT_TEXT = re.compile(r"^[-+]?\d+$")
_DECIMAL_TEXT = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_V2_DATE = re.compile(r"^/Date\(-?\d+([+-]\d{4})?\)/$")
_ISO_DATE = re.compile(r"^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
_ISO_DATETIME_OFFSET = re.compile(
    r"^-?\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
)
_TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$")
_DURATION = re.compile(r"^-?P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


@dataclass(frozen=True)
class Facets:
    """The facets of a property that constrain values: MaxLength, Precision, Scale."""

    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(name: str, value: Any, as_text: bool | None) -> str | None:
    if _is_int(value) and as_text is not True:
        number = value
    elif isinstance(value, str) and as_text is not False and _INT_TEXT.match(value):
        number = int(value)
    else:
        shape = {True: "a string of digits", False: "a JSON integer", None: "an integer"}[as_text]
        return f"{short_repr(value)} is not {shape} ({name})"
    low, high = _RANGES[name]
    return None if low <= number <= high else f"{number} is out of range for {name}"


def _decimal(value: Any, facets: Facets, as_text: bool | None) -> str | None:
    if isinstance(value, str) and as_text is not False and _DECIMAL_TEXT.match(value):
        number = Decimal(value)
    elif _is_number(value) and as_text is not True:
        number = Decimal(repr(value))
    else:
        shape = {True: "a decimal string", False: "a JSON number", None: "a number or decimal string"}[
            as_text
        ]
        return f"{short_repr(value)} is not {shape} (Edm.Decimal)"
    try:
        _, digits, exponent = number.as_tuple()
    except InvalidOperation:  # pragma: no cover - the regex rules out NaN and Infinity
        return f"{short_repr(value)} is not a decimal"
    scale = max(0, -int(exponent))
    whole = max(0, len(digits) + int(exponent))
    if facets.scale is not None and scale > facets.scale:
        return f"{short_repr(value)} has {scale} decimals, Scale is {facets.scale}"
    if facets.precision is not None:
        allowed_whole = facets.precision - (facets.scale or 0)
        if whole > allowed_whole:
            limits = f"Precision {facets.precision} Scale {facets.scale or 0}"
            return f"{short_repr(value)} has {whole} integer digits; {limits} allows {allowed_whole}"
    return None


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and regex.match(value):
            return None
        return f"{short_repr(value)} is not {what}"

    return check


def check_primitive(
    type_name: str, value: Any, facets: Facets, *, v4: bool, ieee754: bool | None
) -> str | None:
    """The reason ``value`` cannot be a JSON-serialised ``type_name``, or ``None`` when it can.

    :param v4: OData V4 JSON (else V2 verbose JSON).
    :param ieee754: V4 only: ``True`` when the response said ``IEEE754Compatible=true`` (Int64 and
        Decimal as strings), ``False`` when it did not, ``None`` to accept both.
    """
    if type_name == "Edm.String":
        if not isinstance(value, str):
            return f"{short_repr(value)} is not a string"
        if facets.max_length is not None and len(value) > facets.max_length:
            return f"{len(value)} characters exceed MaxLength {facets.max_length}"
        return None
    if type_name == "Edm.Boolean":
        return None if isinstance(value, bool) else f"{short_repr(value)} is not a boolean"
    if type_name in ("Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32"):
        return _integer(type_name, value, False)
    if type_name == "Edm.Int64":
        return _integer(type_name, value, ieee754 if v4 else True)
    if type_name == "Edm.Decimal":
        return _decimal(value, facets, ieee754 if v4 else True)
    if type_name in ("Edm.Double", "Edm.Single"):
        if _is_number(value) or value in ("INF", "-INF", "NaN"):
            return None
        # V2 verbose JSON servers write these as strings as often as numbers.
        if not v4 and isinstance(value, str) and _DECIMAL_TEXT.match(value):
            return None
        return f"{short_repr(value)} is not a number ({type_name})"
    if type_name == "Edm.Guid":
        return _pattern(_GUID, "a GUID")(value)
    if type_name == "Edm.DateTime":
        return _pattern(_V2_DATE, "a /Date(ms)/ date (Edm.DateTime)")(value) if not v4 else None
    if type_name == "Edm.DateTimeOffset":
        if v4:
            return _pattern(_ISO_DATETIME_OFFSET, "an ISO 8601 date-time with offset")(value)
        if isinstance(value, str) and (_V2_DATE.match(value) or _ISO_DATETIME_OFFSET.match(value)):
            return None
        return f"{short_repr(value)} is not a /Date(ms+offset)/ or ISO 8601 date-time"
    if type_name == "Edm.Date":
        return _pattern(_ISO_DATE, "a date YYYY-MM-DD")(value)
    if type_name == "Edm.TimeOfDay":
        return _pattern(_TIME_OF_DAY, "a time of day hh:mm:ss")(value)
    if type_name in ("Edm.Time", "Edm.Duration"):
        return _pattern(_DURATION, f"an ISO 8601 duration such as PT13H20M ({type_name})")(value)
    if type_name == "Edm.Binary":
        return _pattern(_BASE64URL if v4 else _BASE64, "base64 text (Edm.Binary)")(value)
    # Edm.Stream, geography/geometry and anything newer: not checked.
    return None
