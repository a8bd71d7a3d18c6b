"""The conformance suite against the Intacct connector and its sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from fincon.models import Bill, LineItem, Money, Ref, Vendor
from fincon.testing.conformance import ConformanceSuite


class TestIntacctConformance(ConformanceSuite):
    system: ClassVar[str] = "intacct"
    resource: ClassVar[str] = "vendor"
    expiring_credentials: ClassVar[Mapping[str, Any] | None] = {}  # sessions always expire

    def expected_ids(self, emulator: Any) -> list[str]:
        return [data.fields["VENDORID"] for data in emulator.records("VENDOR")]

    def new_record(self, resource: str) -> Any:
        if resource == "vendor":
            return Vendor(id="V-CONF-1", name="Conformance Supplies GmbH", email="ap@conformance.example")
        if resource == "customer":
            from fincon.models import Customer

            return Customer(id="C-CONF-1", name="Conformance Buyer Ltd")
        if resource == "bill":
            return Bill(
                number="CONF-0001",
                vendor=Ref("V000001"),
                issue_date=date(2026, 1, 31),
                currency="USD",
                status="draft",  # drafts can be updated: the capability check updates it
                lines=[LineItem(account=Ref("6000"), amount=Money(Decimal("119.00"), "USD"))],
            )
        if resource == "invoice":
            from fincon.models import Invoice

            return Invoice(
                number="CONF-INV-1",
                customer=Ref("C000001"),
                issue_date=date(2026, 1, 31),
                status="draft",
                lines=[LineItem(account=Ref("4000"), amount=Money(Decimal("250.10"), "USD"))],
            )
        if resource == "journal_entry":
            from fincon.models import JournalEntry, JournalLine

            return JournalEntry(
                date=date(2026, 1, 31),
                memo="Conformance accrual",
                lines=[
                    JournalLine(account=Ref("6000"), debit=Money(Decimal("10.01"), "USD")),
                    JournalLine(account=Ref("2000"), credit=Money(Decimal("10.01"), "USD")),
                ],
            )
        return None

    def stored_matching(self, emulator: Any, resource: str, record: Any) -> int:
        if resource == "vendor":
            return sum(1 for data in emulator.records("VENDOR") if data.fields.get("NAME") == record.name)
        return sum(1 for data in emulator.records("APBILL") if data.fields.get("RECORDID") == record.number)

    def sample_changes(self, resource: str) -> Mapping[str, Any]:
        if resource in ("bill", "invoice"):
            return {"memo": "Updated by the conformance suite", "due_date": date(2026, 3, 2)}
        return {"email": "billing@conformance.example"}

    def feed_cursor_cycle(self, emulator: Any) -> None:
        emulator.cycle_after_pages = 3

    def expire_credentials(self, emulator: Any) -> None:
        emulator.expire_sessions()

    def credential_issues(self, emulator: Any) -> int:
        return int(emulator.sessions_issued)


class TestIntacctBillConformance(TestIntacctConformance):
    resource: ClassVar[str] = "bill"

    def expected_ids(self, emulator: Any) -> list[str]:
        # A bill's RECORDNO is its record id in the store: listed without building 10,000 bills.
        bills = emulator.collections["APBILL"]
        return [bills.ids.format(index) for index in bills.indexes()]
