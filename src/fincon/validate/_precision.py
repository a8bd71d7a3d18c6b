"""Amount precision: an amount must not carry more decimals than its currency's minor unit."""

from __future__ import annotations

from fincon.errors import ValidationError
from fincon.models import CURRENCY_EXPONENTS, Money
from fincon.models._exact_decimal import EXACT

__all__ = ["validate_amount_precision"]


def validate_amount_precision(money: Money, *, field: str = "amount") -> Money:
    """``money`` unchanged if it fits the currency's minor unit (``12.345 USD`` does not, ``100 JPY`` does).

    Trailing zeros are fine (``12.340 USD``). Currencies without a minor unit (XAU) accept any precision.
    """
    exponent = CURRENCY_EXPONENTS.get(money.currency)
    if exponent is None:
        return money
    scaled = money.amount.scaleb(exponent, context=EXACT)
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            f"{field} {money.amount} has more decimals than {money.currency} allows ({exponent})", field=field
        )
    return money
