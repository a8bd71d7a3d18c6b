"""Minor units with the ISO 4217 exponent table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fincon.errors import ValidationError
from fincon.models import CURRENCY_EXPONENTS, Money
from fincon.transform import currency_exponent, from_minor_units, to_minor_units

WITH_MINOR_UNIT = sorted(code for code, exponent in CURRENCY_EXPONENTS.items() if exponent is not None)


@pytest.mark.parametrize(
    ("code", "exponent"), [("JPY", 0), ("KRW", 0), ("USD", 2), ("eur", 2), ("BHD", 3), ("KWD", 3), ("CLF", 4)]
)
def test_iso_exponents(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


def test_unknown_or_unitless_currency_is_refused() -> None:
    with pytest.raises(ValidationError, match="not an ISO 4217") as caught:
        currency_exponent("ABC")
    assert caught.value.field == "currency"
    with pytest.raises(ValidationError, match="no minor unit"):
        currency_exponent("XAU")


def test_known_conversions() -> None:
    assert to_minor_units(Money("12.34", "USD")) == 1234
    assert to_minor_units(Money("12.340", "USD")) == 1234
    assert to_minor_units(Money(500, "JPY")) == 500
    assert to_minor_units(Money("1.005", "KWD")) == 1005
    assert to_minor_units(Money("-0.01", "EUR")) == -1
    assert from_minor_units(1234, "USD") == Money("12.34", "USD")
    assert from_minor_units(1234, "USD").amount.as_tuple().exponent == -2
    assert from_minor_units(1005, "BHD") == Money("1.005", "BHD")


def test_excess_precision_is_refused_not_rounded() -> None:
    with pytest.raises(ValidationError, match=r"more decimals than USD allows \(2\)") as caught:
        to_minor_units(Money("12.345", "USD"))
    assert caught.value.field == "amount"
    with pytest.raises(ValidationError, match="JPY"):
        to_minor_units(Money("1.5", "JPY"))


def test_from_minor_units_needs_an_int() -> None:
    with pytest.raises(ValidationError, match="must be an int"):
        from_minor_units(12.0, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="must be an int"):
        from_minor_units("12", "USD")  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from(WITH_MINOR_UNIT))
def test_int_to_money_to_int_round_trips(value: int, currency: str) -> None:
    assert to_minor_units(from_minor_units(value, currency)) == value


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**20), max_value=10**20),
    st.sampled_from(WITH_MINOR_UNIT),
)
def test_money_to_int_to_money_round_trips(amount: Decimal, currency: str) -> None:
    money = Money(amount, currency)
    exponent = CURRENCY_EXPONENTS[currency]
    assert exponent is not None
    fits = amount == amount.quantize(Decimal(1).scaleb(-exponent))
    if fits:
        assert from_minor_units(to_minor_units(money), currency) == money
    else:
        with pytest.raises(ValidationError):
            to_minor_units(money)
