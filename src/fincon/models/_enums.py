"""The canonical statuses, types, classifications and directions of fincon records.

Each is used through ``OpenEnum[...]``, so values outside these lists are kept as strings.
"""

from __future__ import annotations

from fincon.models._open_enum import CanonicalEnum

__all__ = [
    "AccountClassification",
    "AccountType",
    "AddressType",
    "BalanceType",
    "BankAccountType",
    "BankTransactionStatus",
    "Dimension",
    "Direction",
    "DocumentStatus",
    "JournalEntryStatus",
    "PartyStatus",
    "PaymentMethod",
    "PaymentOrderStatus",
    "PaymentStatus",
    "PurchaseOrderStatus",
]


class PartyStatus(CanonicalEnum):
    """Whether a vendor or customer can be transacted with."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    BLOCKED = "blocked"


class DocumentStatus(CanonicalEnum):
    """Lifecycle of a bill or an invoice."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"


class PurchaseOrderStatus(CanonicalEnum):
    """Lifecycle of a purchase order."""

    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    OPEN = "open"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class PaymentStatus(CanonicalEnum):
    """Lifecycle of a received payment or a bill payment."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    VOID = "void"


class PaymentMethod(CanonicalEnum):
    """How money moved."""

    ACH = "ach"
    WIRE = "wire"
    CHECK = "check"
    CARD = "card"
    VIRTUAL_CARD = "virtual_card"
    SEPA_CREDIT_TRANSFER = "sepa_credit_transfer"
    SEPA_DIRECT_DEBIT = "sepa_direct_debit"
    BACS = "bacs"
    FASTER_PAYMENTS = "faster_payments"
    CASH = "cash"
    OTHER = "other"


class PaymentOrderStatus(CanonicalEnum):
    """Lifecycle of an outgoing payment instruction sent to a bank or a payment platform."""

    DRAFT = "draft"
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class JournalEntryStatus(CanonicalEnum):
    """Whether a journal entry has reached the ledger."""

    DRAFT = "draft"
    POSTED = "posted"
    REVERSED = "reversed"


class AccountClassification(CanonicalEnum):
    """The five classes of a general-ledger account."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


class AccountType(CanonicalEnum):
    """A general-ledger account's finer type, as most ERPs name it."""

    BANK = "bank"
    ACCOUNTS_RECEIVABLE = "accounts_receivable"
    OTHER_CURRENT_ASSET = "other_current_asset"
    FIXED_ASSET = "fixed_asset"
    OTHER_ASSET = "other_asset"
    ACCOUNTS_PAYABLE = "accounts_payable"
    CREDIT_CARD = "credit_card"
    OTHER_CURRENT_LIABILITY = "other_current_liability"
    LONG_TERM_LIABILITY = "long_term_liability"
    EQUITY = "equity"
    INCOME = "income"
    OTHER_INCOME = "other_income"
    COST_OF_GOODS_SOLD = "cost_of_goods_sold"
    EXPENSE = "expense"
    OTHER_EXPENSE = "other_expense"


class Direction(CanonicalEnum):
    """Money into the account (``credit``) or out of it (``debit``), from the account holder's view."""

    CREDIT = "credit"
    DEBIT = "debit"


class BankTransactionStatus(CanonicalEnum):
    """Whether the bank has booked the transaction or still shows it as pending."""

    BOOKED = "booked"
    PENDING = "pending"


class BankAccountType(CanonicalEnum):
    """The kind of a bank account."""

    CHECKING = "checking"
    SAVINGS = "savings"
    CREDIT_CARD = "credit_card"
    LOAN = "loan"
    OTHER = "other"


class BalanceType(CanonicalEnum):
    """Which balance a bank reports (ISO 20022 balance types, as Berlin Group and OBIE use them)."""

    OPENING_BOOKED = "opening_booked"
    CLOSING_BOOKED = "closing_booked"
    INTERIM_BOOKED = "interim_booked"
    INTERIM_AVAILABLE = "interim_available"
    CLOSING_AVAILABLE = "closing_available"
    FORWARD_AVAILABLE = "forward_available"
    EXPECTED = "expected"
    AVAILABLE = "available"


class AddressType(CanonicalEnum):
    """What an address is used for."""

    BILLING = "billing"
    SHIPPING = "shipping"
    REMIT_TO = "remit_to"
    REGISTERED = "registered"


class Dimension(CanonicalEnum):
    """Well-known keys of a line's ``dimensions`` mapping; systems' custom segments use their own keys."""

    DEPARTMENT = "department"
    CLASS = "class"
    LOCATION = "location"
    COST_CENTER = "cost_center"
    PROJECT = "project"
