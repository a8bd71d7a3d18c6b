"""The SAP connector against SAP's own fe-mockserver serving the real S/4HANA EDMX files.

A third-party OData V2 server (not our emulator) for ``API_BUSINESS_PARTNER`` (vendors) and
``API_SUPPLIERINVOICE_PROCESS_SRV`` (bills): lists with filters and server-driven paging (``__next``,
added by the harness's ``--page-size``), get by key with ``$expand``, create (deep insert), update
(``MERGE``), delete, all behind SAP-style CSRF enforcement (the harness's ``--csrf``). What this test
adds on top for writes is in :class:`GatewayCreates`, which says what and why.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import FeMockserverFactory, PeerServer

import fincon
from fincon.models import Bill, LineItem, Money, Ref, Vendor

pytestmark = pytest.mark.peer

ROOT = "/sap/opu/odata/sap"
BP = f"{ROOT}/API_BUSINESS_PARTNER"
INVOICES = f"{ROOT}/API_SUPPLIERINVOICE_PROCESS_SRV"
PAGE = 2  # the harness's server-driven page size: every listing below spans several pages

# Five business partners, four of them suppliers (the vendor listing filters on ``Supplier ne ''``).
PARTNERS = [
    {
        "BusinessPartner": f"1000000{i}",
        "Supplier": "" if i == 3 else f"1000000{i}",
        "Customer": f"1000000{i}" if i == 3 else "",
        "BusinessPartnerCategory": "2",
        "OrganizationBPName1": f"Supplier {i} GmbH",
        "BusinessPartnerFullName": f"Supplier {i} Gesellschaft mbH",
        "BusinessPartnerIDByExtSystem": f"EXT-{i}",
        "BusinessPartnerIsBlocked": False,
    }
    for i in range(1, 6)
]
SUPPLIER_IDS = [p["BusinessPartner"] for p in PARTNERS if p["Supplier"]]
SUPPLIERS = [
    {"Supplier": p["Supplier"], "SupplierName": p["OrganizationBPName1"], "VATRegistration": f"DE00000000{n}"}
    for n, p in enumerate(PARTNERS)
    if p["Supplier"]
]
BANKS = [
    {
        "BusinessPartner": "10000001",
        "BankIdentification": "0001",
        "BankCountryKey": "DE",
        "IBAN": "DE89370400440532013000",
        "SWIFTCode": "COBADEFFXXX",
    }
]
ADDRESSES = [
    {
        "BusinessPartner": "10000001",
        "AddressID": "30000001",
        "StreetName": "Hauptstrasse",
        "HouseNumber": "12",
        "CityName": "Berlin",
        "PostalCode": "10115",
        "Country": "DE",
    }
]
INVOICE_ROWS = [
    {
        "SupplierInvoice": f"510560000{i}",
        "FiscalYear": "2025",
        "CompanyCode": "1010",
        "InvoicingParty": "10000001",
        "SupplierInvoiceIDByInvcgParty": f"INV-{i}",
        "DocumentCurrency": "EUR",
        "InvoiceGrossAmount": f"{i}19.01",
        "DocumentDate": "/Date(1740787200000)/",
        "PostingDate": "/Date(1740787200000)/",
        "SupplierInvoiceStatus": "5",
    }
    for i in range(1, 6)
]
INVOICE_ITEMS = [
    {
        "SupplierInvoice": row["SupplierInvoice"],
        "FiscalYear": "2025",
        "SupplierInvoiceItem": "1",
        "CompanyCode": "1010",
        "GLAccount": "0061000000",
        "DocumentCurrency": "EUR",
        "SupplierInvoiceItemAmount": f"{i}00.01",
        "DebitCreditCode": "S",
    }
    for i, row in enumerate(INVOICE_ROWS, start=1)
]


@pytest.fixture(scope="module")
def sap_server(fe_mockserver: FeMockserverFactory, tmp_path_factory: pytest.TempPathFactory) -> PeerServer:
    folder: Path = tmp_path_factory.mktemp("sap-peer")
    bp, invoices = folder / "bp", folder / "invoices"
    bp.mkdir()
    invoices.mkdir()
    for name, rows in {
        "A_BusinessPartner": PARTNERS,
        "A_Supplier": SUPPLIERS,
        "A_BusinessPartnerBank": BANKS,
        "A_BusinessPartnerAddress": ADDRESSES,
    }.items():
        (bp / f"{name}.json").write_text(json.dumps(rows))
    (invoices / "A_SupplierInvoice.json").write_text(json.dumps(INVOICE_ROWS))
    (invoices / "A_SupplierInvoiceItemGLAcct.json").write_text(json.dumps(INVOICE_ITEMS))
    (invoices / "A_SupplierInvoiceTax.json").write_text("[]")
    return fe_mockserver(
        {
            BP: "sap-s4hana/API_BUSINESS_PARTNER.edmx",
            INVOICES: "sap-s4hana/API_SUPPLIERINVOICE_PROCESS_SRV.edmx",
        },
        mockdata={BP: bp, INVOICES: invoices},
        page_size=PAGE,
        csrf=True,
        fresh=True,
    )


# Navigation property of a deep insert -> the entity set its entities go to.
CHILD_SETS = {
    "to_Supplier": "A_Supplier",
    "to_BusinessPartnerAddress": "A_BusinessPartnerAddress",
    "to_BusinessPartnerBank": "A_BusinessPartnerBank",
    "to_SupplierInvoiceItemGLAcct": "A_SupplierInvoiceItemGLAcct",
    "to_SupplierInvoiceTax": "A_SupplierInvoiceTax",
}


class GatewayCreates(httpx.BaseTransport):
    """What this test adds to fe-mockserver for creates, because SAP Gateway does it and the mock
    server does not (seen with @sap-ux/fe-mockserver-core as pinned in tests/peer):

    - S/4HANA numbers a new business partner itself (``BusinessPartner``; the supplier role gets
      the same number) and a posted supplier invoice (``SupplierInvoice`` and ``FiscalYear``), and
      the deep-inserted children inherit those keys. fe-mockserver stores a ``POST`` without its
      key properties keyless and then answers 500 to every read of the set, so the wrapper fills
      the keys in before forwarding the create.
    - fe-mockserver keeps deep-inserted children inside the parent row, and its V2 ``$expand``
      then fails (500) on any page after the first: it pairs the rows of a ``$skip``/``$top``
      slice with the unsliced rows by position. Gateway stores children in their own entity
      sets, so the wrapper does that: the parent's create, then one create per child in its set
      (with the same CSRF token and cookies), and it answers with the parent's 201.

    Everything else (paging, CSRF, filters, ``$expand``, ``MERGE``, ``DELETE``) is the mock
    server's and the harness's. It also records every request, to check the wire rules on them.
    """

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[httpx.Request] = []
        self._partners = itertools.count(17_400_001)
        self._invoices = itertools.count(5_100_000_001)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        path = request.url.path
        if request.method == "POST" and "X-HTTP-Method" not in request.headers:
            if path == f"{BP}/A_BusinessPartner":
                return self._deep_insert(request, BP, self._number_partner(json.loads(request.content)))
            if path == f"{INVOICES}/A_SupplierInvoice":
                return self._deep_insert(request, INVOICES, self._number_invoice(json.loads(request.content)))
        return self._forward(request, request.url, request.content)

    def _forward(self, request: httpx.Request, url: httpx.URL, content: bytes) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        return self.inner.handle_request(httpx.Request(request.method, url, headers=headers, content=content))

    def _deep_insert(self, request: httpx.Request, service: str, body: dict[str, Any]) -> httpx.Response:
        children = {nav: body.pop(nav) for nav in list(body) if nav in CHILD_SETS}
        parent = self._forward(request, request.url, json.dumps(body).encode())
        if parent.status_code != 201:
            return parent
        parent.read()
        for nav, value in children.items():
            items = value.get("results", [value]) if isinstance(value, dict) else value
            for item in items:
                url = request.url.copy_with(path=f"{service}/{CHILD_SETS[nav]}")
                child = self._forward(request, url, json.dumps(item).encode())
                if child.status_code != 201:
                    return child
                child.read()
        return parent

    def _number_partner(self, body: dict[str, Any]) -> dict[str, Any]:
        number = str(next(self._partners))
        body.update(BusinessPartner=number, Supplier=number)
        if isinstance(body.get("to_Supplier"), dict):
            body["to_Supplier"]["Supplier"] = number
        for index, address in enumerate(body.get("to_BusinessPartnerAddress", {}).get("results", [])):
            address.update(BusinessPartner=number, AddressID=f"3{number[1:]}{index}")
        for bank in body.get("to_BusinessPartnerBank", {}).get("results", []):
            bank["BusinessPartner"] = number
        return body

    def _number_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        keys = {"SupplierInvoice": str(next(self._invoices)), "FiscalYear": "2025"}
        body.update(keys)
        for nav in ("to_SupplierInvoiceItemGLAcct", "to_SupplierInvoiceTax"):
            for child in body.get(nav, {}).get("results", []):
                child.update(keys)
        return body

    def close(self) -> None:
        self.inner.close()


def _connect(server: PeerServer, transport: httpx.BaseTransport | None = None) -> fincon.Connector:
    return fincon.connect(
        "sap",
        base_url=server.base_url,
        user="PEER_USER",
        password="peer-password",  # the mock server checks no credentials
        sap_client="100",
        language="DE",
        share_limits=False,
        transport=transport,
    )


def test_vendors_list_in_server_driven_pages_with_filters_then_get(sap_server: PeerServer) -> None:
    wire = GatewayCreates()
    with _connect(sap_server, wire) as sap:
        pages = list(sap.vendors.list(page_size=10).pages())
        ids = [vendor.id for page in pages for vendor in page.items]
        assert ids == SUPPLIER_IDS  # the customer-only partner is filtered out
        assert [len(page.items) for page in pages if page.items] == [PAGE, PAGE]  # __next followed
        first = sap.vendors.get("10000001")
        assert (first.name, first.legal_name, first.external_id) == (
            "Supplier 1 GmbH",
            "Supplier 1 Gesellschaft mbH",
            "EXT-1",
        )
        assert [(b.iban, b.bic) for b in first.bank_accounts] == [("DE89370400440532013000", "COBADEFFXXX")]
        assert [(a.city, a.postal_code) for a in first.addresses] == [("Berlin", "10115")]
        assert [v.id for v in sap.vendors.list(filters={"name": "Supplier 4 GmbH"})] == ["10000004"]
        assert [v.id for v in sap.vendors.list(filters={"external_id": "EXT-5"})] == ["10000005"]
        with pytest.raises(fincon.NotFound):
            sap.vendors.get("19999999")
    followed = [r for r in wire.sent if "%24skiptoken" in str(r.url) or "$skiptoken" in str(r.url)]
    assert followed, "no request followed a __next link"
    assert all(r.url.params["sap-client"] == "100" for r in wire.sent)
    assert all(r.headers["sap-language"] == "DE" for r in wire.sent)


def test_vendor_create_update_and_block_behind_csrf(sap_server: PeerServer) -> None:
    # The harness enforces CSRF: a write without a token is refused, so the connector's must carry one.
    refused = httpx.post(f"{sap_server.base_url}{BP}/A_BusinessPartner", json={"OrganizationBPName1": "x"})
    assert (refused.status_code, refused.headers["x-csrf-token"]) == (403, "Required")
    wire = GatewayCreates()
    with _connect(sap_server, wire) as sap:
        created = sap.vendors.create(
            Vendor(
                name="Peer Supplies GmbH",
                external_id="PEER-V-1",
                tax_id="DE123456789",
                bank_accounts=[{"iban": "DE02120300000000202051", "country": "DE"}],
                addresses=[{"line1": "5 Ring", "city": "Bonn", "postal_code": "53111", "country": "DE"}],
            )
        )
        assert (created.name, created.external_id, created.tax_id) == (
            "Peer Supplies GmbH",
            "PEER-V-1",
            "DE123456789",
        )
        assert [b.iban for b in created.bank_accounts] == ["DE02120300000000202051"]
        assert [a.city for a in created.addresses] == ["Bonn"]
        updated = sap.vendors.update(created.id, {"name": "Peer Supplies 2 GmbH"})
        assert updated.name == "Peer Supplies 2 GmbH"
        assert sap.vendors.get(created.id).name == "Peer Supplies 2 GmbH"
        assert created.id in [v.id for v in sap.vendors.list()]
        sap.vendors.delete(created.id)  # S/4HANA blocks business partners rather than deleting them
        assert sap.vendors.get(created.id).status == "blocked"
    fetches = [r for r in wire.sent if r.headers.get("x-csrf-token", "").lower() == "fetch"]
    writes = [r for r in wire.sent if r.method == "POST"]
    assert len(fetches) == 1  # one token for the whole session
    assert len(writes) == 3
    assert all(r.headers["x-csrf-token"] not in ("", "Fetch") and "Cookie" in r.headers for r in writes)


def test_bills_list_get_create_and_delete(sap_server: PeerServer) -> None:
    wire = GatewayCreates()
    with _connect(sap_server, wire) as sap:
        listed = list(sap.bills.list(page_size=10))
        assert [b.id for b in listed[:5]] == [f"{r['SupplierInvoice']}/2025" for r in INVOICE_ROWS]
        totals = [Decimal(r["InvoiceGrossAmount"]) for r in INVOICE_ROWS]
        assert [b.total.amount for b in listed[:5]] == totals
        assert all(type(b.total.amount) is Decimal for b in listed)
        by_number = list(sap.bills.list(filters={"number": "INV-3"}))
        assert [b.id for b in by_number] == ["5105600003/2025"]
        third = sap.bills.get("5105600003/2025")
        assert (third.number, third.vendor, third.currency) == ("INV-3", Ref("10000001"), "EUR")
        assert [line.amount.amount for line in third.lines] == [Decimal("300.01")]
        created = sap.bills.create(
            Bill(
                vendor=Ref("10000002"),
                number="PEER-B-9",
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
        assert (created.number, created.total.amount) == ("PEER-B-9", Decimal("119.00"))
        assert [line.amount.amount for line in created.lines] == [Decimal("100.00")]
        assert sap.bills.get(created.id).number == "PEER-B-9"
        sap.bills.delete(created.id)
        with pytest.raises(fincon.NotFound):
            sap.bills.get(created.id)
    assert any(r.method == "DELETE" and "x-csrf-token" in r.headers for r in wire.sent)
