"""The general ledger: ``Account``, ``JournalEntry`` and its ``JournalLine``s."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import Self

from fincon.models._enums import AccountClassification, AccountType, JournalEntryStatus
from fincon.models._money import Currency, Money
from fincon.models._open_enum import OpenEnum
from fincon.models._record import Record
from fincon.models._values import Ref

__all__ = ["Account", "JournalEntry", "JournalLine", "journal_imbalances"]


class Account(Record):
    """A general-ledger account."""

    resource: ClassVar[str] = "account"

    number: str | None = None
    """Account number in the chart of accounts."""
    name: str
    """Account name."""
    classification: OpenEnum[AccountClassification] | None = None
    """Asset, liability, equity, income or expense."""
    type: OpenEnum[AccountType] | None = None
    """Finer type (bank, accounts payable, cost of goods sold, ...)."""
    currency: Currency | None = None
    """Currency of a foreign-currency account; ``None`` for the base currency."""
    active: bool | None = None
    """Whether postings are allowed."""
    parent: Ref | None = None
    """The parent account in a hierarchy."""


class JournalLine(BaseModel):
    """One side of a journal entry: a debit or a credit to an account."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    account: Ref
    """The GL account."""
    debit: Money | None = None
    """Debit amount."""
    credit: Money | None = None
    """Credit amount."""
    description: str | None = None
    """Line memo."""
    dimensions: dict[str, str] = Field(default_factory=dict)
    """Department, class, location, cost centre, project and custom segments."""

    @model_validator(mode="after")
    def _has_a_side(self) -> Self:
        if self.debit is None and self.credit is None:
            raise ValueError("a journal line needs a debit or a credit")
        return self


def journal_imbalances(lines: list[JournalLine]) -> dict[str, Money]:
    """Debits minus credits per currency, for the currencies that do not balance (empty when balanced)."""
    net: dict[str, Money] = {}
    for line in lines:
        for money, sign in ((line.debit, 1), (line.credit, -1)):
            if money is not None:
                net[money.currency] = net.get(money.currency, Money.zero(money.currency)) + money * sign
    return {currency: difference for currency, difference in net.items() if difference.amount != 0}


class JournalEntry(Record):
    """A balanced journal entry: debits equal credits in every currency."""

    resource: ClassVar[str] = "journal_entry"

    date: dt.date | None = None
    """Posting date."""
    number: str | None = None
    """Entry number."""
    memo: str | None = None
    """Entry memo."""
    status: OpenEnum[JournalEntryStatus] | None = None
    """Draft, posted, reversed, or the system's own status."""
    lines: list[JournalLine] = Field(default_factory=list)
    """The debits and credits."""

    @model_validator(mode="after")
    def _balanced(self) -> Self:
        imbalances = journal_imbalances(self.lines)
        if imbalances:
            detail = ", ".join(f"{diff.amount} {currency}" for currency, diff in imbalances.items())
            raise ValueError(f"journal entry is not balanced: debits minus credits is {detail}")
        return self
