"""Banking records: ``BankAccount``, ``BankTransaction`` and ``Balance``."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import AwareDatetime, model_validator
from typing_extensions import Self

from fincon.models._enums import BalanceType, BankAccountType, BankTransactionStatus, Direction
from fincon.models._money import Currency, Money
from fincon.models._open_enum import OpenEnum
from fincon.models._record import Record
from fincon.models._values import Counterparty, Ref

__all__ = ["Balance", "BankAccount", "BankTransaction", "signed_amount"]


class BankAccount(Record):
    """A bank account the company holds (or a connected account at a bank)."""

    resource: ClassVar[str] = "bank_account"

    name: str | None = None
    """Nickname or display name."""
    holder_name: str | None = None
    """The name on the account."""
    type: OpenEnum[BankAccountType] | None = None
    """Checking, savings, credit card, loan, or the bank's own type."""
    currency: Currency | None = None
    """Currency the account is held in."""
    iban: str | None = None
    """IBAN, where the account has one."""
    bic: str | None = None
    """The bank's BIC."""
    account_number: str | None = None
    """Domestic account number."""
    routing_number: str | None = None
    """US ABA routing number."""
    sort_code: str | None = None
    """UK sort code."""
    bank_name: str | None = None
    """The bank's name."""
    gl_account: Ref | None = None
    """The ledger account this bank account posts to."""
    active: bool | None = None
    """Whether the account is open."""


_ISO_20022_INDICATORS = {"CRDT": Direction.CREDIT, "DBIT": Direction.DEBIT}


def signed_amount(amount: Money, direction: Direction | str) -> Money:
    """Turn an unsigned bank amount plus a credit/debit indicator into fincon's signed amount.

    Banks often send a positive amount and a separate indicator (OBIE ``CreditDebitIndicator``
    ``"Credit"``/``"Debit"``, ISO 20022 ``CRDT``/``DBIT``); a debit becomes negative.
    """
    resolved = _ISO_20022_INDICATORS.get(direction.upper()) if isinstance(direction, str) else None
    resolved = resolved or Direction(direction)
    magnitude = abs(amount)
    return -magnitude if resolved is Direction.DEBIT else magnitude


class BankTransaction(Record):
    """A line on a bank statement: signed ``amount`` (credit positive, debit negative) plus ``direction``.

    When ``direction`` is omitted it is taken from the sign; when both are given they must agree.
    """

    resource: ClassVar[str] = "bank_transaction"

    account: Ref | None = None
    """The bank account the transaction is on."""
    amount: Money
    """Signed amount: positive into the account, negative out of it."""
    direction: OpenEnum[Direction] | None = None
    """``credit`` (money in) or ``debit`` (money out)."""
    status: OpenEnum[BankTransactionStatus] | None = None
    """``booked`` or ``pending``."""
    booking_date: dt.date | None = None
    """When the bank booked it."""
    value_date: dt.date | None = None
    """When the funds became (or become) available or stop earning interest."""
    counterparty: Counterparty | None = None
    """The other side."""
    reference: str | None = None
    """Remittance information or end-to-end reference."""
    description: str | None = None
    """The bank's own description."""
    fee: Money | None = None
    """Fee the bank charged on this transaction, when reported separately."""

    @model_validator(mode="after")
    def _sign_matches_direction(self) -> Self:
        sign = self.amount.amount
        if self.direction is None:
            if sign != 0:
                inferred = Direction.CREDIT if sign > 0 else Direction.DEBIT
                object.__setattr__(self, "direction", inferred)  # avoid re-validating on assignment
        elif (self.direction is Direction.CREDIT and sign < 0) or (
            self.direction is Direction.DEBIT and sign > 0
        ):
            raise ValueError(
                f"amount {self.amount} contradicts direction {self.direction}: amounts are signed "
                "(credits positive, debits negative); use fincon.models.signed_amount for unsigned "
                "bank amounts"
            )
        return self


class Balance(Record):
    """A balance of a bank account at a point in time."""

    resource: ClassVar[str] = "balance"

    account: Ref | None = None
    """The bank account."""
    amount: Money
    """Signed balance (negative when overdrawn)."""
    type: OpenEnum[BalanceType] | None = None
    """Which balance: closing booked, interim available, expected, ..."""
    date: dt.date | None = None
    """The day the balance refers to."""
    as_of: AwareDatetime | None = None
    """The moment the balance refers to, when the bank gives a time."""
    credit_limit_included: bool | None = None
    """Whether an overdraft or credit line is included in the amount."""
