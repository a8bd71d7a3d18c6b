"""The conformance suite against the SAP connector and its sandbox (vendors and bills)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from sap_testkit import require_sap_specs

from fincon.connectors.sap.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from fincon.models import Bill, LineItem, Money, Ref, Vendor
from fincon.testing.conformance import ConformanceSuite


class TestSapVendorConformance(ConformanceSuite):
    system: ClassVar[str] = "sap"
    resource: ClassVar[str] = "vendor"
    expiring_credentials: ClassVar[Mapping[str, Any] | None] = {
        "user": None,
        "password": None,
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
    }

    def make_emulator(self, *, size: int, clock: Any) -> Any:
        require_sap_specs()
        return super().make_emulator(size=size, clock=clock)

    def expected_ids(self, emulator: Any) -> list[str]:
        store = emulator.store("API_BUSINESS_PARTNER", "A_BusinessPartner")
        return [record.data["BusinessPartner"] for record in store.iter() if record.data.get("Supplier")]

    def new_record(self, resource: str) -> Any:
        if resource == "vendor":
            return Vendor(name="Conformance Supplies GmbH", external_id="CONF-V-1", tax_id="DE999999999")
        if resource == "bill":
            return Bill(
                vendor=Ref("10000001"),
                number="CONF-0001",
                issue_date=date(2025, 3, 1),
                currency="EUR",
                total=Money(Decimal("119.00"), "EUR"),
                tax=Money(Decimal("19.00"), "EUR"),
                lines=[
                    LineItem(
                        description="Audit",
                        amount=Money(Decimal("100.00"), "EUR"),
                        account=Ref("0061000000"),
                        tax_code="V1",
                        dimensions={"company_code": "1010"},
                    )
                ],
            )
        return None

    def stored_matching(self, emulator: Any, resource: str, record: Any) -> int:
        if resource == "vendor":
            store = emulator.store("API_BUSINESS_PARTNER", "A_BusinessPartner")
            return sum(
                1 for r in store.iter() if r.data.get("BusinessPartnerIDByExtSystem") == record.external_id
            )
        store = emulator.store("API_SUPPLIERINVOICE_PROCESS_SRV", "A_SupplierInvoice")
        return sum(1 for r in store.iter() if r.data.get("SupplierInvoiceIDByInvcgParty") == record.number)

    def sample_changes(self, resource: str) -> Mapping[str, Any]:
        return {"name": "Renamed Supplies GmbH"}

    def feed_cursor_cycle(self, emulator: Any) -> None:
        emulator.cycle_after_pages = 3

    def expire_credentials(self, emulator: Any) -> None:
        emulator.expire_tokens()

    def credential_issues(self, emulator: Any) -> int:
        return int(emulator.issuer.issued)


class TestSapBillConformance(TestSapVendorConformance):
    resource: ClassVar[str] = "bill"

    def expected_ids(self, emulator: Any) -> list[str]:
        store = emulator.store("API_SUPPLIERINVOICE_PROCESS_SRV", "A_SupplierInvoice")
        return [f"{r.data['SupplierInvoice']}/{r.data['FiscalYear']}" for r in store.iter()]
