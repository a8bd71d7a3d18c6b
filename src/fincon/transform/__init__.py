"""Helpers that finance migrations need daily: dates, amounts, minor units, payment terms, names, field maps.

Every function raises ``fincon.errors.ValidationError`` (naming the field and the reason)
on input it cannot convert exactly; nothing is guessed. See ``docs/transform.md``.
"""

from __future__ import annotations

from fincon.models import PaymentTerms
from fincon.transform._amounts import format_amount, parse_amount, parse_money
from fincon.transform._dates import (
    format_eu_date,
    format_iso_date,
    format_iso_datetime,
    format_sap_date,
    format_sap_datetime,
    format_unix_timestamp,
    format_us_date,
    parse_eu_date,
    parse_iso_date,
    parse_iso_datetime,
    parse_sap_date,
    parse_sap_datetime,
    parse_unix_timestamp,
    parse_us_date,
)
from fincon.transform._fieldmap import FieldError, FieldMap, FieldMapResult, FieldRule
from fincon.transform._minor_units import currency_exponent, from_minor_units, to_minor_units
from fincon.transform._names import NameMatch, match_names, name_similarity, normalize_vendor_name
from fincon.transform._paths import MISSING
from fincon.transform._terms import TEXT_TERMS_SYSTEMS, format_terms, parse_terms, terms_fields
from fincon.transform._transforms import BUILTIN_TRANSFORMS, Transform
from fincon.transform._truncate import truncate

__all__ = [
    "BUILTIN_TRANSFORMS",
    "MISSING",
    "TEXT_TERMS_SYSTEMS",
    "FieldError",
    "FieldMap",
    "FieldMapResult",
    "FieldRule",
    "NameMatch",
    "PaymentTerms",
    "Transform",
    "currency_exponent",
    "format_amount",
    "format_eu_date",
    "format_iso_date",
    "format_iso_datetime",
    "format_sap_date",
    "format_sap_datetime",
    "format_terms",
    "format_unix_timestamp",
    "format_us_date",
    "from_minor_units",
    "match_names",
    "name_similarity",
    "normalize_vendor_name",
    "parse_amount",
    "parse_eu_date",
    "parse_iso_date",
    "parse_iso_datetime",
    "parse_money",
    "parse_sap_date",
    "parse_sap_datetime",
    "parse_terms",
    "parse_unix_timestamp",
    "parse_us_date",
    "terms_fields",
    "to_minor_units",
    "truncate",
]
