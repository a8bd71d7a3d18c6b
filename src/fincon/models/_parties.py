"""``Vendor`` and ``Customer``: the parties bills and invoices are exchanged with."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from fincon.models._enums import PartyStatus
from fincon.models._money import Currency
from fincon.models._open_enum import OpenEnum
from fincon.models._payment_terms import PaymentTerms
from fincon.models._record import Record
from fincon.models._values import Address, BankDetails

__all__ = ["Customer", "Vendor"]


class _Party(Record):
    name: str
    """Display name."""
    legal_name: str | None = None
    """Registered legal name, when it differs from ``name``."""
    tax_id: str | None = None
    """VAT number, EIN or other tax identifier, as given."""
    email: str | None = None
    """Main e-mail address."""
    phone: str | None = None
    """Main phone number."""
    addresses: list[Address] = Field(default_factory=list)
    """Postal addresses."""
    bank_accounts: list[BankDetails] = Field(default_factory=list)
    """Bank accounts to pay to or collect from."""
    currency: Currency | None = None
    """Default transaction currency."""
    payment_terms: PaymentTerms | None = None
    """Default payment terms."""
    status: OpenEnum[PartyStatus] | None = None
    """Active, inactive, blocked, or the system's own status."""


class Vendor(_Party):
    """A supplier: who bills are from and bill payments go to."""

    resource: ClassVar[str] = "vendor"


class Customer(_Party):
    """A customer: who invoices go to and payments come from."""

    resource: ClassVar[str] = "customer"
