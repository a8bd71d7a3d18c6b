"""The conformance suite against the Stripe connector and its sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from fincon.models import Customer, Invoice, LineItem, Money, Payment, Ref
from fincon.testing.conformance import ConformanceSuite


class TestStripeConformance(ConformanceSuite):
    system: ClassVar[str] = "stripe"
    resource: ClassVar[str] = "customer"
    expiring_credentials: ClassVar[Mapping[str, Any] | None] = None  # secret keys never expire

    def expected_ids(self, emulator: Any) -> list[str]:
        return [record.id for record in emulator.customers]

    def new_record(self, resource: str) -> Any:
        if resource == "customer":
            return Customer(name="Conformance Supplies GmbH", email="ap@conformance.example")
        if resource == "invoice":
            return Invoice(
                customer=Ref(id="cus_0000000001"),
                currency="USD",
                due_date=date(2026, 3, 31),
                memo="CONF-0001",
                total=Money(Decimal("119.00"), "USD"),
                lines=[LineItem(description="Audit support", amount=Money(Decimal("119.00"), "USD"))],
            )
        if resource == "payment":
            return Payment(
                amount=Money(Decimal("64.00"), "EUR"), customer=Ref(id="cus_0000000002"), reference="CONF-PAY"
            )
        return None

    def stored_matching(self, emulator: Any, resource: str, record: Any) -> int:
        if resource == "customer":
            return sum(
                1
                for stored in emulator.customers.iter(updated_since=None)
                if stored.data.get("name") == record.name
            )
        return sum(1 for stored in emulator.invoices if stored.data.get("description") == record.memo)

    def sample_changes(self, resource: str) -> Mapping[str, Any]:
        if resource == "invoice":
            return {"memo": "CONF-0001 reviewed"}  # the draft new_record created
        return {"email": "billing@conformance.example"}

    def feed_cursor_cycle(self, emulator: Any) -> None:
        emulator.cycle_after_pages = 3


class TestStripeInvoiceConformance(TestStripeConformance):
    resource: ClassVar[str] = "invoice"

    def expected_ids(self, emulator: Any) -> list[str]:
        return [record.id for record in emulator.invoices]
