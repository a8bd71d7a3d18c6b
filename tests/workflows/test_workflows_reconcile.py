"""Bank reconciliation on realistic cases: references, fees, several invoices, transposed numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fincon.models import BankTransaction, Bill, Counterparty, Invoice, Money, Ref
from fincon.workflows import ReconcileRules, reconcile


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def _invoice(
    number: str, amount: str, customer: str = "Contoso GmbH", due: dt.date = dt.date(2026, 4, 30)
) -> Invoice:
    return Invoice(
        id=number,
        number=number,
        customer=Ref(None, customer),
        total=eur(amount),
        balance=eur(amount),
        due_date=due,
    )


def _credit(
    amount: str,
    reference: str | None = None,
    name: str | None = None,
    booked: dt.date = dt.date(2026, 5, 2),
    **extra: object,
) -> BankTransaction:
    return BankTransaction.model_validate(
        {
            "id": f"tx-{amount}-{reference}",
            "amount": eur(amount),
            "reference": reference,
            "counterparty": Counterparty(name=name) if name else None,
            "booking_date": booked,
            **extra,
        }
    )


def test_exact_reference_match() -> None:
    invoices = [_invoice("INV-1001", "1200.00"), _invoice("INV-1002", "800.00")]
    result = reconcile([_credit("1200.00", "Payment INV-1001 thank you")], invoices)
    [match] = result.matches
    assert match.items == (invoices[0],)
    assert match.score == 1.0
    assert match.rule == "reference"
    assert match.difference == eur("0.00")
    assert result.unmatched_items == (invoices[1],)
    assert result.unmatched_transactions == ()


def test_credit_paying_two_invoices_less_a_bank_fee() -> None:
    invoices = [
        _invoice("INV-1001", "1200.00"),
        _invoice("INV-1002", "800.00"),
        _invoice("INV-1003", "55.00"),
    ]
    credit = _credit("1985.00", "INV-1001 / INV-1002")
    result = reconcile([credit], invoices, rules=ReconcileRules(max_fee=Decimal("25.00")))
    [match] = result.matches
    assert {item.number for item in match.items} == {"INV-1001", "INV-1002"}
    assert match.difference == eur("-15.00")
    assert match.score == pytest.approx(0.9)
    assert any("short by 15.00 EUR" in reason for reason in match.reasons)
    assert result.unmatched_items == (invoices[2],)
    # Without a fee allowance the same credit is left for a person to look at.
    assert reconcile([credit], invoices).matches == ()


def test_fee_reported_by_the_bank_is_added_back() -> None:
    invoice = _invoice("INV-2001", "500.00")
    result = reconcile([_credit("492.50", "INV-2001", fee=eur("7.50"))], [invoice])
    [match] = result.matches
    assert match.items == (invoice,)
    assert "bank fee 7.50 EUR deducted" in match.reasons


def test_group_found_by_counterparty_name_without_reference() -> None:
    invoices = [
        _invoice("INV-3001", "300.00", "Fabrikam Ltd"),
        _invoice("INV-3002", "450.00", "Fabrikam Ltd"),
        _invoice("INV-3003", "125.00", "Fabrikam Ltd"),
        _invoice("INV-3004", "300.00", "Tailspin Toys"),
    ]
    credit = _credit("735.00", "remittance", name="FABRIKAM LIMITED")
    result = reconcile([credit], invoices, rules=ReconcileRules(max_fee=Decimal("20")))
    [match] = result.matches
    assert {item.number for item in match.items} == {"INV-3001", "INV-3002"}
    assert match.rule == "counterparty"
    assert match.difference == eur("-15.00")


def test_transposed_invoice_number_matches_with_a_lower_score() -> None:
    invoices = [_invoice("INV-10012", "640.00"), _invoice("INV-10090", "640.00")]
    result = reconcile([_credit("640.00", "INV-10021")], invoices)
    [match] = result.matches
    assert match.items == (invoices[0],)
    assert match.rule == "fuzzy_reference"
    assert match.score == pytest.approx(0.8)
    assert "one typo or swap away from INV-10012" in match.reasons[0]


def test_amount_and_date_window_only_when_unambiguous() -> None:
    due_soon = _invoice("INV-4001", "99.00", due=dt.date(2026, 5, 1))
    due_later = _invoice("INV-4002", "99.00", due=dt.date(2026, 7, 1))
    [match] = reconcile([_credit("99.00")], [due_soon, due_later]).matches
    assert match.items == (due_soon,)
    assert match.rule == "amount_date"
    twin = _invoice("INV-4003", "99.00", due=dt.date(2026, 5, 3))
    result = reconcile([_credit("99.00")], [due_soon, twin])
    assert result.matches == ()
    assert len(result.unmatched_items) == 2


def test_debits_match_bills_not_invoices_and_the_rest_stays_unmatched() -> None:
    bill = Bill(id="B1", number="B-77", vendor=Ref(None, "Northwind"), total=eur("250.00"))
    invoice = _invoice("B-77", "250.00")
    debit = BankTransaction(amount=eur("-250.00"), reference="B-77", booking_date=dt.date(2026, 5, 2))
    stray = _credit("13.37", "lunch")
    result = reconcile([debit, stray], [invoice, bill])
    [match] = result.matches
    assert match.transaction is debit
    assert match.items == (bill,)
    assert result.unmatched_transactions == (stray,)
    assert result.unmatched_items == (invoice,)


def test_an_item_is_never_used_twice() -> None:
    invoice = _invoice("INV-5001", "100.00")
    first, second = _credit("100.00", "INV-5001"), _credit("100.00", "INV 5001 again")
    result = reconcile([first, second], [invoice])
    assert len(result.matches) == 1
    assert len(result.unmatched_transactions) == 1
