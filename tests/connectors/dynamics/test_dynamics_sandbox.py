"""The Business Central emulator's own behaviour: metadata-driven shapes, BC's server-side logic
(computed totals, number series, read-only properties, drafts), company scoping and BC's errors."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from fincon.connectors.dynamics.sandbox import DynamicsEmulator
from fincon.core.clock import FakeClock
from fincon.sandbox import SandboxTransport

VENDOR_ID = "00007e4d-0000-4000-8000-000000000002"
ACCOUNT_ID = "0000acc0-0000-4000-8000-000000000003"


def _json(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)  # amounts exact, never floats


@pytest.fixture
def bc() -> tuple[DynamicsEmulator, httpx.Client]:
    emulator = DynamicsEmulator(size=12, clock=FakeClock())
    token = emulator.tokens.issue(emulator.client_id).token
    client = httpx.Client(
        transport=SandboxTransport(emulator),
        base_url=f"{emulator.base_url}/companies({emulator.company_id})/",
        headers={"Authorization": f"Bearer {token}"},
    )
    return emulator, client


def test_entities_have_exactly_the_metadata_properties(bc: tuple[DynamicsEmulator, httpx.Client]) -> None:
    emulator, client = bc
    assert emulator.bc is not None
    declared = emulator.bc.schema.types["Microsoft.NAV.vendor"].properties
    vendor = client.get(f"vendors({VENDOR_ID})").json()
    assert set(vendor) - {"@odata.context", "@odata.etag"} == set(declared)
    bill = _json(client.get("purchaseInvoices", params={"$top": "1", "$expand": "purchaseInvoiceLines"}))
    lines = bill["value"][0]["purchaseInvoiceLines"]
    assert lines
    assert sum(line["amountExcludingTax"] for line in lines) == bill["value"][0]["totalAmountExcludingTax"]


def _new_bill(client: httpx.Client) -> dict[str, Any]:
    answer = client.post(
        "purchaseInvoices",
        json={
            "vendorId": VENDOR_ID,
            "vendorInvoiceNumber": "T-1",
            "currencyCode": "USD",
            "purchaseInvoiceLines": [
                {
                    "lineType": "Account",
                    "accountId": ACCOUNT_ID,
                    "quantity": 3,
                    "unitCost": "9.99",
                    "taxCode": "TAXABLE",
                }
            ],
        },
    )
    assert answer.status_code == 201, answer.text
    return dict(_json(answer))


def test_writes_get_what_the_server_computes(bc: tuple[DynamicsEmulator, httpx.Client]) -> None:
    _, client = bc
    bill = _new_bill(client)
    assert bill["status"] == "Draft"
    assert bill["number"].startswith("PI")
    assert bill["vendorNumber"] == "V10001"  # completed from the vendor named
    assert bill["totalAmountExcludingTax"] == Decimal("29.97")
    assert bill["totalTaxAmount"] == Decimal("2.40")  # 8 % of 29.97, half-up
    line = bill["purchaseInvoiceLines"][0]
    changed = client.patch(
        f"purchaseInvoices({bill['id']})/purchaseInvoiceLines({line['id']})",
        json={"quantity": 1},
        headers={"If-Match": "*", "Prefer": "return=representation"},
    )
    assert changed.status_code == 200
    assert _json(changed)["amountExcludingTax"] == Decimal("9.99")
    again = _json(client.get(f"purchaseInvoices({bill['id']})"))
    assert again["totalAmountExcludingTax"] == Decimal("9.99")  # the document follows its lines
    vendor = client.post("vendors", json={"displayName": "Numbered Ltd"}).json()
    assert vendor["number"] == "V10012"  # the next number of the series


def test_bc_refusals_are_bc_errors(bc: tuple[DynamicsEmulator, httpx.Client]) -> None:
    emulator, client = bc
    bill = _new_bill(client)
    url = f"purchaseInvoices({bill['id']})"
    refused = client.patch(url, json={"totalAmountIncludingTax": 1}, headers={"If-Match": "*"})
    assert refused.status_code == 400
    assert client.patch(url, json={"dueDate": "2026-05-01"}).status_code == 428
    assert client.post(f"{url}/Microsoft.NAV.post").status_code == 204
    assert emulator.posted == [("purchaseInvoices", bill["id"])]
    twice = client.post(f"{url}/Microsoft.NAV.post")
    assert twice.status_code == 400
    assert twice.json()["error"]["code"] == "Application_DialogException"
    assert client.delete(url, headers={"If-Match": "*"}).status_code == 400  # posted: not a draft
    mixed = client.get("purchaseInvoices", params={"$filter": "invoiceDate ge '2024-01-01'"})
    assert mixed.status_code == 400
    assert set(mixed.json()["error"]) == {"code", "message"}
    assert client.post("accounts", json={"number": "9999"}).status_code == 405  # Insertable="false"
    root = httpx.Client(transport=SandboxTransport(emulator)).get(
        f"{emulator.base_url}/vendors", headers=dict(client.headers)
    )
    assert root.status_code == 404  # entity sets are served inside companies(...) only
    other = client.get(f"{emulator.base_url}/companies(00000000-0000-0000-0000-000000000009)/vendors")
    assert other.status_code == 404
