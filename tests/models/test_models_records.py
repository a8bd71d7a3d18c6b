"""Canonical records: common fields, raw handling, open enums, round trips, document invariants."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pydantic
import pytest

from fincon.models import (
    RESOURCE_ATTRIBUTES,
    RESOURCE_MODELS,
    Account,
    AccountClassification,
    BankTransaction,
    Bill,
    BillPayment,
    Direction,
    DocumentStatus,
    Invoice,
    JournalEntry,
    LineItem,
    Money,
    PaymentTerms,
    PurchaseOrder,
    Record,
    Ref,
    Source,
    Vendor,
    signed_amount,
)

UTC = dt.timezone.utc


def _netsuite_like_bill() -> Bill:
    payload: dict[str, Any] = {
        "id": "4711",
        "tranId": "INV-2026-0042",
        "entity": {"id": "88", "refName": "Acme Corp"},
        "custbody_approval": "pending",
    }
    return Bill(
        id=payload["id"],
        source=Source(system="netsuite", resource="vendorBill", id="4711"),
        updated_at=dt.datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        number=payload["tranId"],
        vendor=Ref(payload["entity"]["id"], payload["entity"]["refName"]),
        issue_date=dt.date(2026, 1, 2),
        due_date=dt.date(2026, 2, 1),
        lines=[
            LineItem(
                description="Widgets",
                quantity=Decimal(100),
                unit_price=Money("12.5", "USD"),
                amount=Money("1250.00", "USD"),
                account=Ref("6000", "Supplies"),
                tax_code="CA-STD",
                dimensions={"department": "ops", "cost_center": "CC-7"},
            ),
            LineItem(description="Freight", amount=Money("25.00", "USD")),
        ],
        subtotal=Money("1275.00", "USD"),
        tax=Money("0.00", "USD"),
        total=Money("1275.00", "USD"),
        balance=Money("1275.00", "USD"),
        status="openBalance",
        payment_terms="2% 10 Net 30",
        raw=payload,
    )


def test_resource_registry_names_every_record_class() -> None:
    expected = {
        "vendors": "vendor",
        "customers": "customer",
        "bills": "bill",
        "invoices": "invoice",
        "bill_payments": "bill_payment",
        "payments": "payment",
        "journal_entries": "journal_entry",
        "accounts": "account",
        "purchase_orders": "purchase_order",
        "receipts": "receipt",
        "bank_accounts": "bank_account",
        "bank_transactions": "bank_transaction",
        "balances": "balance",
        "payment_orders": "payment_order",
    }
    assert expected == RESOURCE_ATTRIBUTES
    for resource, cls in RESOURCE_MODELS.items():
        assert issubclass(cls, Record)
        assert cls.resource == resource
        assert cls.__name__.lower() == resource.replace("_", "")


def test_round_trip_through_python_and_json_is_identity() -> None:
    bill = _netsuite_like_bill()
    assert Bill.model_validate(bill.dump(include_raw=True)) == bill
    assert Bill.model_validate_json(bill.model_dump_json(context={"include_raw": True})) == bill
    assert Bill.model_validate(bill.dump(include_raw=True, mode="json")) == bill


def test_json_amounts_are_strings_never_floats() -> None:
    dumped = json.loads(_netsuite_like_bill().model_dump_json(), parse_float=lambda text: pytest.fail(text))
    assert dumped["total"] == {"amount": "1275.00", "currency": "USD"}
    assert dumped["lines"][0]["quantity"] == "100"
    assert dumped["lines"][0]["unit_price"]["amount"] == "12.5"


def test_raw_is_left_out_unless_asked_for() -> None:
    bill = _netsuite_like_bill()
    assert "raw" not in bill.model_dump()
    assert "raw" not in json.loads(bill.model_dump_json())
    assert "raw" not in bill.dump()
    assert bill.model_dump(context={"include_raw": True})["raw"]["custbody_approval"] == "pending"
    assert bill.dump(include_raw=True, mode="json")["raw"]["tranId"] == "INV-2026-0042"


def test_unknown_fields_are_an_error() -> None:
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        Vendor(name="Acme", curency="USD")  # type: ignore[call-arg]


def test_naive_updated_at_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="timezone"):
        Vendor(name="Acme", updated_at=dt.datetime(2026, 1, 1, 12, 0))
    aware = Vendor(name="Acme", updated_at="2026-01-01T12:00:00+01:00")
    assert aware.updated_at is not None
    assert aware.updated_at.utcoffset() == dt.timedelta(hours=1)


def test_float_amount_inside_a_list_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"lines\.0\.quantity"):
        Bill(lines=[{"quantity": 1.5}])
    with pytest.raises(pydantic.ValidationError, match="float is not accepted"):
        Bill(lines=[{"amount": {"amount": 19.99, "currency": "USD"}}])


def test_open_enums_keep_unknown_values_and_forgive_spelling() -> None:
    assert Bill(status="paid").status is DocumentStatus.PAID
    assert Bill(status="PARTIALLY_PAID").status is DocumentStatus.PARTIALLY_PAID
    assert Bill(status="partiallyPaid").status is DocumentStatus.PARTIALLY_PAID
    odd = Bill(status="awaitingThirdApproval")
    assert odd.status == "awaitingThirdApproval"
    assert not isinstance(odd.status, DocumentStatus)
    assert Account(name="Cash", classification="Asset").classification is AccountClassification.ASSET
    assert Account(name="X", classification="memo").classification == "memo"


def test_payment_terms_text_is_parsed_or_kept_as_a_name() -> None:
    bill = _netsuite_like_bill()
    assert bill.payment_terms == PaymentTerms(
        net_days=30, discount_percent=Decimal(2), discount_days=10, name="2% 10 Net 30"
    )
    custom = Vendor(name="Acme", payment_terms="Special deal with Bob")
    assert custom.payment_terms is not None
    assert custom.payment_terms.name == "Special deal with Bob"
    assert custom.payment_terms.net_days is None


def test_document_currency_is_filled_and_mixed_currencies_refused() -> None:
    assert Bill(total=Money(10, "EUR")).currency == "EUR"
    with pytest.raises(pydantic.ValidationError, match=r"lines\.0\.amount is in EUR"):
        Bill(currency="USD", lines=[LineItem(amount=Money(1, "EUR"))], total=Money(1, "USD"))


def test_assignment_is_validated() -> None:
    bill = _netsuite_like_bill()
    with pytest.raises(pydantic.ValidationError):
        bill.total = Money(1, "EUR")
    with pytest.raises(pydantic.ValidationError):
        bill.number = 42  # type: ignore[assignment]


def test_journal_entry_must_balance_per_currency() -> None:
    lines = [
        {"account": {"id": "1000"}, "debit": {"amount": "100.00", "currency": "USD"}},
        {"account": {"id": "4000"}, "credit": {"amount": "100.00", "currency": "USD"}},
    ]
    assert len(JournalEntry(lines=lines).lines) == 2
    lines[1]["credit"] = {"amount": "99.99", "currency": "USD"}
    with pytest.raises(pydantic.ValidationError, match=r"not balanced: debits minus credits is 0\.01 USD"):
        JournalEntry(lines=lines)
    with pytest.raises(pydantic.ValidationError, match="needs a debit or a credit"):
        JournalEntry(lines=[{"account": {"id": "1000"}}])


def test_bank_transaction_sign_and_direction() -> None:
    incoming = BankTransaction(amount=Money("250.00", "EUR"))
    assert incoming.direction is Direction.CREDIT
    outgoing = BankTransaction(amount=Money("-80.00", "EUR"), direction="DEBIT")
    assert outgoing.direction is Direction.DEBIT
    with pytest.raises(pydantic.ValidationError, match="contradicts direction"):
        BankTransaction(amount=Money("80.00", "EUR"), direction="debit")


def test_signed_amount_normalises_bank_indicators() -> None:
    assert signed_amount(Money("80.00", "GBP"), "Debit") == Money("-80.00", "GBP")
    assert signed_amount(Money("80.00", "GBP"), "DBIT") == Money("-80.00", "GBP")
    assert signed_amount(Money("-80.00", "GBP"), "CRDT") == Money("80.00", "GBP")
    with pytest.raises(ValueError, match="sideways"):
        signed_amount(Money(1, "GBP"), "sideways")


def test_payment_allocations_cannot_exceed_or_change_currency() -> None:
    payment = BillPayment(
        amount=Money(100, "USD"),
        allocations=[{"document": {"id": "B1"}, "amount": {"amount": "60", "currency": "USD"}}],
    )
    assert payment.allocations[0].amount == Money(60, "USD")
    with pytest.raises(pydantic.ValidationError, match="more than the payment amount"):
        BillPayment(
            amount=Money(100, "USD"),
            allocations=[{"document": {"id": "B1"}, "amount": {"amount": "100.01", "currency": "USD"}}],
        )
    with pytest.raises(pydantic.ValidationError, match="is in EUR"):
        BillPayment(
            amount=Money(100, "USD"), allocations=[{"document": {"id": "B1"}, "amount": Money(1, "EUR")}]
        )


def test_payment_terms_dates_and_discount() -> None:
    terms = PaymentTerms(net_days=30, discount_percent=Decimal(2), discount_days=10)
    assert terms.due_date(dt.date(2026, 1, 31)) == dt.date(2026, 3, 2)
    assert terms.discount_date(dt.date(2026, 1, 31)) == dt.date(2026, 2, 10)
    assert terms.discount_amount(Money("1234.56", "USD")) == Money("24.69", "USD")
    eom = PaymentTerms(net_days=30, end_of_month=True)
    assert eom.due_date(dt.date(2024, 2, 10)) == dt.date(2024, 3, 30)
    assert eom.discount_date(dt.date(2024, 2, 10)) is None
    with pytest.raises(pydantic.ValidationError, match="together"):
        PaymentTerms(net_days=30, discount_percent=Decimal(2))
    with pytest.raises(pydantic.ValidationError, match="cannot be later"):
        PaymentTerms(net_days=10, discount_percent=Decimal(2), discount_days=15)


def test_document_currency_is_taken_from_its_amounts_or_mixing_is_refused() -> None:
    line_usd = LineItem(description="Widgets", amount=Money("10.00", "USD"))
    assert Bill(lines=[line_usd], total=Money("10.00", "USD")).currency == "USD"
    with pytest.raises(pydantic.ValidationError, match=r"total is in EUR but the document's currency is USD"):
        Bill(currency="USD", lines=[line_usd], total=Money("10.00", "EUR"))
    with pytest.raises(
        pydantic.ValidationError, match=r"lines\.1\.amount is in GBP but the document's currency is USD"
    ):
        Bill(lines=[line_usd, LineItem(amount=Money("5.00", "GBP"))])
    with pytest.raises(
        pydantic.ValidationError, match=r"lines\.0\.amount is in USD but the document's currency is JPY"
    ):
        Bill(currency="JPY", lines=[line_usd])
    assert Bill(currency="CHF").currency == "CHF"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        *((cls, field) for cls in (Bill, Invoice) for field in ("subtotal", "tax", "total", "balance")),
        *((PurchaseOrder, field) for field in ("subtotal", "tax", "total")),
    ],
)
def test_every_amount_of_a_document_is_held_to_its_currency(document: type[Any], field: str) -> None:
    eur = Money(Decimal("1.00"), "EUR")
    with pytest.raises(pydantic.ValidationError, match=rf"{field} is in EUR but the document's currency is"):
        document(currency="USD", **{field: eur})
    with pytest.raises(pydantic.ValidationError, match=r"lines\.1\.tax_amount is in EUR"):
        document(lines=[LineItem(amount=Money(Decimal("2"), "USD")), LineItem(tax_amount=eur)])
    assert document(lines=[LineItem(unit_price=eur)]).currency == "EUR"
