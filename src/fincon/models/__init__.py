"""Canonical finance records: the typed vocabulary every fincon connector maps into.

Amounts are exact ``Decimal`` values inside ``Money`` (a ``float`` is refused), datetimes
are timezone-aware, calendar dates are ``date``, and statuses are open enums (unknown
values are kept as strings). See ``docs/models.md``.
"""

from __future__ import annotations

from fincon.models._banking import Balance, BankAccount, BankTransaction, signed_amount
from fincon.models._documents import Bill, Invoice, LineItem, PurchaseOrder, Receipt, ReceiptLine
from fincon.models._enums import (
    AccountClassification,
    AccountType,
    AddressType,
    BalanceType,
    BankAccountType,
    BankTransactionStatus,
    Dimension,
    Direction,
    DocumentStatus,
    JournalEntryStatus,
    PartyStatus,
    PaymentMethod,
    PaymentOrderStatus,
    PaymentStatus,
    PurchaseOrderStatus,
)
from fincon.models._exact_decimal import ExactDecimal
from fincon.models._iso4217 import CURRENCY_EXPONENTS, WITHDRAWN_CURRENCIES
from fincon.models._ledger import Account, JournalEntry, JournalLine, journal_imbalances
from fincon.models._money import Currency, CurrencyMismatchError, Money
from fincon.models._open_enum import CanonicalEnum, OpenEnum
from fincon.models._parties import Customer, Vendor
from fincon.models._payment_terms import PaymentTerms
from fincon.models._payments import Allocation, BillPayment, Payment, PaymentOrder
from fincon.models._record import Record, Source
from fincon.models._registry import RESOURCE_ATTRIBUTES, RESOURCE_MODELS
from fincon.models._values import Address, BankDetails, Counterparty, Ref

__all__ = [
    "CURRENCY_EXPONENTS",
    "RESOURCE_ATTRIBUTES",
    "RESOURCE_MODELS",
    "WITHDRAWN_CURRENCIES",
    "Account",
    "AccountClassification",
    "AccountType",
    "Address",
    "AddressType",
    "Allocation",
    "Balance",
    "BalanceType",
    "BankAccount",
    "BankAccountType",
    "BankDetails",
    "BankTransaction",
    "BankTransactionStatus",
    "Bill",
    "BillPayment",
    "CanonicalEnum",
    "Counterparty",
    "Currency",
    "CurrencyMismatchError",
    "Customer",
    "Dimension",
    "Direction",
    "DocumentStatus",
    "ExactDecimal",
    "Invoice",
    "JournalEntry",
    "JournalEntryStatus",
    "JournalLine",
    "LineItem",
    "Money",
    "OpenEnum",
    "PartyStatus",
    "Payment",
    "PaymentMethod",
    "PaymentOrder",
    "PaymentOrderStatus",
    "PaymentStatus",
    "PaymentTerms",
    "PurchaseOrder",
    "PurchaseOrderStatus",
    "Receipt",
    "ReceiptLine",
    "Record",
    "Ref",
    "Source",
    "Vendor",
    "journal_imbalances",
    "signed_amount",
]
