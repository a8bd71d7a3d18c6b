"""Tax identifiers: EU VAT numbers, US EINs, and any national number python-stdnum knows.

Checks run in python-stdnum (``stdnum.eu.vat``, ``stdnum.us.ein`` and ``stdnum.<country>.<kind>``).
"""

from __future__ import annotations

from fincon.errors import ValidationError
from fincon.validate._stdnum import check_with_stdnum, stdnum_module

__all__ = ["validate_ein", "validate_tax_id", "validate_vat"]


def validate_vat(value: str, *, country: str | None = None, field: str = "tax_id") -> str:
    """A VAT number in compact form.

    Without ``country`` the number must start with its EU country prefix (``DE136695976``,
    ``EL...`` for Greece). With ``country`` the national VAT rules apply (also outside the EU:
    ``gb``, ``ch``, ``no``, ...), and the prefix may be omitted.
    """
    if country is None:
        return check_with_stdnum(stdnum_module("eu.vat"), value, field=field, label="EU VAT number")
    return validate_tax_id(value, country=country, kind="vat", field=field)


def validate_ein(value: str, *, field: str = "tax_id") -> str:
    """A US Employer Identification Number as nine digits, after checking its prefix is assigned."""
    return check_with_stdnum(stdnum_module("us.ein"), value, field=field, label="US EIN")


def validate_tax_id(value: str, *, country: str, kind: str = "vat", field: str = "tax_id") -> str:
    """Any tax number python-stdnum implements, as ``stdnum.<country>.<kind>``.

    Examples: ``(value, country="us", kind="ein")``, ``("br", "cnpj")``, ``("in", "gstin")``,
    ``("au", "abn")``, ``("gb", "vat")``, ``("mx", "rfc")``. An unknown pair raises
    ``ValidationError`` naming it.
    """
    code, name = country.strip().lower(), kind.strip().lower()
    if not (code.isalpha() and name.replace("_", "").isalnum()):
        raise ValidationError(f"invalid country {country!r} or kind {kind!r}", field=field)
    module_name = f"{'in_' if code == 'in' else 'is_' if code == 'is' else code}.{name}"
    try:
        module = stdnum_module(module_name)
    except ImportError:
        raise ValidationError(f"no {kind} validator for country {country.upper()}", field=field) from None
    if not hasattr(module, "validate"):
        raise ValidationError(f"no {kind} validator for country {country.upper()}", field=field)
    return check_with_stdnum(module, value, field=field, label=f"{country.upper()} {kind.upper()}")
