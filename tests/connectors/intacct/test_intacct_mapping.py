"""Intacct payload <-> canonical record, without a connection."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import fincon
from fincon.connectors.intacct._xml import serialize
from fincon.models import Address, Bill, JournalEntry, JournalLine, LineItem, Money, Ref, Vendor

VENDOR_XML = b"""<vendor><RECORDNO>42</RECORDNO><VENDORID>V-42</VENDORID><NAME>Acme &amp; Sons</NAME>
<STATUS>active</STATUS><TAXID>12-3456789</TAXID><CURRENCY>USD</CURRENCY>
<DISPLAYCONTACT><COMPANYNAME>Acme and Sons LLC</COMPANYNAME><EMAIL1>ap@acme.example</EMAIL1>
<MAILADDRESS><ADDRESS1>1 Main St</ADDRESS1><CITY>Boston</CITY><ZIP>02110</ZIP>
<COUNTRYCODE>US</COUNTRYCODE></MAILADDRESS>
</DISPLAYCONTACT><WHENMODIFIED>01/31/2026 13:05:09</WHENMODIFIED></vendor>"""


def test_vendor_from_the_nested_read_by_query_shape() -> None:
    vendor = fincon.to_record("intacct", "vendor", VENDOR_XML)
    assert vendor.id == "V-42"
    assert vendor.source.id == "42"
    assert vendor.name == "Acme & Sons"
    assert vendor.legal_name == "Acme and Sons LLC"
    assert vendor.email == "ap@acme.example"
    assert vendor.addresses[0].postal_code == "02110"
    assert vendor.addresses[0].country == "US"
    assert vendor.updated_at.isoformat() == "2026-01-31T13:05:09+00:00"


def test_vendor_from_the_flat_query_shape_maps_alike() -> None:
    flat = (
        b"<VENDOR><VENDORID>V-42</VENDORID><NAME>Acme</NAME>"
        b"<DISPLAYCONTACT.EMAIL1>a@b.example</DISPLAYCONTACT.EMAIL1></VENDOR>"
    )
    assert fincon.to_record("intacct", "vendor", flat).email == "a@b.example"


def test_vendor_round_trips() -> None:
    vendor = Vendor(
        id="V-7",
        name="Round Trip Ltd",
        legal_name="Round Trip Limited",
        tax_id="GB123456789",
        email="x@rt.example",
        phone="+44 20 0000",
        currency="GBP",
        status="inactive",
        addresses=[Address(line1="1 High St", city="London", postal_code="EC1A 1AA", country="GB")],
    )
    payload = fincon.to_payload("intacct", "vendor", vendor)
    again = fincon.to_record("intacct", "vendor", serialize(payload))
    assert again.model_dump(exclude={"source", "raw"}) == vendor.model_dump(exclude={"source", "raw"})


def test_bill_round_trips_with_dimensions_and_exact_amounts() -> None:
    bill = Bill(
        number="B-1",
        vendor=Ref("V-1"),
        issue_date=date(2026, 1, 31),
        due_date=date(2026, 3, 2),
        currency="EUR",
        memo="January",
        lines=[
            LineItem(
                account=Ref("6000"),
                amount=Money(Decimal("1234.5600"), "EUR"),
                description="Rent",
                dimensions={"department": "ADM", "class": "X"},
            )
        ],
    )
    payload = fincon.to_payload("intacct", "bill", bill)
    assert payload.find("APBILLITEMS/APBILLITEM/TRX_AMOUNT").text == "1234.5600"
    again = fincon.to_record("intacct", "bill", payload)
    assert again.lines[0].amount == Money(Decimal("1234.5600"), "EUR")
    assert (again.number, again.vendor, again.issue_date, again.due_date, again.memo) == (
        "B-1",
        Ref("V-1"),
        date(2026, 1, 31),
        date(2026, 3, 2),
        "January",
    )
    assert again.lines[0].dimensions == {"department": "ADM", "class": "X"}


def test_journal_entry_sides_and_balance() -> None:
    entry = JournalEntry(
        date=date(2026, 1, 1),
        memo="m",
        lines=[
            JournalLine(account=Ref("1000"), debit=Money(Decimal("5"), "USD")),
            JournalLine(
                account=Ref("2000"), credit=Money(Decimal("5"), "USD"), dimensions={"location": "NY"}
            ),
        ],
    )
    payload = fincon.to_payload("intacct", "journal_entry", entry)
    assert [node.text for node in payload.iterfind("ENTRIES/GLENTRY/TR_TYPE")] == ["1", "-1"]
    again = fincon.to_record("intacct", "journal_entry", payload)
    assert again.lines == entry.lines
    assert again.date == entry.date


def test_bad_amounts_and_dates_are_refused() -> None:
    with pytest.raises(Exception, match="decimal"):
        fincon.to_record(
            "intacct",
            "bill",
            b"<APBILL><CURRENCY>USD</CURRENCY><TRX_TOTALENTERED>1e5</TRX_TOTALENTERED></APBILL>",
        )
    with pytest.raises(Exception, match="MM/DD/YYYY"):
        fincon.to_record("intacct", "bill", b"<APBILL><WHENCREATED>2026-01-31</WHENCREATED></APBILL>")


def test_unknown_dimension_is_refused_before_sending() -> None:
    bill = Bill(
        vendor=Ref("V-1"),
        issue_date=date(2026, 1, 1),
        lines=[LineItem(account=Ref("6000"), amount=Money(Decimal("1"), "USD"), dimensions={"region": "EU"})],
    )
    with pytest.raises(fincon.ValidationError, match="dimension"):
        fincon.to_payload("intacct", "bill", bill)


def test_each_amount_keeps_its_own_currency() -> None:
    """``TRX_*`` amounts are in ``CURRENCY``, base amounts in ``BASECURR``: never USD labelled EUR."""
    both = fincon.to_record(
        "intacct",
        "bill",
        b"<APBILL><CURRENCY>EUR</CURRENCY><BASECURR>USD</BASECURR><TRX_TOTALENTERED>90.00</TRX_TOTALENTERED>"
        b"<TOTALENTERED>100.00</TOTALENTERED></APBILL>",
    )
    assert both.total == Money(Decimal("90.00"), "EUR")
    base_only = fincon.to_record(
        "intacct",
        "bill",
        b"<APBILL><BASECURR>USD</BASECURR><TOTALENTERED>100.00</TOTALENTERED></APBILL>",
    )
    assert base_only.total == Money(Decimal("100.00"), "USD")
    payment = fincon.to_record(
        "intacct",
        "payment",
        b"<ARPYMT><CURRENCY>EUR</CURRENCY><BASECURR>USD</BASECURR><TOTALENTERED>100.00</TOTALENTERED>"
        b"<RECEIPTDATE>01/31/2026</RECEIPTDATE></ARPYMT>",
    )
    assert payment.amount == Money(Decimal("100.00"), "USD")
    entry = fincon.to_record(
        "intacct",
        "journal_entry",
        b"<GLBATCH><BASECURR>USD</BASECURR><BATCH_DATE>01/31/2026</BATCH_DATE><ENTRIES>"
        b"<GLENTRY><ACCOUNTNO>1000</ACCOUNTNO><TR_TYPE>1</TR_TYPE><CURRENCY>EUR</CURRENCY>"
        b"<AMOUNT>5.00</AMOUNT></GLENTRY>"
        b"<GLENTRY><ACCOUNTNO>2000</ACCOUNTNO><TR_TYPE>-1</TR_TYPE><CURRENCY>EUR</CURRENCY>"
        b"<AMOUNT>5.00</AMOUNT></GLENTRY></ENTRIES></GLBATCH>",
    )
    assert entry.lines[0].debit == Money(Decimal("5.00"), "USD")


def test_a_document_in_one_currency_with_only_a_base_currency_amount_is_refused() -> None:
    """The base amount is not the EUR total: the document is refused rather than mislabelled."""
    with pytest.raises(ValueError, match=r"total is in USD but the document's currency is EUR"):
        fincon.to_record(
            "intacct",
            "bill",
            b"<APBILL><CURRENCY>EUR</CURRENCY><BASECURR>USD</BASECURR>"
            b"<TOTALENTERED>100.00</TOTALENTERED></APBILL>",
        )
