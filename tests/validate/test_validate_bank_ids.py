"""Bank identifiers against officially published examples, and altered copies of them."""

from __future__ import annotations

import pytest

from fincon.errors import ValidationError
from fincon.validate import (
    validate_aba_routing_number,
    validate_bic,
    validate_iban,
    validate_uk_account_number,
    validate_uk_sort_code,
)

# Example IBANs published in the SWIFT IBAN registry and by national banking associations.
VALID_IBANS = [
    "GB82 WEST 1234 5698 7654 32",
    "DE89 3704 0044 0532 0130 00",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00",
    "BE71 0961 2345 6769",
    "CH93 0076 2011 6238 5295 7",
    "ES91 2100 0418 4502 0005 1332",
    "IT60 X054 2811 1010 0000 0123 456",
    "NO93 8601 1117 947",
    "AT61 1904 3002 3457 3201",
    "PL61 1090 1014 0000 0712 1981 2874",
    "SE45 5000 0000 0583 9825 7466",
]
VALID_BICS = ["DEUTDEFF", "DEUTDEFF500", "NEDSZAJJXXX", "BNPAFRPP", "CHASUS33", "RBOSGB2L"]
# Federal Reserve Banks of Boston and San Francisco, JPMorgan Chase, Bank of America, Wells Fargo.
VALID_ROUTING_NUMBERS = ["011000015", "111000025", "021000021", "026009593", "121000248"]


def _alter_last_digit(value: str) -> str:
    compact = value.replace(" ", "")
    index = max(i for i, char in enumerate(compact) if char.isdigit())
    return compact[:index] + str((int(compact[index]) + 1) % 10) + compact[index + 1 :]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_published_ibans_are_valid_and_compacted(iban: str) -> None:
    assert validate_iban(iban) == iban.replace(" ", "")
    assert validate_iban(iban.lower()) == iban.replace(" ", "")


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_altered_ibans_are_refused_with_field_and_reason(iban: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_iban(_alter_last_digit(iban), field="bank_accounts.0.iban")
    assert caught.value.field == "bank_accounts.0.iban"
    assert "bank_accounts.0.iban" in caught.value.message
    assert "not a valid IBAN" in caught.value.message
    assert "check digits" in caught.value.message or "parts" in caught.value.message


def test_iban_with_good_check_digits_but_bad_structure_says_why() -> None:
    # Both have correct mod-97 check digits: only the structure is wrong.
    with pytest.raises(ValidationError, match="invalid format"):
        validate_iban("GB88WEST1234569876543")  # one digit short for a GB IBAN
    with pytest.raises(ValidationError, match="country, bank or prefix code"):
        validate_iban("XX57WEST12345698765432")  # no country XX


@pytest.mark.parametrize("bic", VALID_BICS)
def test_published_bics_are_valid(bic: str) -> None:
    assert validate_bic(bic.lower()) == bic


@pytest.mark.parametrize("bic", ["DEUTXXFF", "DEUT1EFF", "DEUTDEF", "DEUTDEFF5000"])
def test_malformed_bics_are_refused(bic: str) -> None:
    with pytest.raises(ValidationError, match="not a valid BIC") as caught:
        validate_bic(bic)
    assert caught.value.field == "bic"


@pytest.mark.parametrize("number", VALID_ROUTING_NUMBERS)
def test_routing_numbers(number: str) -> None:
    assert validate_aba_routing_number(number) == number
    with pytest.raises(ValidationError, match="check digits") as caught:
        validate_aba_routing_number(_alter_last_digit(number))
    assert caught.value.field == "routing_number"


def test_routing_number_with_transposed_digits_is_refused() -> None:
    with pytest.raises(ValidationError, match="ABA routing number"):
        validate_aba_routing_number("021000012")


def test_uk_sort_code_and_account_number() -> None:
    assert validate_uk_sort_code("20-00-00") == "200000"
    assert validate_uk_sort_code("20 00 00") == "200000"
    assert validate_uk_account_number("31926819") == "31926819"
    assert validate_uk_account_number("1234567") == "01234567"
    with pytest.raises(ValidationError, match="six digits") as caught:
        validate_uk_sort_code("20-00-0")
    assert caught.value.field == "sort_code"
    with pytest.raises(ValidationError, match="eight digits"):
        validate_uk_account_number("12345A78")


def test_empty_or_non_text_is_refused() -> None:
    with pytest.raises(ValidationError, match="non-empty string"):
        validate_iban("")
    with pytest.raises(ValidationError, match="non-empty string"):
        validate_bic(None)  # type: ignore[arg-type]
