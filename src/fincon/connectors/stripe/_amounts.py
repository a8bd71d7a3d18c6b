"""Stripe amounts: integer minor units, converted with the currency's exponent as Stripe uses it.

Stripe follows ISO 4217 (USD 2, JPY 0, KWD 3) with two exceptions in how it *represents*
amounts: ISK stays two-decimal in the API (``100`` is 1 krona) although ISO says zero, and
MGA is zero-decimal although ISO says two. Three-decimal currencies (BHD, JOD, KWD, OMR,
TND) are exact to the fils when read; Stripe requires the last digit of a charged amount to
be 0, which it enforces itself: fincon never rounds an amount to make it fit.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded
from functools import lru_cache
from typing import Any

from fincon.models import CURRENCY_EXPONENTS

__all__ = [
    "EXACT_MINOR",
    "STRIPE_EXPONENT_OVERRIDES",
    "from_timestamp",
    "minor_to_decimal",
    "stripe_exponent",
    "to_minor",
    "to_timestamp",
]

#: Where Stripe's representation differs from ISO 4217 (see the module doc).
STRIPE_EXPONENT_OVERRIDES = {"ISK": 2, "MGA": 0}

# Wide enough for any amount Stripe can send; a rounding would raise, never pass silently.
_EXACT = Context(prec=60, traps=[Inexact, Rounded, InvalidOperation])
#: The context minor units are scaled in (exact or an error, never rounded).
EXACT_MINOR = _EXACT


@lru_cache(maxsize=256)
def stripe_exponent(currency: str) -> int:
    """Decimals of ``currency`` in Stripe's minor units (``"usd"`` -> 2, ``"jpy"`` -> 0, ``"kwd"`` -> 3)."""
    code = currency.upper()
    override = STRIPE_EXPONENT_OVERRIDES.get(code)
    if override is not None:
        return override
    exponent = CURRENCY_EXPONENTS.get(code)
    if exponent is None:
        raise ValueError(f"{currency!r} is not a currency with a minor unit")
    return exponent


def minor_to_decimal(value: Any, currency: str) -> Decimal:
    """An integer count of minor units (or Stripe's decimal string, e.g. ``unit_amount_decimal``)
    as an exact major-unit ``Decimal``: ``(1099, "usd")`` -> ``Decimal("10.99")``."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    if isinstance(value, (int, str)):
        number = Decimal(value)
    elif isinstance(value, Decimal) and value == value.to_integral_value():
        number = value
    else:
        raise ValueError(f"a Stripe amount must be integer minor units, got {value!r}")
    if not number.is_finite():
        raise ValueError("a Stripe amount must be finite")
    return number.scaleb(-stripe_exponent(currency), _EXACT)


def to_minor(amount: Decimal, currency: str, *, field: str = "amount") -> int:
    """``Decimal("10.99")`` in ``"USD"`` -> ``1099``; refuses (``ValueError``) what would need rounding."""
    scaled = amount.scaleb(stripe_exponent(currency), _EXACT)
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"{field} {amount} has more decimals than {currency.upper()} allows in Stripe; "
            "round it explicitly first"
        )
    return int(scaled)


def minor_decimal_text(amount: Decimal, currency: str) -> str:
    """A unit price as Stripe's ``unit_amount_decimal`` (minor units, fractions allowed)."""
    scaled = amount.scaleb(stripe_exponent(currency), _EXACT)
    text = format(scaled.normalize(_EXACT) if scaled != 0 else Decimal(0), "f")
    return text


def from_timestamp(value: Any) -> datetime | None:
    """A Unix timestamp as an aware UTC datetime (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValueError(f"a Stripe timestamp must be an integer, got {value!r}")
    return datetime.fromtimestamp(int(value), tz=timezone.utc)


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def date_of(value: Any) -> date | None:
    """The UTC calendar date of a Unix timestamp."""
    if type(value) is int:  # the common case, without building a datetime: whole days since 1970
        return date.fromordinal(_EPOCH_ORDINAL + value // 86_400)
    moment = from_timestamp(value)
    return None if moment is None else moment.date()


def to_timestamp(value: datetime | date) -> int:
    """An aware datetime (or a date, at 00:00 UTC) as a Unix timestamp."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("refusing a naive datetime: give a timezone")
        return int(value.timestamp())
    return int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp())
