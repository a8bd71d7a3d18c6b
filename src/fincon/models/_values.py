"""Value objects shared by records: ``Ref``, ``Address``, ``BankDetails``, ``Counterparty``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from fincon.models._enums import AddressType
from fincon.models._money import Currency
from fincon.models._open_enum import OpenEnum

__all__ = ["Address", "BankDetails", "Counterparty", "Ref"]


class Ref(BaseModel):
    """A link to another record: its id and, when known, its display name. ``Ref("V-100", "Acme")``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str | None = None
    """The linked record's id in the same system."""
    name: str | None = None
    """The linked record's display name (vendor name, account name)."""

    def __init__(self, id: str | None = None, name: str | None = None) -> None:
        super().__init__(id=id, name=name)

    # The positional constructor only forwards to pydantic's: mark it so nested validation stays in
    # pydantic-core instead of calling back into Python for every value (as RootModel does).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


class Address(BaseModel):
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code when the system gives one."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    type: OpenEnum[AddressType] | None = None
    """What the address is for (billing, shipping, remit-to, registered)."""
    line1: str | None = None
    """First street line."""
    line2: str | None = None
    """Second street line."""
    line3: str | None = None
    """Third street line."""
    city: str | None = None
    """City or town."""
    region: str | None = None
    """State, province or county."""
    postal_code: str | None = None
    """ZIP or postal code."""
    country: str | None = None
    """ISO 3166-1 alpha-2 code (checked by ``fincon.validate.validate_country``, not here)."""


class BankDetails(BaseModel):
    """Where to pay someone: IBAN/BIC, or a domestic account number with routing or sort code.

    Values are stored as given; ``fincon.validate`` checks them (IBAN, BIC, ABA, sort code).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    account_holder: str | None = None
    """The name on the account."""
    iban: str | None = None
    """International Bank Account Number."""
    bic: str | None = None
    """SWIFT/BIC code of the bank."""
    account_number: str | None = None
    """Domestic account number."""
    routing_number: str | None = None
    """US ABA routing transit number."""
    sort_code: str | None = None
    """UK sort code (six digits)."""
    bank_name: str | None = None
    """The bank's name."""
    country: str | None = None
    """ISO 3166-1 alpha-2 code of the bank's country."""
    currency: Currency | None = None
    """Currency the account is held in."""


class Counterparty(BaseModel):
    """The other side of a bank transaction or payment order."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    name: str | None = None
    """Name as the bank reports it (often truncated or upper-cased)."""
    iban: str | None = None
    """The counterparty's IBAN, when known."""
    account_number: str | None = None
    """The counterparty's domestic account number, when known."""
    bic: str | None = None
    """The counterparty's bank BIC, when known."""
