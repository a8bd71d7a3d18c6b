"""Validation helpers: bank identifiers, tax ids, ISO codes, amount precision, document rules, duplicates.

Validators return the value in normalised form and raise ``fincon.errors.ValidationError``
whose message names the field and the reason. Standard checksums come from python-stdnum.
See ``docs/validate.md``.
"""

from __future__ import annotations

from fincon.validate._bank import (
    validate_aba_routing_number,
    validate_bic,
    validate_iban,
    validate_uk_account_number,
    validate_uk_sort_code,
)
from fincon.validate._codes import validate_country, validate_currency
from fincon.validate._document_numbers import document_number_distance, normalize_document_number
from fincon.validate._document_rules import (
    RuleViolation,
    check_dates,
    check_document,
    check_journal_balanced,
    check_totals,
    validate_document,
)
from fincon.validate._duplicates import DuplicateCandidate, find_duplicate_invoices
from fincon.validate._iso3166 import COUNTRY_CODES
from fincon.validate._precision import validate_amount_precision
from fincon.validate._tax_ids import validate_ein, validate_tax_id, validate_vat

__all__ = [
    "COUNTRY_CODES",
    "DuplicateCandidate",
    "RuleViolation",
    "check_dates",
    "check_document",
    "check_journal_balanced",
    "check_totals",
    "document_number_distance",
    "find_duplicate_invoices",
    "normalize_document_number",
    "validate_aba_routing_number",
    "validate_amount_precision",
    "validate_bic",
    "validate_country",
    "validate_currency",
    "validate_document",
    "validate_ein",
    "validate_iban",
    "validate_tax_id",
    "validate_uk_account_number",
    "validate_uk_sort_code",
    "validate_vat",
]
