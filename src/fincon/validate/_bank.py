"""Bank identifiers: IBAN, BIC, US ABA routing numbers, UK sort codes and account numbers.

IBAN, BIC and ABA checks run in python-stdnum (``stdnum.iban``, ``stdnum.bic``, ``stdnum.us.rtn``).
"""

from __future__ import annotations

import re

from fincon.errors import ValidationError
from fincon.validate._stdnum import check_with_stdnum, stdnum_module

__all__ = [
    "validate_aba_routing_number",
    "validate_bic",
    "validate_iban",
    "validate_uk_account_number",
    "validate_uk_sort_code",
]

_SEPARATORS = re.compile(r"[\s\-]")


def validate_iban(value: str, *, field: str = "iban") -> str:
    """The IBAN in compact upper-case form, after checking country, length and mod-97 check digits."""
    return check_with_stdnum(stdnum_module("iban"), value, field=field, label="IBAN")


def validate_bic(value: str, *, field: str = "bic") -> str:
    """The BIC (SWIFT code, 8 or 11 characters) upper-cased, after checking its structure and country."""
    return check_with_stdnum(stdnum_module("bic"), value, field=field, label="BIC")


def validate_aba_routing_number(value: str, *, field: str = "routing_number") -> str:
    """The nine-digit US ABA routing transit number, after checking its 3-7-1 checksum."""
    return check_with_stdnum(stdnum_module("us.rtn"), value, field=field, label="ABA routing number")


def validate_uk_sort_code(value: str, *, field: str = "sort_code") -> str:
    """A UK sort code as six digits (``"20-00-00"`` -> ``"200000"``).

    Only the format is checked: sort codes carry no check digit.
    """
    digits = _SEPARATORS.sub("", value) if isinstance(value, str) else ""
    if len(digits) != 6 or not digits.isdigit():
        raise ValidationError(f"{field} {value!r} is not a UK sort code: it must be six digits", field=field)
    return digits


def validate_uk_account_number(value: str, *, field: str = "account_number") -> str:
    """A UK account number as eight digits; seven-digit numbers are padded with a leading zero.

    Modulus checking against the Pay.UK (VocaLink) tables is not performed: those tables
    are licensed and change several times a year.
    """
    digits = _SEPARATORS.sub("", value) if isinstance(value, str) else ""
    if not digits.isdigit() or len(digits) not in (7, 8):
        raise ValidationError(
            f"{field} {value!r} is not a UK account number: it must be eight digits", field=field
        )
    return digits.zfill(8)
