"""The connector's requests and the emulator's answers, checked against SAP's EDMX files."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sap_testkit import BP, INVOICES, emulator

import fincon
from fincon.models import Bill, LineItem, Money, Ref, Vendor
from fincon.sandbox import SandboxTransport
from fincon.testing.specs import ODataContract, SpecCheckingTransport, require_spec


def _connect(transport: Any, sap: Any) -> Any:
    return fincon.connect(
        "sap",
        **sap.credentials(),
        base_url=sap.base_url,
        transport=transport,
        clock=sap.clock,
        share_limits=False,
    )


def _checked(contract: ODataContract, service: str, sap: Any) -> SpecCheckingTransport:
    """A transport that checks every request of ``service`` and its answer (creates included:
    a 201 to a POST on a collection is checked as the one entity it creates)."""
    inner = SandboxTransport(sap)
    checking = SpecCheckingTransport(inner, contract, raise_at_once=False)

    class Route(httpx.BaseTransport):
        """Send requests of ``service`` through the checking transport, the rest unchecked."""

        def handle_request(self, request: Any) -> Any:
            if f"/{service}/" in request.url.path and not request.url.path.endswith(f"/{service}/"):
                checking.creates += request.method == "POST" and "X-HTTP-Method" not in request.headers  # type: ignore[attr-defined]
                return checking.handle_request(request)
            return inner.handle_request(request)

    checking.route = Route()  # type: ignore[attr-defined]
    checking.creates = 0  # type: ignore[attr-defined]
    return checking


def test_vendor_workflow_validates_against_the_business_partner_edmx() -> None:
    contract = ODataContract(require_spec(BP))
    sap = emulator(size=30)
    checking = _checked(contract, "API_BUSINESS_PARTNER", sap)
    with _connect(checking.route, sap) as connector:  # type: ignore[attr-defined]
        list(connector.vendors.list(page_size=7, max_pages=2))
        list(connector.vendors.list(updated_since=datetime(2025, 1, 1, tzinfo=timezone.utc), max_pages=1))
        list(connector.customers.list(page_size=5, max_pages=1))
        created = connector.vendors.create(
            Vendor(
                name="Spec GmbH",
                external_id="SPEC-1",
                bank_accounts=[{"iban": "DE89370400440532013000"}],
                addresses=[{"line1": "5 Ring", "city": "Bonn", "country": "DE"}],
            )
        )
        connector.vendors.get(created.id)
        connector.vendors.update(created.id, {"name": "Spec 2 GmbH"})
    checking.assert_clean()
    assert checking.creates == 1  # type: ignore[attr-defined]
    assert checking.requests_checked >= 7
    assert checking.responses_checked == checking.requests_checked


def test_bill_workflow_validates_against_the_supplier_invoice_edmx() -> None:
    contract = ODataContract(require_spec(INVOICES))
    sap = emulator(size=30)
    checking = _checked(contract, "API_SUPPLIERINVOICE_PROCESS_SRV", sap)
    with _connect(checking.route, sap) as connector:  # type: ignore[attr-defined]
        bills = list(connector.bills.list(page_size=10, max_pages=2))
        connector.bills.get(bills[3].id)
        created = connector.bills.create(
            Bill(
                vendor=Ref("10000002"),
                number="SPEC-9",
                issue_date=date(2025, 5, 2),
                currency="EUR",
                total=Money(Decimal("119.00"), "EUR"),
                tax=Money(Decimal("19.00"), "EUR"),
                lines=[
                    LineItem(
                        amount=Money(Decimal("100.00"), "EUR"),
                        account=Ref("0061000000"),
                        tax_code="V1",
                        dimensions={"company_code": "1010"},
                    )
                ],
            )
        )
        connector.bills.delete(created.id)
        with pytest.raises(fincon.NotFound):
            connector.bills.get(created.id)
    checking.assert_clean()
    assert checking.creates == 1  # type: ignore[attr-defined]
    assert checking.requests_checked >= 5
    assert checking.responses_checked == checking.requests_checked
