"""Parsing printed amounts: exact values, refusal of ambiguous text, never a different value."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fincon.errors import ValidationError
from fincon.models import Money
from fincon.transform import format_amount, parse_amount, parse_money


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("$1,234.56", None, "1234.56"),
        ("(1,234.56)", None, "-1234.56"),
        ("-1 234,56 EUR", None, "-1234.56"),
        ("1.234,56", "de_DE", "1234.56"),
        ("1.234,56", None, "1234.56"),  # both separators: only one reading
        ("1,234", "en_US", "1234"),
        ("1,234", "de-DE", "1.234"),
        ("1.234", "de_DE", "1234"),
        ("12.34", None, "12.34"),
        ("1,5", None, "1.5"),
        ("0,125", None, "0.125"),  # a leading zero group cannot be thousands
        ("1,234,567", None, "1234567"),
        ("1234.56-", None, "-1234.56"),  # SAP trailing minus
        ("USD 1,000.00", None, "1000.00"),
        ("1'234.50", "de_CH", "1234.50"),
        ("1\u202f234,50 €", "fr_FR", "1234.50"),
        ("1,23,456.78", "en_IN", "123456.78"),
        ("\u22125.00", None, "-5.00"),
        ("1.50", None, "1.50"),
    ],
)
def test_printed_amounts(text: str, locale: str | None, expected: str) -> None:
    result = parse_amount(text, locale)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == Decimal(expected).as_tuple().exponent


@pytest.mark.parametrize(
    ("text", "locale", "reason"),
    [
        ("1,234", None, "ambiguous"),
        ("1.234", None, "ambiguous"),
        ("1,23.4", None, "misplaced"),
        ("1.234.5", "de_DE", "misplaced"),
        ("1,234.56", "de_DE", "separators after the decimal"),
        ("abc", None, "not a printed amount"),
        ("--5", None, "more than one minus"),
        ("(-5)", None, "more than one minus"),
        ("1e5", None, "not a printed amount"),
        ("5", "xx_YY", "unknown locale"),
    ],
)
def test_unreadable_or_ambiguous_text_is_an_error(text: str, locale: str | None, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as caught:
        parse_amount(text, locale, field="total")
    assert caught.value.field == "total"


def test_non_text_inputs() -> None:
    assert parse_amount(Decimal("1.10")) == Decimal("1.10")
    assert parse_amount(7) == Decimal(7)
    with pytest.raises(ValidationError, match="float"):
        parse_amount(1.1)  # type: ignore[arg-type]


def test_parse_money_uses_codes_and_unambiguous_symbols() -> None:
    assert parse_money("-1 234,56 EUR") == Money("-1234.56", "EUR")
    assert parse_money("£12.00") == Money("12.00", "GBP")
    assert parse_money("$12.00", currency="CAD") == Money("12.00", "CAD")
    with pytest.raises(ValidationError, match="ambiguous"):
        parse_money("$12.00")
    with pytest.raises(ValidationError, match="is in EUR, not USD"):
        parse_money("12.00 EUR", currency="USD")
    with pytest.raises(ValidationError, match="names no currency"):
        parse_money("12.00")


amounts = st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**12), max_value=10**12)


def _print(value: Decimal, style: str) -> str:
    """An independent printer: Python's own grouping, then the style's separators."""
    english = f"{abs(value):,f}"
    body = {
        "en": english,
        "de": english.translate(str.maketrans(",.", ".,")),
        "fr": english.replace(",", " ").replace(".", ","),
        "ch": english.replace(",", "'"),
        "plain": f"{abs(value):f}",
    }[style]
    return f"-{body}" if value < 0 else body


STYLES = {"en": "en_US", "de": "de_DE", "fr": "fr_FR", "ch": "de_CH", "plain": "en_GB"}
DECORATIONS = [
    "{}",
    "{} EUR",
    "USD {}",
    "${}",
    "€ {}",
    "({})",
]


@given(amounts, st.sampled_from(sorted(STYLES)), st.sampled_from(DECORATIONS))
def test_with_locale_the_printed_value_comes_back_exactly(
    value: Decimal, style: str, decoration: str
) -> None:
    printed = _print(value, style)
    if decoration == "({})":
        printed, value = (f"({printed[1:]})", value) if value < 0 else (f"({printed})", -value)
    else:
        printed = decoration.format(printed)
    assert parse_amount(printed, STYLES[style]) == value


@given(amounts, st.sampled_from(sorted(STYLES)))
def test_without_locale_the_result_is_the_printed_value_or_an_error(value: Decimal, style: str) -> None:
    printed = _print(value, style)
    result: Decimal | None = None
    refusal = ""
    try:
        result = parse_amount(printed)
    except ValidationError as error:
        refusal = error.message
    if result is None:
        assert "ambiguous" in refusal
    else:
        assert result == value


@given(amounts, st.sampled_from(["en_US", "de_DE", "fr_FR", "de_CH", "en_IN", "pt_BR"]), st.booleans())
def test_format_amount_round_trips(value: Decimal, locale: str, grouping: bool) -> None:
    assert parse_amount(format_amount(value, locale, grouping=grouping), locale) == value


def test_a_long_integer_part_cannot_be_a_thousands_group() -> None:
    assert parse_amount("1234.500") == Decimal("1234.500")
    assert parse_amount("1 234,567") == Decimal("1234.567")
