"""Money that moved or is to move: ``Payment``, ``BillPayment`` and ``PaymentOrder``."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import Self

from fincon.models._enums import PaymentMethod, PaymentOrderStatus, PaymentStatus
from fincon.models._money import Money
from fincon.models._open_enum import OpenEnum
from fincon.models._record import Record
from fincon.models._values import BankDetails, Ref

__all__ = ["Allocation", "BillPayment", "Payment", "PaymentOrder"]


class Allocation(BaseModel):
    """The part of a payment applied to one document."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    document: Ref
    """The invoice, bill or credit note settled."""
    document_type: str | None = None
    """Resource name of the document (``"invoice"``, ``"bill"``), when the system says."""
    amount: Money
    """Amount applied to the document."""


class _Settlement(Record):
    date: dt.date | None = None
    """Payment date."""
    amount: Money
    """Amount paid."""
    method: OpenEnum[PaymentMethod] | None = None
    """ACH, wire, check, card, SEPA, ..., or the system's own method."""
    reference: str | None = None
    """Check number, bank reference or remittance text."""
    bank_account: Ref | None = None
    """The company bank account the money moved through."""
    status: OpenEnum[PaymentStatus] | None = None
    """Pending, completed, failed, void, or the system's own status."""
    allocations: list[Allocation] = Field(default_factory=list)
    """How the amount is applied to documents."""

    @model_validator(mode="after")
    def _allocations_fit(self) -> Self:
        for index, allocation in enumerate(self.allocations):
            if allocation.amount.currency != self.amount.currency:
                raise ValueError(
                    f"allocations.{index}.amount is in {allocation.amount.currency} "
                    f"but the payment is in {self.amount.currency}"
                )
        allocated = sum(
            (allocation.amount for allocation in self.allocations), Money.zero(self.amount.currency)
        )
        if abs(allocated) > abs(self.amount):
            raise ValueError(f"allocations total {allocated}, more than the payment amount {self.amount}")
        return self


class Payment(_Settlement):
    """A payment received from a customer."""

    resource: ClassVar[str] = "payment"

    customer: Ref | None = None
    """Who paid."""


class BillPayment(_Settlement):
    """A payment made to a vendor against bills."""

    resource: ClassVar[str] = "bill_payment"

    vendor: Ref | None = None
    """Who was paid."""


class PaymentOrder(Record):
    """An instruction to a bank or payment platform to pay someone (credit transfer, payout)."""

    resource: ClassVar[str] = "payment_order"

    amount: Money
    """Amount to pay (positive)."""
    debtor_account: Ref | None = None
    """The company bank account to pay from."""
    creditor: BankDetails | None = None
    """Who to pay and where (``account_holder``, IBAN/BIC or domestic details)."""
    requested_date: dt.date | None = None
    """Requested execution date."""
    reference: str | None = None
    """Remittance information the creditor will see."""
    end_to_end_id: str | None = None
    """ISO 20022 end-to-end id, carried through the payment chain."""
    method: OpenEnum[PaymentMethod] | None = None
    """Payment scheme (SEPA credit transfer, ACH, wire, ...)."""
    status: OpenEnum[PaymentOrderStatus] | None = None
    """Draft, pending, accepted, rejected, completed, cancelled, failed, or the system's own status."""
