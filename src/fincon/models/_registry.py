"""Resource names: which record class each name stands for, and the connector attribute for each."""

from __future__ import annotations

from typing import Final

from fincon.models._banking import Balance, BankAccount, BankTransaction
from fincon.models._documents import Bill, Invoice, PurchaseOrder, Receipt
from fincon.models._ledger import Account, JournalEntry
from fincon.models._parties import Customer, Vendor
from fincon.models._payments import BillPayment, Payment, PaymentOrder
from fincon.models._record import Record

__all__ = ["RESOURCE_ATTRIBUTES", "RESOURCE_MODELS"]

_RECORD_CLASSES: tuple[type[Record], ...] = (
    Vendor,
    Customer,
    Bill,
    Invoice,
    BillPayment,
    Payment,
    JournalEntry,
    Account,
    PurchaseOrder,
    Receipt,
    BankAccount,
    BankTransaction,
    Balance,
    PaymentOrder,
)

RESOURCE_MODELS: Final[dict[str, type[Record]]] = {cls.resource: cls for cls in _RECORD_CLASSES}
"""Resource name (``"bill"``) to record class (``Bill``)."""


def _plural(resource: str) -> str:
    return resource[:-1] + "ies" if resource.endswith("y") else resource + "s"


RESOURCE_ATTRIBUTES: Final[dict[str, str]] = {_plural(name): name for name in RESOURCE_MODELS}
"""Connector attribute name (``"bills"``, ``"journal_entries"``) to resource name (``"bill"``)."""
