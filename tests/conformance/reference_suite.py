"""The conformance suite configured for the reference system (shared by the test modules here)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from fincon.models import Bill, LineItem, Money, Ref, Vendor
from fincon.testing.conformance import ConformanceSuite


class ReferenceSuite(ConformanceSuite):
    system: ClassVar[str] = "reference"
    resource: ClassVar[str] = "vendor"
    expiring_credentials: ClassVar[Mapping[str, Any] | None] = {"api_key": None}

    def connect(self, emulator: Any, clock: Any, **settings: Any) -> Any:
        # With api_key=None the connector authenticates with OAuth2 client credentials.
        return super().connect(emulator, clock, **settings)

    def expected_ids(self, emulator: Any) -> list[str]:
        store = emulator.vendors if self.resource == "vendor" else emulator.bills
        return [record.id for record in store]

    def new_record(self, resource: str) -> Any:
        if resource == "vendor":
            return Vendor(name="Conformance Supplies GmbH", email="ap@conformance.example", currency="EUR")
        return Bill(
            number="CONF-0001",
            vendor=Ref(id="ven_00000001"),
            currency="EUR",
            issue_date=date(2026, 3, 1),
            due_date=date(2026, 3, 31),
            total=Money(amount=Decimal("119.00"), currency="EUR"),
            lines=[
                LineItem(
                    description="Audit support",
                    quantity=Decimal("1"),
                    unit_price=Money(amount=Decimal("119.00"), currency="EUR"),
                    amount=Money(amount=Decimal("119.00"), currency="EUR"),
                    account=Ref(id="6100"),
                )
            ],
        )

    def stored_matching(self, emulator: Any, resource: str, record: Any) -> int:
        store = emulator.vendors if resource == "vendor" else emulator.bills
        key = "name" if resource == "vendor" else "number"
        wanted = record.name if resource == "vendor" else record.number
        return sum(1 for stored in store if stored.data.get(key) == wanted)

    def sample_changes(self, resource: str) -> Mapping[str, Any]:
        return {"email": "billing@conformance.example"} if resource == "vendor" else {"memo": "checked"}

    def feed_cursor_cycle(self, emulator: Any) -> None:
        emulator.cycle_after_pages = 3

    def expire_credentials(self, emulator: Any) -> None:
        emulator.expire_tokens()

    def credential_issues(self, emulator: Any) -> int:
        return int(emulator.tokens.issued)
