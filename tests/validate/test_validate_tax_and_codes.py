"""Tax ids (EU VAT, US EIN, other national numbers), ISO codes and amount precision."""

from __future__ import annotations

import pytest

from fincon.errors import ValidationError
from fincon.models import Money
from fincon.validate import (
    COUNTRY_CODES,
    validate_amount_precision,
    validate_country,
    validate_currency,
    validate_ein,
    validate_tax_id,
    validate_vat,
)


@pytest.mark.parametrize(
    ("vat", "compact"),
    [
        ("DE136695976", "DE136695976"),
        ("NL004495445B01", "NL004495445B01"),
        ("FR 40 303 265 045", "FR40303265045"),
        ("BE 0403.019.261", "BE0403019261"),
        ("ATU13585627", "ATU13585627"),
    ],
)
def test_eu_vat_numbers(vat: str, compact: str) -> None:
    assert validate_vat(vat) == compact


@pytest.mark.parametrize("vat", ["DE136695977", "NL004495446B01", "FR 41 303 265 045"])
def test_altered_vat_numbers_are_refused(vat: str) -> None:
    with pytest.raises(ValidationError, match="not a valid EU VAT number") as caught:
        validate_vat(vat, field="vendor.tax_id")
    assert caught.value.field == "vendor.tax_id"


def test_uk_vat_needs_its_country_since_brexit() -> None:
    assert validate_vat("GB 980 7806 84", country="GB") == "980780684"
    with pytest.raises(ValidationError, match="EU VAT"):
        validate_vat("GB 980 7806 84")
    with pytest.raises(ValidationError, match="GB VAT"):
        validate_vat("GB 980 7806 85", country="gb")


def test_us_ein() -> None:
    assert validate_ein("04-2103594") == "042103594"
    with pytest.raises(ValidationError, match="not a valid US EIN"):
        validate_ein("07-1234567")  # prefix 07 is not assigned by the IRS
    with pytest.raises(ValidationError, match="invalid format"):
        validate_ein("04-210359")


def test_other_national_numbers_through_stdnum() -> None:
    assert validate_tax_id("51 824 753 556", country="AU", kind="abn") == "51824753556"
    assert validate_tax_id("11.222.333/0001-81", country="br", kind="cnpj") == "11222333000181"
    with pytest.raises(ValidationError, match="no vat validator for country ZZ"):
        validate_tax_id("123", country="zz")
    with pytest.raises(ValidationError):
        validate_tax_id("123", country="../os", kind="vat")


def test_currency_codes() -> None:
    assert validate_currency(" usd ") == "USD"
    with pytest.raises(ValidationError, match="ISO 4217") as caught:
        validate_currency("US$", field="total.currency")
    assert caught.value.field == "total.currency"


def test_country_codes() -> None:
    assert len(COUNTRY_CODES) == 249
    assert validate_country("de") == "DE"
    with pytest.raises(ValidationError, match="'GB'"):
        validate_country("UK")
    with pytest.raises(ValidationError, match="ISO 3166"):
        validate_country("DEU")


def test_amount_precision_per_currency() -> None:
    assert validate_amount_precision(Money("12.340", "USD")) == Money("12.34", "USD")
    assert validate_amount_precision(Money("100", "JPY")) == Money(100, "JPY")
    assert validate_amount_precision(Money("1.234", "KWD")) == Money("1.234", "KWD")
    with pytest.raises(ValidationError, match=r"more decimals than USD allows \(2\)") as caught:
        validate_amount_precision(Money("12.345", "USD"), field="lines.0.amount")
    assert caught.value.field == "lines.0.amount"
    with pytest.raises(ValidationError, match="JPY"):
        validate_amount_precision(Money("100.5", "JPY"))
