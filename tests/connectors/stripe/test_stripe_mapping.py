"""Mapping Stripe objects to canonical records, on Stripe's own example objects."""

from __future__ import annotations

import copy
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stripe_testkit import fixtures

import fincon
from fincon.connectors.stripe._amounts import date_of, minor_to_decimal, stripe_exponent, to_minor
from fincon.connectors.stripe.mapping import MAPPERS, PayoutMapper, balance_entries
from fincon.models import Customer, Direction, Invoice, Money


def _invoice_in(currency: str, amount: int) -> dict[str, Any]:
    invoice = copy.deepcopy(fixtures()["invoice"])
    invoice["currency"] = currency
    for key in (
        "amount_due",
        "amount_remaining",
        "subtotal",
        "subtotal_excluding_tax",
        "total",
        "total_excluding_tax",
    ):
        invoice[key] = amount
    line = invoice["lines"]["data"][0]
    line.update(
        currency=currency, amount=amount, amount_excluding_tax=amount, unit_amount_excluding_tax=str(amount)
    )
    line["price"].update(currency=currency, unit_amount=amount, unit_amount_decimal=str(amount))
    return invoice


@pytest.mark.parametrize(
    ("currency", "minor", "expected"),
    [("usd", 123456, "1234.56"), ("jpy", 123456, "123456"), ("kwd", 123450, "123.450"), ("bhd", 5, "0.005")],
)
def test_invoice_amounts_are_exact_in_each_currency(currency: str, minor: int, expected: str) -> None:
    invoice = fincon.to_record("stripe", "invoice", _invoice_in(currency, minor))
    money = Money(Decimal(expected), currency.upper())
    assert invoice.total == money
    assert str(invoice.total.amount) == expected
    assert invoice.balance == money
    assert invoice.subtotal == money
    assert invoice.lines[0].amount == money
    assert invoice.lines[0].unit_price == money


def test_fixture_invoice_maps_every_canonical_field() -> None:
    payload = fixtures()["invoice"]
    invoice = fincon.to_record("stripe", "invoice", payload)
    assert isinstance(invoice, Invoice)
    assert invoice.id == payload["id"]
    assert invoice.customer is not None
    assert invoice.customer.id == "cus_Oaxlz8kB0PJWGa"
    assert invoice.total == Money(Decimal("10.00"), "USD")
    assert invoice.status == "draft"
    assert invoice.due_date == date(2009, 2, 13)  # 1234567890 is 2009-02-13T23:31:30Z
    assert invoice.lines[0].quantity == Decimal(1)
    assert invoice.raw["webhooks_delivered_at"] == 1234567890  # unknown fields survive in raw


def test_fixture_customer_maps_and_unknown_fields_survive_in_raw() -> None:
    payload = fixtures()["customer"]
    customer = fincon.to_record("stripe", "customer", payload)
    assert isinstance(customer, Customer)
    assert customer.id == payload["id"]
    assert customer.currency == "USD"
    assert customer.name == payload["id"]  # Stripe's example has no name or e-mail
    assert customer.raw["invoice_prefix"] == "F79089B"


def test_a_newer_object_with_unknown_enums_and_extra_fields_still_maps() -> None:
    invoice = _invoice_in("usd", 1000)
    invoice.update(status="in_dispute_review", brand_new_field={"x": 1}, amount_overpaid=0)
    invoice["lines"]["data"][0]["type"] = "some_future_type"
    record = fincon.to_record("stripe", "invoice", invoice)
    assert record.status == "in_dispute_review"  # open enum: kept as a string
    assert record.raw["brand_new_field"] == {"x": 1}
    intent = dict(fixtures()["payment_intent"], status="requires_magic", payment_method_types=["pix_future"])
    payment = fincon.to_record("stripe", "payment", intent)
    assert payment.status == "requires_magic"
    assert payment.method == "pix_future"


def test_payment_reflects_refunds_from_the_expanded_charge() -> None:
    charge = dict(fixtures()["charge"], amount=5000, amount_refunded=1500)
    intent = dict(
        fixtures()["payment_intent"],
        status="succeeded",
        amount=5000,
        amount_received=5000,
        currency="jpy",
        latest_charge=charge,
    )
    payment = fincon.to_record("stripe", "payment", intent)
    assert payment.amount == Money(Decimal("3500"), "JPY")
    assert payment.status == "completed"
    assert payment.reference == charge["id"]
    refunded = fincon.to_record(
        "stripe", "payment", dict(intent, latest_charge=dict(charge, amount_refunded=5000))
    )
    assert refunded.status == "refunded"
    assert refunded.amount == Money(Decimal("0"), "JPY")


def test_balance_transaction_is_signed_with_fee_and_direction() -> None:
    txn = dict(fixtures()["balance_transaction"], amount=-2599, fee=0, net=-2599, type="refund")
    record = fincon.to_record("stripe", "bank_transaction", txn)
    assert record.amount == Money(Decimal("-25.99"), "USD")
    assert record.direction is Direction.DEBIT
    charge = dict(fixtures()["balance_transaction"], amount=10000, fee=320, net=9680, currency="kwd")
    record = fincon.to_record("stripe", "bank_transaction", charge)
    assert record.amount == Money(Decimal("10.000"), "KWD")
    assert record.fee == Money(Decimal("0.320"), "KWD")
    assert record.direction is Direction.CREDIT
    assert record.status == "booked"
    assert record.updated_at == datetime(2009, 2, 13, 23, 31, 30, tzinfo=timezone.utc)


def test_payout_is_a_debit_of_the_stripe_balance() -> None:
    record = PayoutMapper().to_record(fixtures()["payout"])
    assert record.amount == Money(Decimal("-11.00"), "USD")
    assert record.direction is Direction.DEBIT
    assert record.status == "pending"  # in_transit


def test_balance_entries_become_one_record_each() -> None:
    entries = balance_entries(fixtures()["balance"])
    records = [MAPPERS["balance"].to_record(entry) for entry in entries]
    assert {record.id for record in records} >= {"available_usd", "pending_usd"}


@pytest.mark.parametrize("resource", ["customer", "invoice", "payment", "bank_transaction", "balance"])
def test_canonical_to_payload_to_canonical_is_the_identity(resource: str) -> None:
    samples = {
        "customer": fixtures()["customer"]
        | {
            "name": "Acme",
            "email": "ap@acme.example",
            "address": {
                "city": "Austin",
                "country": "US",
                "line1": "1 Main St",
                "line2": None,
                "postal_code": "78701",
                "state": "TX",
            },
            "metadata": {"external_id": "crm-9"},
        },
        "invoice": _invoice_in("kwd", 12340),
        "payment": fixtures()["payment_intent"] | {"status": "succeeded", "amount_received": 1099},
        "bank_transaction": fixtures()["balance_transaction"],
        "balance": balance_entries(fixtures()["balance"])[0],
    }
    record = fincon.to_record("stripe", resource, samples[resource])
    again = fincon.to_record("stripe", resource, fincon.to_payload("stripe", resource, record))
    assert again.model_dump(exclude={"raw"}) == record.model_dump(exclude={"raw"})


def test_stripe_currency_quirks_and_refusals() -> None:
    assert (stripe_exponent("JPY"), stripe_exponent("usd"), stripe_exponent("KWD")) == (0, 2, 3)
    assert stripe_exponent("ISK") == 2  # Stripe keeps ISK two-decimal in the API
    assert minor_to_decimal(500, "isk") == Decimal("5.00")
    with pytest.raises(ValueError, match="more decimals"):
        to_minor(Decimal("10.001"), "USD")
    with pytest.raises(ValueError):
        minor_to_decimal(Decimal("10.5"), "usd")  # a fractional minor unit is not a Stripe amount
    with pytest.raises(ValueError):
        minor_to_decimal(True, "usd")


@given(st.integers(min_value=-62_135_596_800, max_value=253_402_300_799))
def test_date_of_is_the_utc_date_of_any_timestamp(timestamp: int) -> None:
    assert date_of(timestamp) == datetime.fromtimestamp(timestamp, tz=timezone.utc).date()
    assert date_of(Decimal(timestamp)) == date_of(timestamp)
