"""Every request the connector sends validates against Intacct's api.xsd (requests only: see docs)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from intacct_testkit import API_XSD, connect_checked, emulator

from fincon.connectors.intacct import filters as F
from fincon.core.clock import FakeClock
from fincon.models import Bill, JournalEntry, JournalLine, LineItem, Money, Ref, Vendor
from fincon.testing.specs import SpecViolation, XmlSchemaContract, require_spec


@pytest.fixture(scope="module")
def contract() -> XmlSchemaContract:
    return XmlSchemaContract(require_spec(API_XSD))


def test_every_request_of_every_operation_validates(contract: XmlSchemaContract) -> None:
    clock = FakeClock()
    emu = emulator(size=30, clock=clock)
    connector, checking = connect_checked(emu, contract, clock=clock, entity_id="US")
    with connector:
        connector.check()
        for resource in connector.capabilities:
            listed = list(connector.collection(resource).list(page_size=7))
            connector.collection(resource).get(listed[0].id)
        list(connector.vendors.list(updated_since=datetime(2025, 1, 1, tzinfo=UTC), page_size=5))
        connector.vendors.create(Vendor(id="V-XSD-1", name="Schema Checked Ltd", currency="USD"))
        connector.vendors.update("V-XSD-1", {"email": "ap@schema.example"})
        connector.vendors.delete("V-XSD-1")
        bill = connector.bills.create(
            Bill(
                number="XSD-1",
                vendor=Ref("V000001"),
                issue_date=date(2026, 2, 1),
                status="draft",
                lines=[
                    LineItem(
                        account=Ref("6000"),
                        amount=Money(Decimal("5.00"), "USD"),
                        dimensions={"department": "ENG"},
                    )
                ],
            )
        )
        line = LineItem(account=Ref("6100"), amount=Money(Decimal("6.00"), "USD"))
        connector.bills.update(bill.id, {"memo": "schema", "due_date": date(2026, 3, 1), "lines": [line]})
        connector.bills.update(bill.id, {"status": "open"})
        connector.journal_entries.create(
            JournalEntry(
                date=date(2026, 2, 1),
                lines=[
                    JournalLine(account=Ref("6000"), debit=Money(Decimal("1.10"), "USD")),
                    JournalLine(account=Ref("2000"), credit=Money(Decimal("1.10"), "USD")),
                ],
            )
        )
        native = connector.native
        page = native.read_by_query("VENDOR", page_size=3)
        native.read_more(page.result_id)
        native.query(
            "VENDOR",
            fields=["VENDORID", "NAME"],
            filter=F.and_(F.equal_to("STATUS", "active"), F.in_("VENDORID", ["V000001", "V000002"])),
        )
        native.inspect("VENDOR")
    assert checking.requests_checked > 40
    wanted = {
        "getAPISession",
        "readByQuery",
        "readMore",
        "query",
        "read",
        "readByName",
        "create",
        "update",
        "delete",
        "inspect",
    }
    assert wanted <= set(emu.functions_received)


def test_the_schema_catches_a_malformed_request(contract: XmlSchemaContract) -> None:
    """The check is not vacuous: a function without its required controlid is refused."""
    from pydantic import SecretStr

    from fincon.connectors.intacct._envelope import Sender, build_request
    from fincon.connectors.intacct._functions import read_more
    from fincon.connectors.intacct._xml import element, parse_xml, serialize

    good = build_request(Sender("s", SecretStr("p")), [element("function", attrib={"controlid": "1"})])
    root = parse_xml(good, what="request")
    root.find("operation/content/function").append(read_more("abc"))
    contract.validate(serialize(root))
    del root.find("operation/content/function").attrib["controlid"]
    with pytest.raises(SpecViolation, match="controlid"):
        contract.validate(serialize(root))
