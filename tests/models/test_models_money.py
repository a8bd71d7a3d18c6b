"""Money: exact amounts, ISO currencies, currency-safe arithmetic, JSON as strings."""

from __future__ import annotations

import json
from decimal import Decimal

import pydantic
import pytest

from fincon.errors import ValidationError
from fincon.models import CurrencyMismatchError, Money


def test_amount_is_converted_exactly_from_int_str_and_decimal() -> None:
    assert Money(5, "USD").amount == Decimal(5)
    assert Money("0.10", "USD").amount.as_tuple() == Decimal("0.10").as_tuple()
    assert Money(Decimal("12345678901234567890.123456789"), "USD").amount == Decimal(
        "12345678901234567890.123456789"
    )


def test_float_amount_is_refused_with_a_clear_message() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        Money(0.1, "USD")  # type: ignore[arg-type]
    message = str(caught.value)
    assert "float is not accepted" in message
    assert "amount" in message


def test_float_in_json_document_is_refused_but_strings_and_ints_are_exact() -> None:
    with pytest.raises(pydantic.ValidationError, match="float is not accepted"):
        Money.model_validate_json('{"amount": 0.1, "currency": "USD"}')
    exact = Money.model_validate_json('{"amount": "1.0000000000000000000000000001", "currency": "USD"}')
    assert exact.amount == Decimal("1.0000000000000000000000000001")
    big = Money.model_validate_json('{"amount": 123456789012345678901234567890, "currency": "JPY"}')
    assert big.amount == Decimal("123456789012345678901234567890")


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "abc", True])
def test_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(pydantic.ValidationError):
        Money(bad, "USD")  # type: ignore[arg-type]


def test_currency_is_normalised_and_checked_against_iso_4217() -> None:
    assert Money(1, " usd ").currency == "USD"
    assert Money(1, "kwd").currency == "KWD"
    with pytest.raises(pydantic.ValidationError, match="ISO 4217"):
        Money(1, "ABC")
    with pytest.raises(pydantic.ValidationError, match="ISO 4217"):
        Money(1, "US")


def test_money_is_frozen_and_hashable() -> None:
    price = Money("1.50", "EUR")
    with pytest.raises(pydantic.ValidationError):
        price.amount = Decimal(2)  # type: ignore[misc]
    assert len({Money("1.5", "EUR"), Money("1.50", "EUR"), Money("1.5", "USD")}) == 2


def test_arithmetic_keeps_currency_and_is_exact() -> None:
    a, b = Money("0.10", "USD"), Money("0.20", "USD")
    assert a + b == Money("0.30", "USD")
    assert b - a == Money("0.10", "USD")
    assert -a == Money("-0.10", "USD")
    assert abs(Money("-3", "USD")) == Money(3, "USD")
    assert a * 3 == Money("0.30", "USD")
    assert 3 * a == Money("0.30", "USD")
    assert a * Decimal("0.5") == Money("0.050", "USD")
    huge = Money("9999999999999999999999999999.99", "USD")
    assert (huge + Money("0.01", "USD")).amount == Decimal("10000000000000000000000000000.00")


def test_sum_works_from_default_start() -> None:
    lines = [Money("10.00", "GBP"), Money("2.50", "GBP"), Money("0.01", "GBP")]
    assert sum(lines) == Money("12.51", "GBP")
    assert sum(lines, Money.zero("GBP")) == Money("12.51", "GBP")


def test_comparisons() -> None:
    assert Money(1, "USD") < Money(2, "USD") <= Money(2, "USD")
    assert Money(3, "USD") > Money(2, "USD") >= Money(2, "USD")
    assert Money(1, "USD") != Money(1, "EUR")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a >= b,
        lambda a, b: sum([a, b]),
    ],
)
def test_mixing_currencies_is_refused(operation: object) -> None:
    with pytest.raises(CurrencyMismatchError, match="USD and EUR") as caught:
        operation(Money(1, "USD"), Money(1, "EUR"))  # type: ignore[operator]
    assert isinstance(caught.value, ValidationError)
    assert caught.value.field == "currency"


def test_multiplying_by_float_or_adding_plain_numbers_is_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        Money(1, "USD") * 1.1  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(1, "USD") + Decimal(1)  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(1, "USD") + 5  # type: ignore[operator]


def test_json_writes_amounts_as_strings() -> None:
    dumped = json.loads(Money("1234.50", "USD").model_dump_json())
    assert dumped == {"amount": "1234.50", "currency": "USD"}
    assert Money.model_validate_json(Money("1234.50", "USD").model_dump_json()) == Money("1234.50", "USD")


def test_quantize_rounds_half_up_to_the_minor_unit() -> None:
    assert Money("2.675", "USD").quantize().amount == Decimal("2.68")
    assert Money("2.5", "JPY").quantize().amount == Decimal(3)
    assert Money("1.23456", "KWD").quantize().amount == Decimal("1.235")
    with pytest.raises(ValidationError, match="no minor unit"):
        Money(1, "XAU").quantize()


def test_repr_and_str() -> None:
    assert repr(Money("15250.00", "USD")) == "Money(Decimal('15250.00'), 'USD')"
    assert str(Money("15250.00", "USD")) == "15250.00 USD"
