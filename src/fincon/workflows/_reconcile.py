"""Bank reconciliation: propose which open invoices and bills each bank transaction settles."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from fincon.models import BankTransaction, Bill, Invoice, Money
from fincon.transform import name_similarity
from fincon.validate import document_number_distance, normalize_document_number

__all__ = ["ReconcileRules", "ReconciliationMatch", "ReconciliationResult", "reconcile"]

OpenItem = Invoice | Bill

_TOKEN_SPLIT = re.compile(r"[\s,;:]+")
_MAX_COMBINATIONS = 20_000  # bounds the search for one payment settling several items


@dataclass(frozen=True)
class ReconcileRules:
    """What ``reconcile`` may consider a match."""

    date_window_days: int = 7
    """Days between booking date and the item's due date (else issue date) for amount-only matches."""
    amount_tolerance: Decimal = Decimal(0)
    """Difference accepted as equal (rounding), in the transaction currency."""
    max_fee: Decimal = Decimal(0)
    """A shortfall up to this amount is accepted as a bank fee deducted from the payment."""
    name_threshold: float = 0.85
    """Minimum ``name_similarity`` between counterparty and customer/vendor names."""
    max_group_size: int = 4
    """Most items one transaction may settle when matched by amount (no reference)."""
    min_score: float = 0.5
    """Proposals scoring less are dropped."""


@dataclass(frozen=True)
class ReconciliationMatch:
    """A proposed match: one bank transaction settling one or more open items."""

    transaction: BankTransaction
    """The bank transaction."""
    items: tuple[OpenItem, ...]
    """The invoices (money in) or bills (money out) it settles."""
    score: float
    """Confidence from 0 to 1."""
    rule: str
    """Which rule matched: ``reference``, ``fuzzy_reference``, ``counterparty`` or ``amount_date``."""
    reasons: tuple[str, ...]
    """Why, in words."""
    difference: Money
    """Transaction amount minus the items' open amount (negative when short, e.g. a bank fee)."""


@dataclass(frozen=True)
class ReconciliationResult:
    """Proposed matches, best first, and what is left unmatched."""

    matches: tuple[ReconciliationMatch, ...]
    """Accepted proposals; no transaction or item appears twice."""
    unmatched_transactions: tuple[BankTransaction, ...]
    """Transactions without a proposal."""
    unmatched_items: tuple[OpenItem, ...]
    """Open items without a proposal."""


def _open_amount(item: OpenItem) -> Money | None:
    return item.balance if item.balance is not None else item.total


def _party_name(item: OpenItem) -> str | None:
    party = item.customer if isinstance(item, Invoice) else item.vendor
    return party.name if party is not None else None


def _reference_tokens(transaction: BankTransaction) -> set[str]:
    text = " ".join(part for part in (transaction.reference, transaction.description) if part)
    tokens = {token for token in _TOKEN_SPLIT.split(text) if token}
    tokens |= {piece for token in tokens if "/" in token for piece in token.split("/") if piece}
    return {normalize_document_number(token) for token in tokens if any(char.isdigit() for char in token)}


class _Proposer:
    """Finds proposals for one transaction among the open items on its side (invoices or bills)."""

    def __init__(
        self, transaction: BankTransaction, items: Sequence[OpenItem], rules: ReconcileRules
    ) -> None:
        self.transaction = transaction
        self.rules = rules
        self.received = abs(transaction.amount)
        self.items = [
            item for item in items if (a := _open_amount(item)) and a.currency == self.received.currency
        ]

    def _settles(self, items: Iterable[OpenItem]) -> tuple[Money, str | None] | None:
        """The difference and a fee remark when ``items`` add up to the transaction, else ``None``."""
        owed = sum(
            (abs(amount) for item in items if (amount := _open_amount(item))),
            Money.zero(self.received.currency),
        )
        difference = self.received - owed
        if abs(difference.amount) <= self.rules.amount_tolerance:
            return difference, None
        fee = self.transaction.fee
        gross = self.received + abs(fee) if fee is not None and fee.currency == owed.currency else None
        if gross is not None and abs((gross - owed).amount) <= self.rules.amount_tolerance:
            return difference, f"bank fee {abs(fee) if fee else ''} deducted"
        if difference.amount < 0 and -difference.amount <= self.rules.max_fee:
            return difference, f"short by {-difference} (bank fee within {self.rules.max_fee})"
        return None

    def _match(
        self, items: Sequence[OpenItem], score: float, rule: str, reason: str
    ) -> ReconciliationMatch | None:
        settled = self._settles(items)
        if settled is None:
            return None
        difference, fee_remark = settled
        reasons = (reason, fee_remark) if fee_remark else (reason,)
        penalty = 0.05 if fee_remark else 0.0
        return ReconciliationMatch(
            self.transaction, tuple(items), round(score - penalty, 4), rule, reasons, difference
        )

    def proposals(self) -> list[ReconciliationMatch]:
        found: list[ReconciliationMatch | None] = []
        tokens = _reference_tokens(self.transaction)
        referenced = [
            item for item in self.items if item.number and normalize_document_number(item.number) in tokens
        ]
        if referenced:
            numbers = ", ".join(str(item.number) for item in referenced)
            found.append(
                self._match(
                    referenced,
                    1.0 if len(referenced) == 1 else 0.95,
                    "reference",
                    f"reference names {numbers}",
                )
            )
        for item in self.items:
            near = [
                token
                for token in tokens
                if item.number and len(token) >= 4 and document_number_distance(token, item.number) == 1
            ]
            if near and item not in referenced:
                reason = f"reference {near[0]} is one typo or swap away from {item.number}"
                found.append(self._match([item], 0.8, "fuzzy_reference", reason))
        found.extend(self._by_counterparty())
        found.extend(self._by_amount_and_date())
        return [match for match in found if match is not None and match.score >= self.rules.min_score]

    def _by_counterparty(self) -> list[ReconciliationMatch | None]:
        counterparty = self.transaction.counterparty.name if self.transaction.counterparty else None
        if not counterparty:
            return []
        named = []
        for item in self.items:
            name = _party_name(item)
            if name and name_similarity(counterparty, name) >= self.rules.name_threshold:
                named.append(item)
        proposals: list[ReconciliationMatch | None] = [
            self._match(
                [item], 0.75, "counterparty", f"counterparty {counterparty!r} is {_party_name(item)!r}"
            )
            for item in named
        ]
        if any(proposals):
            return proposals
        tried = 0
        for size in range(2, min(self.rules.max_group_size, len(named)) + 1):
            for group in itertools.combinations(named, size):
                tried += 1
                if tried > _MAX_COMBINATIONS:
                    return proposals
                numbers = ", ".join(str(item.number) for item in group)
                reason = f"counterparty {counterparty!r} owes {numbers}, which add up to the amount"
                match = self._match(group, 0.7, "counterparty", reason)
                if match is not None:
                    return [match]  # the first (smallest) group that fits
        return proposals

    def _by_amount_and_date(self) -> list[ReconciliationMatch | None]:
        booked = self.transaction.booking_date or self.transaction.value_date
        if booked is None:
            return []
        window = dt.timedelta(days=self.rules.date_window_days)
        fitting = [
            item
            for item in self.items
            if (when := item.due_date or item.issue_date) is not None
            and abs(booked - when) <= window
            and self._settles([item]) is not None
        ]
        if len(fitting) != 1:
            return []  # several items of the same amount: do not guess which
        item = fitting[0]
        return [
            self._match(
                [item], 0.55, "amount_date", f"same amount, dated within {window.days} days of {item.number}"
            )
        ]


def reconcile(
    bank_transactions: Iterable[BankTransaction],
    open_items: Iterable[OpenItem],
    rules: ReconcileRules | None = None,
) -> ReconciliationResult:
    """Propose which open items each bank transaction settles, leaving the rest unmatched.

    Credits (money in) are matched against ``Invoice``s, debits against ``Bill``s, on their open
    amount (``balance``, else ``total``) in the same currency. Rules, from most to least
    confident: the reference names the document numbers (1.0; several documents 0.95); the
    reference is one typo or digit swap from a number (0.8); the counterparty name matches the
    customer/vendor and the amount fits one item (0.75) or a group of up to ``max_group_size``
    (0.7); a single item of that amount is due within ``date_window_days`` (0.55). A shortfall up
    to ``max_fee``, or the transaction's ``fee``, is accepted and lowers the score by 0.05.
    Proposals are then accepted best first, each transaction and item at most once.
    """
    rules = rules or ReconcileRules()
    transactions = list(bank_transactions)
    items = list(open_items)
    invoices = [item for item in items if isinstance(item, Invoice)]
    bills = [item for item in items if isinstance(item, Bill)]
    proposals: list[ReconciliationMatch] = []
    for transaction in transactions:
        side = invoices if transaction.amount.amount > 0 else bills if transaction.amount.amount < 0 else []
        proposals.extend(_Proposer(transaction, side, rules).proposals())
    proposals.sort(key=lambda match: -match.score)  # stable: earlier transactions win ties
    used_transactions: set[int] = set()
    used_items: set[int] = set()
    accepted: list[ReconciliationMatch] = []
    for proposal in proposals:
        item_ids = {id(item) for item in proposal.items}
        if id(proposal.transaction) in used_transactions or item_ids & used_items:
            continue
        accepted.append(proposal)
        used_transactions.add(id(proposal.transaction))
        used_items |= item_ids
    return ReconciliationResult(
        matches=tuple(accepted),
        unmatched_transactions=tuple(t for t in transactions if id(t) not in used_transactions),
        unmatched_items=tuple(item for item in items if id(item) not in used_items),
    )
