"""SAP mapping: round trips for every resource, exact decimals, /Date()/ with and without offset."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import fincon
from fincon.connectors.sap.mapping import MAPPERS, split_bill_id
from fincon.models import (
    Account,
    Address,
    BankDetails,
    Bill,
    Customer,
    JournalEntry,
    JournalLine,
    LineItem,
    Money,
    PurchaseOrder,
    Ref,
    Vendor,
)

UTC = timezone.utc


def _same(first: object, second: object, fields: tuple[str, ...]) -> None:
    for name in fields:
        assert getattr(first, name) == getattr(second, name), name


def _wire(payload: dict) -> dict:
    """What the payload looks like coming back from SAP: the key fields the server adds."""
    return payload


def test_vendor_round_trips_through_a_business_partner_payload() -> None:
    vendor = Vendor(
        id="17300001",
        external_id="crm-9",
        name="Acme Supplies GmbH",
        legal_name="Acme Supplies Gesellschaft mit beschränkter Haftung",
        tax_id="DE123456789",
        addresses=[Address(line1="12 Hauptstrasse", city="Berlin", postal_code="10115", country="DE")],
        bank_accounts=[
            BankDetails(
                iban="DE89370400440532013000", bic="COBADEFFXXX", country="DE", bank_name="Commerzbank"
            )
        ],
        status="active",
        updated_at=datetime(2025, 3, 1, 14, 5, 9, tzinfo=UTC),
    )
    payload = fincon.to_payload("sap", "vendor", vendor)
    payload["BusinessPartner"] = vendor.id
    payload["Supplier"] = vendor.id
    back = fincon.to_record("sap", "vendor", payload)
    _same(
        back,
        vendor,
        (
            "id",
            "external_id",
            "name",
            "legal_name",
            "tax_id",
            "addresses",
            "bank_accounts",
            "status",
            "updated_at",
        ),
    )
    assert back.raw["to_BusinessPartnerBank"]["results"][0]["IBAN"] == "DE89370400440532013000"


def test_customer_round_trips() -> None:
    customer = Customer(
        id="10100001",
        name="Beta Retail Ltd",
        legal_name="Beta Retail Limited",
        tax_id="GB123456789",
        status="blocked",
    )
    back = fincon.to_record("sap", "customer", fincon.to_payload("sap", "customer", customer))
    _same(back, customer, ("id", "name", "legal_name", "tax_id", "status"))


def _bill(currency: str, amounts: list[str], tax: str) -> Bill:
    lines = [
        LineItem(
            id=str(i + 1),
            line_number=i + 1,
            description=f"line {i}",
            amount=Money(Decimal(a), currency),
            account=Ref("0061000000"),
            tax_code="V1",
            dimensions={"company_code": "1710", "cost_center": "10101001"},
        )
        for i, a in enumerate(amounts)
    ]
    subtotal = sum((Decimal(a) for a in amounts), Decimal(0))
    return Bill(
        id="5105600001/2025",
        number="INV-2025-0042",
        vendor=Ref("17300001"),
        issue_date=date(2025, 2, 28),
        currency=currency,
        lines=lines,
        subtotal=Money(subtotal, currency),
        tax=Money(Decimal(tax), currency),
        total=Money(subtotal + Decimal(tax), currency),
        status="open",
        memo="March rent",
    )


@pytest.mark.parametrize(
    ("currency", "amounts", "tax"),
    [
        ("EUR", ["1000.10", "0.01"], "190.02"),
        ("JPY", ["150000", "7"], "15001"),
        ("KWD", ["12.345", "0.001"], "1.235"),
        ("EUR", ["-25.50", "100.00"], "14.40"),  # a credit line (DebitCreditCode H)
    ],
)
def test_bill_round_trips_with_exact_amounts(currency: str, amounts: list[str], tax: str) -> None:
    bill = _bill(currency, amounts, tax)
    payload = fincon.to_payload("sap", "bill", bill)
    assert payload["InvoiceGrossAmount"] == format(bill.total.amount, "f")  # a string, every digit
    assert payload["DocumentDate"] == "/Date(1740700800000)/"
    payload.update({"SupplierInvoice": "5105600001", "FiscalYear": "2025", "SupplierInvoiceStatus": "5"})
    back = fincon.to_record("sap", "bill", payload)
    _same(
        back,
        bill,
        (
            "id",
            "number",
            "vendor",
            "issue_date",
            "currency",
            "lines",
            "subtotal",
            "tax",
            "total",
            "status",
            "memo",
        ),
    )
    assert all(type(line.amount.amount) is Decimal for line in back.lines)


def test_purchase_order_round_trips() -> None:
    order = PurchaseOrder(
        id="4500000001",
        number="4500000001",
        vendor=Ref("17300001"),
        issue_date=date(2025, 1, 15),
        currency="USD",
        updated_at=datetime(2025, 1, 16, 8, 0, tzinfo=UTC),
        status="open",
        lines=[
            LineItem(
                id="10",
                line_number=10,
                description="Bolts",
                quantity=Decimal("12.5"),
                unit_price=Money(Decimal("3.3333"), "USD"),
                amount=Money(Decimal("41.66625"), "USD"),
                tax_code="I0",
            )
        ],
    )
    back = fincon.to_record("sap", "purchase_order", fincon.to_payload("sap", "purchase_order", order))
    _same(back, order, ("id", "number", "vendor", "issue_date", "currency", "updated_at", "status", "lines"))


def test_account_round_trips() -> None:
    account = Account(
        id="YCOA/0021100000",
        number="0021100000",
        name="Payables Domestic",
        classification="liability",
        type="X",
        active=True,
        updated_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    )
    payload = fincon.to_payload("sap", "account", account)
    back = fincon.to_record("sap", "account", payload)
    _same(back, account, ("id", "number", "name", "classification", "type", "active", "updated_at"))


def test_journal_entry_round_trips_and_balances() -> None:
    entry = JournalEntry(
        id="1010/2025/100000042",
        number="100000042",
        date=date(2025, 4, 30),
        status="posted",
        updated_at=datetime(2025, 4, 30, 18, 0, tzinfo=UTC),
        lines=[
            JournalLine(
                account=Ref("0061000000"),
                debit=Money(Decimal("2500.00"), "EUR"),
                description="Accrual",
                dimensions={"cost_center": "10101001"},
            ),
            JournalLine(
                account=Ref("0021100000"), credit=Money(Decimal("2500.00"), "EUR"), description="Payable"
            ),
        ],
    )
    payload = fincon.to_payload("sap", "journal_entry", entry)
    assert [line["AmountInTransactionCurrency"] for line in payload["lines"]] == ["2500.00", "-2500.00"]
    assert [line["DebitCreditCode"] for line in payload["lines"]] == ["S", "H"]
    back = fincon.to_record("sap", "journal_entry", payload)
    _same(back, entry, ("id", "number", "date", "status", "updated_at", "lines"))


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("/Date(1740787200000)/", datetime(2025, 3, 1, tzinfo=UTC)),
        ("/Date(1740787200000+0000)/", datetime(2025, 3, 1, tzinfo=UTC)),
        (
            "/Date(1740787200000+0120)/",
            datetime(2025, 3, 1, 2, 0, tzinfo=timezone(timedelta(minutes=120))),
        ),  # +mmmm: minutes
    ],
)
def test_sap_dates_with_and_without_offset_are_the_same_instant(wire: str, expected: datetime) -> None:
    payload = {"PurchaseOrder": "4500000009", "LastChangeDateTime": wire}
    record = fincon.to_record("sap", "purchase_order", payload)
    assert record.updated_at == expected  # the same instant
    assert record.updated_at.utcoffset() == expected.utcoffset()


def test_a_float_amount_from_the_wire_is_refused() -> None:
    payload = {
        "SupplierInvoice": "1",
        "FiscalYear": "2025",
        "DocumentCurrency": "EUR",
        "InvoiceGrossAmount": 0.1,
    }
    with pytest.raises(TypeError, match="never a float"):
        MAPPERS["bill"].to_record(payload)


def test_bill_ids_name_both_key_fields() -> None:
    assert split_bill_id("5105600001/2025") == ("5105600001", "2025")
    with pytest.raises(ValueError, match="FiscalYear"):
        split_bill_id("5105600001")


def test_a_bill_without_a_company_code_is_refused_not_guessed() -> None:
    bill = _bill("EUR", ["100.00"], "19.00")
    bill.lines[0].dimensions.pop("company_code")
    with pytest.raises(ValueError, match="company code"):
        fincon.to_payload("sap", "bill", bill)
    mixed = _bill("EUR", ["100.00", "5.00"], "19.95")
    mixed.lines[1].dimensions["company_code"] = "1010"
    with pytest.raises(ValueError, match="exactly one company code"):
        fincon.to_payload("sap", "bill", mixed)


def test_a_bill_posts_to_its_own_company_code_and_tax_code() -> None:
    payload = fincon.to_payload("sap", "bill", _bill("EUR", ["100.00"], "19.00"))
    assert payload["CompanyCode"] == "1710"
    assert {item["CompanyCode"] for item in payload["to_SupplierInvoiceItemGLAcct"]["results"]} == {"1710"}
    assert payload["to_SupplierInvoiceTax"]["results"][0]["TaxCode"] == "V1"
    untaxed_code = _bill("EUR", ["100.00"], "19.00")
    untaxed_code.lines[0].tax_code = None
    with pytest.raises(ValueError, match="tax_code"):
        fincon.to_payload("sap", "bill", untaxed_code)
