"""The named transforms a ``FieldMap`` rule can use: ``"amount:de_DE"``, ``"date:us"``, ``"truncate:40"``."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from fincon.errors import ValidationError
from fincon.models import CURRENCY_EXPONENTS
from fincon.transform import _dates
from fincon.transform._amounts import parse_amount
from fincon.transform._minor_units import from_minor_units
from fincon.transform._names import normalize_vendor_name
from fincon.transform._terms import parse_terms
from fincon.transform._truncate import truncate

__all__ = ["BUILTIN_TRANSFORMS", "Transform", "resolve_transform"]

Transform = Callable[[Any], Any]
"""A value-to-value function; raising any exception records a field error."""

_TRUE: Final = frozenset({"true", "t", "yes", "y", "1", "x", "on"})  # SAP flags are "X" or ""
_FALSE: Final = frozenset({"false", "f", "no", "n", "0", "", "off"})


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"expected text, got {type(value).__name__} {value!r}")
    return value


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValidationError(f"float {value!r} refused: exact values must arrive as text, int or Decimal")
    return value


def _to_int(value: Any) -> int:
    value = _no_float(value)
    if isinstance(value, bool):
        raise ValidationError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    raise ValidationError(f"expected an integer, got {value!r}")


def _to_decimal(value: Any) -> Decimal:
    value = _no_float(value)
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise ValidationError(f"expected a decimal number, got {type(value).__name__} {value!r}")
    try:
        result = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except ArithmeticError:
        raise ValidationError(f"expected a decimal number, got {value!r}") from None
    if not result.is_finite():
        raise ValidationError(f"expected a finite decimal number, got {value!r}")
    return result


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    folded = str(value).strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValidationError(f"expected a yes/no value, got {value!r}")


def _to_currency(value: Any) -> str:
    code = _text(value).strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code")
    return code


_DATE_PARSERS: Final[dict[str, Callable[[str], Any]]] = {
    "iso": _dates.parse_iso_date,
    "us": _dates.parse_us_date,
    "eu": _dates.parse_eu_date,
    "sap": _dates.parse_sap_date,
}
_DATETIME_PARSERS: Final[dict[str, Callable[[Any], Any]]] = {
    "iso": _dates.parse_iso_datetime,
    "sap": _dates.parse_sap_datetime,
    "unix": _dates.parse_unix_timestamp,
}


def _date(value: Any, arg: str | None) -> Any:
    return _DATE_PARSERS[arg or "iso"](_text(value))


def _datetime(value: Any, arg: str | None) -> Any:
    return _DATETIME_PARSERS[arg or "iso"](value)


BUILTIN_TRANSFORMS: Final[dict[str, Callable[[Any, str | None], Any]]] = {
    "str": lambda value, _: str(_no_float(value)),
    "strip": lambda value, _: _text(value).strip(),
    "upper": lambda value, _: _text(value).upper(),
    "lower": lambda value, _: _text(value).lower(),
    "int": lambda value, _: _to_int(value),
    "decimal": lambda value, _: _to_decimal(value),
    "bool": lambda value, _: _to_bool(value),
    "amount": lambda value, arg: parse_amount(value, arg),
    "minor_units": lambda value, arg: from_minor_units(_to_int(value), arg or ""),
    "currency": lambda value, _: _to_currency(value),
    "date": _date,
    "datetime": _datetime,
    "terms": lambda value, _: parse_terms(_text(value)),
    "vendor_name": lambda value, _: normalize_vendor_name(_text(value)),
    "truncate": lambda value, arg: truncate(_text(value), int(arg or "0")),
}
"""Built-in transforms by name; ``name:arg`` passes ``arg`` (a locale, date format, length or currency)."""

_REQUIRED_ARGS: Final = {"minor_units", "truncate"}
_CHOICES: Final = {"date": _DATE_PARSERS, "datetime": _DATETIME_PARSERS}


def resolve_transform(spec: str, custom: dict[str, Transform] | None = None) -> Transform:
    """The function a transform name stands for; ``ValidationError`` for an unknown or malformed name."""
    if custom and spec in custom:
        return custom[spec]
    name, _, arg = spec.partition(":")
    if name not in BUILTIN_TRANSFORMS:
        known = ", ".join(sorted({*BUILTIN_TRANSFORMS, *(custom or {})}))
        raise ValidationError(f"unknown transform {spec!r} (known: {known})", field="transform")
    if name in _REQUIRED_ARGS and not arg:
        raise ValidationError(f"transform {name!r} needs an argument, e.g. '{name}:...'", field="transform")
    if name in _CHOICES and arg and arg not in _CHOICES[name]:
        raise ValidationError(
            f"unknown {name} format {arg!r} (known: {', '.join(_CHOICES[name])})", field="transform"
        )
    if name == "truncate" and not arg.isdigit():
        raise ValidationError(f"truncate needs a length, got {arg!r}", field="transform")
    if name == "minor_units" and arg.upper() not in CURRENCY_EXPONENTS:
        raise ValidationError(f"minor_units needs an ISO 4217 currency, got {arg!r}", field="transform")
    function, argument = BUILTIN_TRANSFORMS[name], arg or None

    def apply(value: Any) -> Any:
        return function(value, argument)

    apply.__name__ = spec
    return apply
