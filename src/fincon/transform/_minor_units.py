"""Minor units: integer amounts in cents (or yen, or fils) as payment APIs send them."""

from __future__ import annotations

from decimal import Decimal

from fincon.errors import ValidationError
from fincon.models import CURRENCY_EXPONENTS, Money
from fincon.models._exact_decimal import EXACT

__all__ = ["currency_exponent", "from_minor_units", "to_minor_units"]


def currency_exponent(code: str) -> int:
    """Digits of ``code``'s minor unit per ISO 4217: JPY 0, USD 2, KWD 3. Case-insensitive.

    Raises ``ValidationError`` for an unknown code or one without a minor unit (XAU, XDR).
    """
    normalized = code.strip().upper() if isinstance(code, str) else code
    if normalized not in CURRENCY_EXPONENTS:
        raise ValidationError(f"{code!r} is not an ISO 4217 currency code", field="currency")
    exponent = CURRENCY_EXPONENTS[normalized]
    if exponent is None:
        raise ValidationError(f"{normalized} has no minor unit in ISO 4217", field="currency")
    return exponent


def to_minor_units(money: Money) -> int:
    """``money`` as an integer count of minor units: ``Money("12.34", "USD")`` -> ``1234``.

    Refuses (``ValidationError``) an amount with more decimals than the currency allows
    (``12.345 USD``) instead of rounding it: round explicitly with ``Money.quantize`` first.
    """
    exponent = currency_exponent(money.currency)
    scaled = money.amount.scaleb(exponent, context=EXACT)
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            f"amount {money.amount} has more decimals than {money.currency} allows ({exponent}); "
            "round it explicitly before converting to minor units",
            field="amount",
        )
    return int(scaled)


def from_minor_units(value: int, currency: str) -> Money:
    """``Money`` from an integer count of minor units: ``(1234, "USD")`` -> ``Money("12.34", "USD")``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(
            f"minor units must be an int, got {type(value).__name__} {value!r}", field="amount"
        )
    exponent = currency_exponent(currency)
    return Money(Decimal(value).scaleb(-exponent, context=EXACT), currency)
