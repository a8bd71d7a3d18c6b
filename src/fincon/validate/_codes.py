"""ISO code lists: currencies (ISO 4217) and countries (ISO 3166-1 alpha-2)."""

from __future__ import annotations

from fincon.errors import ValidationError
from fincon.models import CURRENCY_EXPONENTS
from fincon.validate._iso3166 import COUNTRY_CODES

__all__ = ["validate_country", "validate_currency"]


def validate_currency(value: str, *, field: str = "currency") -> str:
    """The ISO 4217 code upper-cased; unknown codes raise ``ValidationError``."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in CURRENCY_EXPONENTS:
        raise ValidationError(f"{field} {value!r} is not an ISO 4217 currency code", field=field)
    return code


def validate_country(value: str, *, field: str = "country") -> str:
    """The ISO 3166-1 alpha-2 code upper-cased (``"de"`` -> ``"DE"``); refuses unknown codes.

    ``UK`` is refused with a hint: the ISO code of the United Kingdom is ``GB``.
    """
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in COUNTRY_CODES:
        hint = " (the United Kingdom is 'GB')" if code == "UK" else ""
        raise ValidationError(
            f"{field} {value!r} is not an ISO 3166-1 alpha-2 country code{hint}", field=field
        )
    return code
