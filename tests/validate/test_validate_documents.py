"""Document rules and duplicate-invoice detection."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fincon.errors import ValidationError
from fincon.models import Bill, Invoice, JournalEntry, JournalLine, LineItem, Money, Ref
from fincon.validate import (
    check_document,
    check_journal_balanced,
    find_duplicate_invoices,
    normalize_document_number,
    validate_document,
)


def usd(amount: str) -> Money:
    return Money(amount, "USD")


def _bill(**changes: object) -> Bill:
    data: dict[str, object] = {
        "number": "INV-001",
        "vendor": Ref("V1", "Acme Corp"),
        "issue_date": dt.date(2026, 1, 10),
        "due_date": dt.date(2026, 2, 9),
        "lines": [
            LineItem(quantity=Decimal(3), unit_price=usd("33.333"), amount=usd("100.00")),
            LineItem(quantity=Decimal(1), unit_price=usd("50.00"), amount=usd("50.00")),
        ],
        "subtotal": usd("150.00"),
        "tax": usd("12.00"),
        "total": usd("162.00"),
    }
    data.update(changes)
    return Bill.model_validate(data)


def test_a_consistent_bill_breaks_no_rule() -> None:
    assert check_document(_bill()) == []
    validate_document(_bill())


def test_totals_that_do_not_add_up_are_reported() -> None:
    violations = check_document(_bill(total=usd("162.50"), subtotal=usd("149.00")))
    assert {v.rule for v in violations} == {"lines_total", "total"}
    with pytest.raises(ValidationError, match="breaks document rules") as caught:
        validate_document(_bill(total=usd("170.00")))
    assert caught.value.field == "total"
    assert "162.00" in caught.value.message


def test_tolerance_accepts_per_line_rounding() -> None:
    assert check_document(_bill(total=usd("162.01"))) == []
    assert [v.rule for v in check_document(_bill(total=usd("162.01")), tolerance=Decimal(0))] == [
        "line_amount",  # 3 x 33.333 is 99.999, not 100.00
        "total",
    ]


def test_line_amount_must_be_quantity_times_price() -> None:
    bill = _bill(
        lines=[LineItem(quantity=Decimal(2), unit_price=usd("10.00"), amount=usd("25.00"))],
        subtotal=usd("25.00"),
        tax=None,
        total=usd("25.00"),
    )
    [violation] = check_document(bill)
    assert violation.rule == "line_amount"
    assert violation.field == "lines.0.amount"


def test_due_date_before_issue_date_and_balance_over_total() -> None:
    violations = check_document(_bill(due_date=dt.date(2026, 1, 1), balance=usd("200.00")))
    assert {v.rule for v in violations} == {"due_date", "balance"}
    due = next(v for v in violations if v.rule == "due_date")
    assert "2026-01-01 is before the issue date 2026-01-10" in due.message


def test_journal_balance_rule_on_an_unvalidated_entry() -> None:
    # model_construct skips the model's own balance check, as data loaded without validation would.
    entry = JournalEntry.model_construct(lines=[JournalLine(account=Ref("1000"), debit=usd("10.00"))])
    [violation] = check_journal_balanced(entry)
    assert violation.rule == "balanced"
    assert "10.00" in violation.message


def test_document_numbers_normalise_punctuation_and_leading_zeros() -> None:
    assert normalize_document_number("INV-00012") == normalize_document_number("inv 12") == "INV12"
    assert normalize_document_number("2024/0007") == "20247"


def test_duplicates_are_found_and_scored() -> None:
    original = _bill(id="1")
    retyped = _bill(
        id="2", number="inv 0001", vendor=Ref(None, "ACME Corporation"), issue_date=dt.date(2026, 1, 12)
    )
    transposed = _bill(id="3", number="INV-010", issue_date=dt.date(2026, 1, 11))
    other_vendor = _bill(
        id="4",
        number="77",
        vendor=Ref("V9", "Zenith"),
        total=usd("999.00"),
        subtotal=None,
        tax=None,
        lines=[],
    )
    candidates = find_duplicate_invoices([original, retyped, transposed, other_vendor])
    pairs = {(c.first.id, c.second.id): c for c in candidates}
    assert pairs[("1", "2")].score == 1.0
    assert "same vendor" in pairs[("1", "2")].reasons
    assert pairs[("1", "3")].score == pytest.approx(0.85)
    assert any("typo or swap" in reason for reason in pairs[("1", "3")].reasons)
    assert all("4" not in pair for pair in pairs)
    assert candidates[0].score >= candidates[-1].score


def test_amount_tolerance_and_customer_invoices() -> None:
    a = Invoice(id="a", number="A1", customer=Ref("C1"), total=usd("100.00"), issue_date=dt.date(2026, 3, 1))
    b = Invoice(id="b", number="B7", customer=Ref("C1"), total=usd("100.02"), issue_date=dt.date(2026, 3, 2))
    assert find_duplicate_invoices([a, b]) == []
    [candidate] = find_duplicate_invoices([a, b], amount_tolerance=Decimal("0.05"))
    assert candidate.score == pytest.approx(0.6)
    assert "same customer" in candidate.reasons
