"""Document rules: totals that add up, due dates after issue dates, balanced journal entries.

``check_*`` functions return the rules a record breaks (an empty list when it is fine);
``validate_document`` raises one ``ValidationError`` listing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fincon.errors import ValidationError
from fincon.models import Bill, Invoice, JournalEntry, Money, PurchaseOrder, journal_imbalances

__all__ = [
    "RuleViolation",
    "check_dates",
    "check_document",
    "check_journal_balanced",
    "check_totals",
    "validate_document",
]

LinedDocument = Bill | Invoice | PurchaseOrder

DEFAULT_TOLERANCE = Decimal("0.01")


@dataclass(frozen=True)
class RuleViolation:
    """One broken document rule."""

    rule: str
    """Rule name: ``lines_total``, ``total``, ``line_amount``, ``due_date``, ``balance`` or ``balanced``."""
    field: str
    """The field that does not fit (dotted path)."""
    message: str
    """What is wrong, with the amounts involved."""


def _off_by(actual: Money, expected: Money, tolerance: Decimal) -> bool:
    return abs(actual.amount - expected.amount) > tolerance


def check_totals(document: LinedDocument, *, tolerance: Decimal = DEFAULT_TOLERANCE) -> list[RuleViolation]:
    """Lines add up to the subtotal, subtotal plus tax to the total, quantity times price to each line amount.

    Differences up to ``tolerance`` (in the document currency, default 0.01) are accepted, for
    systems that round per line. Checks that lack their inputs (no subtotal, no line amounts) are skipped.
    """
    violations: list[RuleViolation] = []
    for index, line in enumerate(document.lines):
        if line.quantity is not None and line.unit_price is not None and line.amount is not None:
            expected = line.unit_price * line.quantity
            if _off_by(line.amount, expected, tolerance):
                violations.append(
                    RuleViolation(
                        "line_amount",
                        f"lines.{index}.amount",
                        f"line {index}: {line.quantity} x {line.unit_price} = {expected.amount}, "
                        f"but the amount is {line.amount}",
                    )
                )
    present = [line.amount for line in document.lines if line.amount is not None]
    # Only a complete set of line amounts can be compared with the header.
    complete = bool(present) and len(present) == len(document.lines)
    lines_sum = sum(present[1:], present[0]) if complete else None
    if (
        lines_sum is not None
        and document.subtotal is not None
        and _off_by(document.subtotal, lines_sum, tolerance)
    ):
        violations.append(
            RuleViolation(
                "lines_total",
                "subtotal",
                f"lines add up to {lines_sum} but the subtotal is {document.subtotal}",
            )
        )
    net = document.subtotal if document.subtotal is not None else lines_sum
    if document.total is not None and net is not None:
        tax = document.tax if document.tax is not None else Money.zero(document.total.currency)
        expected_total = net + tax
        if _off_by(document.total, expected_total, tolerance):
            violations.append(
                RuleViolation(
                    "total",
                    "total",
                    f"net {net} plus tax {tax} is {expected_total} but the total is {document.total}",
                )
            )
    balance = getattr(document, "balance", None)
    if balance is not None and document.total is not None and abs(balance) > abs(document.total):
        violations.append(
            RuleViolation(
                "balance", "balance", f"balance {balance} is larger than the total {document.total}"
            )
        )
    return violations


def check_dates(document: LinedDocument) -> list[RuleViolation]:
    """The due date (bills and invoices) is not before the issue date."""
    due_date = getattr(document, "due_date", None)
    if due_date is not None and document.issue_date is not None and due_date < document.issue_date:
        return [
            RuleViolation(
                "due_date", "due_date", f"due date {due_date} is before the issue date {document.issue_date}"
            )
        ]
    return []


def check_journal_balanced(entry: JournalEntry) -> list[RuleViolation]:
    """Debits equal credits in every currency."""
    return [
        RuleViolation(
            "balanced", "lines", f"debits exceed credits by {difference} (negative: credits exceed)"
        )
        for difference in journal_imbalances(entry.lines).values()
    ]


def check_document(
    document: LinedDocument | JournalEntry, *, tolerance: Decimal = DEFAULT_TOLERANCE
) -> list[RuleViolation]:
    """Every rule that applies to ``document``'s type."""
    if isinstance(document, JournalEntry):
        return check_journal_balanced(document)
    return check_totals(document, tolerance=tolerance) + check_dates(document)


def validate_document(
    document: LinedDocument | JournalEntry, *, tolerance: Decimal = DEFAULT_TOLERANCE
) -> None:
    """Raise ``ValidationError`` listing every broken rule (``field`` is the first one's field)."""
    violations = check_document(document, tolerance=tolerance)
    if violations:
        raise ValidationError(
            f"{type(document).__name__} {getattr(document, 'number', None) or ''}".rstrip()
            + " breaks document rules: "
            + "; ".join(violation.message for violation in violations),
            field=violations[0].field,
        )
