"""The peer-server harness: Prism and fe-mockserver start, answer per the vendors' specs, and stop.

Every request here is plain httpx against a loopback server the fixtures started. Response shapes are
checked against the vendor's own document: OpenAPI schemas (via openapi-schema-validator) for Prism,
the EDMX entity types for fe-mockserver.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import harness
import httpx
import pytest
import yaml
from harness import (
    FeMockserverFactory,
    NodeTools,
    PeerServer,
    PeerServerError,
    PeerServerPool,
    PrismFactory,
    PrismSpec,
)
from lxml import etree
from openapi_schema_validator import OAS30Validator, oas30_format_checker

pytestmark = pytest.mark.peer

OBIE_AIS = "obie/v4.0/account-info-openapi.yaml"
BERLIN_GROUP = "berlin-group/psd2-api_v1.3.11-2021-10-01v1.yaml"
SAP_BP_EDMX = "sap-s4hana/API_BUSINESS_PARTNER.edmx"
BC_EDMX = "dynamics365-bc/api-v2.0/metadata.xml"
SAP_BP = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
BC_API = "/api/v2.0"
BC_COMPANY = "11111111-2222-3333-4444-555555555555"

SUPPLIERS = [
    {
        "Supplier": f"S{i:04d}",
        "SupplierName": f"Supplier {i}",
        "SupplierAccountGroup": "LIEF" if i % 3 else "KRED",
    }
    for i in range(1, 13)
]
VENDORS = [
    {"id": str(uuid.UUID(int=i)), "number": f"V{i:04d}", "displayName": f"Vendor {i}"} for i in range(1, 9)
]


# --- spec helpers -----------------------------------------------------------------------------------


@cache
def openapi_document(relpath: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with harness.spec_path(relpath).open("rb") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return document


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def assert_openapi_response(relpath: str, path: str, method: str, response: httpx.Response) -> None:
    """The response's status is declared for the operation and its JSON body matches the schema."""
    document = openapi_document(relpath)
    operation = document["paths"][path][method.lower()]
    declared = {str(status): spec for status, spec in operation["responses"].items()}  # YAML may give ints
    assert str(response.status_code) in declared, f"{response.status_code} not declared for {method} {path}"
    spec_response = _resolve(document, declared[str(response.status_code)])
    content = spec_response.get("content", {})
    media = next((m for m in content if m.split(";")[0].strip() == "application/json"), None)
    if media is None:
        assert not response.content, "spec declares no JSON body, server sent one"
        return
    schema = {"allOf": [content[media]["schema"]], "components": document.get("components", {})}
    errors = sorted(
        OAS30Validator(schema, format_checker=oas30_format_checker).iter_errors(response.json()),
        key=lambda error: list(error.path),
    )
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


@cache
def edm_entity_type(relpath: str, entity_type: str) -> dict[str, dict[str, str | None]]:
    """Property name -> {type, maxLength} for one EntityType, plus navigation properties (type 'nav')."""
    tree = etree.parse(str(harness.spec_path(relpath)))
    for element in tree.iter("{*}EntityType"):
        if element.get("Name") == entity_type:
            props: dict[str, dict[str, str | None]] = {
                p.get("Name"): {"type": p.get("Type"), "maxLength": p.get("MaxLength")}
                for p in element.iter("{*}Property")
            }
            props.update(
                {
                    n.get("Name"): {"type": "nav", "maxLength": None}
                    for n in element.iter("{*}NavigationProperty")
                }
            )
            return props
    raise AssertionError(f"EntityType {entity_type} not in {relpath}")


V2_DATETIME = re.compile(r"^/Date\(-?\d+([+-]\d{4})?\)/$")


def assert_odata_entity(
    record: Mapping[str, Any], props: Mapping[str, Mapping[str, str | None]], v2: bool
) -> None:
    """Every property exists in the EDMX; values of the types fe-mockserver renders faithfully match it.

    Not checked: Edm.Guid/Decimal/enum values, which fe-mockserver fills with "" / numbers when a row
    omits them (a real V4 server with IEEE754Compatible=true sends decimals as strings).
    """
    for name, value in record.items():
        if name == "__metadata" or name.startswith("@odata."):
            continue
        assert name in props, f"{name} is not a property of the entity type"
        edm_type, max_length = props[name]["type"], props[name]["maxLength"]
        if value is None or edm_type == "nav":
            continue
        if edm_type == "Edm.String":
            assert isinstance(value, str), f"{name}: {value!r} is not a string"
            if max_length and max_length.isdigit():
                assert len(value) <= int(max_length), f"{name}: longer than MaxLength {max_length}"
        elif edm_type == "Edm.Boolean":
            assert isinstance(value, bool), f"{name}: {value!r} is not a boolean"
        elif edm_type in ("Edm.DateTime", "Edm.DateTimeOffset") and v2:
            assert V2_DATETIME.match(value), f"{name}: {value!r} is not a V2 /Date()/ literal"
        elif edm_type == "Edm.DateTimeOffset":
            datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- Prism ------------------------------------------------------------------------------------------

OBIE_HEADERS = {
    "Authorization": "Bearer peer-test-token",
    "x-fapi-interaction-id": "93bac548-d2de-4546-b106-880a5018460d",
    "x-fapi-auth-date": "Sun, 10 Sep 2017 19:43:31 UTC",
}


PRISM_SPECS = {
    # Dynamic mode for OBIE: its static examples put "string" into pattern-constrained fields.
    "obie": PrismSpec(OBIE_AIS, dynamic=True),
    "berlin_group": PrismSpec(BERLIN_GROUP),
}


@pytest.fixture(scope="module")
def prisms(peer_servers: PeerServerPool) -> dict[str, PeerServer]:
    # Started together: each Prism spends seconds of CPU parsing its spec, so overlap saves wall time.
    return dict(zip(PRISM_SPECS, peer_servers.prism_many(list(PRISM_SPECS.values())), strict=True))


@pytest.fixture(scope="module")
def obie(prisms: dict[str, PeerServer]) -> PeerServer:
    return prisms["obie"]


def test_prism_obie_accounts_match_the_spec(obie: PeerServer, prism_server: PrismFactory) -> None:
    assert prism_server(OBIE_AIS, dynamic=True) is obie  # the factory fixture shares running servers
    response = httpx.get(f"{obie.base_url}/accounts", headers=OBIE_HEADERS)

    assert response.status_code == 200
    assert "sl-violations" not in response.headers, response.headers["sl-violations"]
    assert_openapi_response(OBIE_AIS, "/accounts", "GET", response)
    accounts = response.json()["Data"]["Account"]
    assert isinstance(accounts, list)
    assert accounts  # seeded generation: deterministic, and this seed yields accounts
    assert all(isinstance(account["AccountId"], str) and account["AccountId"] for account in accounts)
    assert set(response.json()) >= {"Data", "Links", "Meta"}


def test_prism_obie_account_balances_match_the_spec(obie: PeerServer) -> None:
    response = httpx.get(f"{obie.base_url}/accounts/acc-1/balances", headers=OBIE_HEADERS)

    assert response.status_code == 200
    assert_openapi_response(OBIE_AIS, "/accounts/{AccountId}/balances", "GET", response)
    balances = response.json()["Data"]["Balance"]
    assert balances
    for balance in balances:
        assert re.fullmatch(r"^\d{1,13}$|^\d{1,13}\.\d{1,5}$", balance["Amount"]["Amount"])
        assert re.fullmatch(r"^[A-Z]{3,3}$", balance["Amount"]["Currency"])


def test_prism_obie_enforces_the_spec_on_requests(obie: PeerServer) -> None:
    # The spec secures /accounts with PSUOAuth2Security: no token, no data.
    unauthenticated = httpx.get(f"{obie.base_url}/accounts")
    assert unauthenticated.status_code == 401

    bad_date = httpx.get(
        f"{obie.base_url}/accounts", headers={**OBIE_HEADERS, "x-fapi-auth-date": "yesterday"}
    )
    assert bad_date.status_code == 400
    violations = json.loads(bad_date.headers["sl-violations"])
    assert any("x-fapi-auth-date" in violation["message"] for violation in violations)


BG_HEADERS = {"X-Request-ID": "99391c7e-ad88-49ec-a2ad-99ddcb1f7721", "Consent-ID": "consent-1"}


def test_prism_berlin_group_accounts_and_transactions(prisms: dict[str, PeerServer]) -> None:
    server = prisms["berlin_group"]

    accounts = httpx.get(f"{server.base_url}/v1/accounts", headers=BG_HEADERS)
    assert accounts.status_code == 200
    assert accounts.headers["x-request-id"] == BG_HEADERS["X-Request-ID"]
    assert_openapi_response(BERLIN_GROUP, "/v1/accounts", "GET", accounts)
    assert all(account["currency"] for account in accounts.json()["accounts"])

    transactions = httpx.get(
        f"{server.base_url}/v1/accounts/acc-1/transactions",
        params={"bookingStatus": "booked"},
        headers=BG_HEADERS,
    )
    assert transactions.status_code == 200
    assert_openapi_response(BERLIN_GROUP, "/v1/accounts/{account-id}/transactions", "GET", transactions)
    assert isinstance(transactions.json()["transactions"]["booked"], list)

    # bookingStatus is required by the spec; Prism says which rule the request broke.
    missing = httpx.get(f"{server.base_url}/v1/accounts/acc-1/transactions", headers=BG_HEADERS)
    assert missing.status_code == 400
    assert "bookingstatus" in missing.headers["sl-violations"].lower()


# --- fe-mockserver: SAP S/4HANA Business Partner (OData V2) ------------------------------------------


@pytest.fixture(scope="module")
def mockdata(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Known rows, so list/filter/paging results can be asserted exactly."""
    sap = tmp_path_factory.mktemp("sap-mockdata")
    (sap / "A_Supplier.json").write_text(json.dumps(SUPPLIERS))
    bc = tmp_path_factory.mktemp("bc-mockdata")
    (bc / "vendors.json").write_text(json.dumps(VENDORS))
    company = {"id": BC_COMPANY, "name": "CRONUS", "displayName": "CRONUS Ltd", "vendors": VENDORS[:3]}
    (bc / "companies.json").write_text(json.dumps([company]))
    return {SAP_BP: sap, BC_API: bc}


@pytest.fixture(scope="module")
def sap(fe_mockserver: FeMockserverFactory, mockdata: dict[str, Path]) -> PeerServer:
    # Read-only tests share this one; it pages at 5 rows and enforces CSRF like SAP Gateway.
    return fe_mockserver({SAP_BP: SAP_BP_EDMX}, mockdata={SAP_BP: mockdata[SAP_BP]}, page_size=5, csrf=True)


def supplier_props() -> dict[str, dict[str, str | None]]:
    return edm_entity_type(SAP_BP_EDMX, "A_SupplierType")


def test_fe_sap_metadata_is_the_vendor_edmx(sap: PeerServer) -> None:
    response = httpx.get(f"{sap.base_url}{SAP_BP}/$metadata")

    assert response.status_code == 200
    assert response.content == harness.spec_path(SAP_BP_EDMX).read_bytes()


def test_fe_sap_list_with_top(sap: PeerServer) -> None:
    response = httpx.get(f"{sap.base_url}{SAP_BP}/A_Supplier", params={"$top": "3"})

    assert response.status_code == 200
    assert response.headers["dataserviceversion"] == "2.0"
    body = response.json()["d"]
    assert [row["Supplier"] for row in body["results"]] == ["S0001", "S0002", "S0003"]
    assert "__next" not in body  # $top 3 fits in one page of 5
    for row in body["results"]:
        assert row["__metadata"]["type"] == "API_BUSINESS_PARTNER.A_SupplierType"
        assert_odata_entity(row, supplier_props(), v2=True)


def test_fe_sap_get_by_key(sap: PeerServer) -> None:
    response = httpx.get(f"{sap.base_url}{SAP_BP}/A_Supplier('S0007')")

    assert response.status_code == 200
    supplier = response.json()["d"]
    assert supplier["Supplier"] == "S0007"
    assert supplier["SupplierName"] == "Supplier 7"
    assert_odata_entity(supplier, supplier_props(), v2=True)
    assert httpx.get(f"{sap.base_url}{SAP_BP}/A_Supplier('NOPE')").status_code == 404


def test_fe_sap_filter(sap: PeerServer) -> None:
    response = httpx.get(
        f"{sap.base_url}{SAP_BP}/A_Supplier",
        params={"$filter": "SupplierAccountGroup eq 'KRED'", "$select": "Supplier,SupplierAccountGroup"},
    )

    assert response.status_code == 200
    rows = response.json()["d"]["results"]
    assert [row["Supplier"] for row in rows] == ["S0003", "S0006", "S0009", "S0012"]
    assert {row["SupplierAccountGroup"] for row in rows} == {"KRED"}


def follow_pages(client: httpx.Client, url: str, params: Mapping[str, str], v2: bool) -> Iterator[list[Any]]:
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        page = body["d"] if v2 else body
        yield page["results" if v2 else "value"]
        next_link = page.get("__next" if v2 else "@odata.nextLink")
        if not next_link:
            return
        assert next_link.startswith(url), next_link  # absolute, on the same service and entity set
        response = client.get(next_link)


def test_fe_sap_server_driven_paging(sap: PeerServer) -> None:
    with httpx.Client() as client:
        url = f"{sap.base_url}{SAP_BP}/A_Supplier"
        pages = list(follow_pages(client, url, {"$select": "Supplier"}, v2=True))
        capped = list(follow_pages(client, url, {"$select": "Supplier", "$top": "7", "$skip": "2"}, v2=True))

    assert [len(page) for page in pages] == [5, 5, 2]
    assert [row["Supplier"] for page in pages for row in page] == [s["Supplier"] for s in SUPPLIERS]
    # The client's own $top/$skip window is honoured across pages.
    assert [len(page) for page in capped] == [5, 2]
    assert [row["Supplier"] for page in capped for row in page] == [s["Supplier"] for s in SUPPLIERS[2:9]]


def test_fe_sap_rejects_a_forged_skiptoken(sap: PeerServer) -> None:
    response = httpx.get(f"{sap.base_url}{SAP_BP}/A_Supplier", params={"$skiptoken": "x'; drop"})
    assert response.status_code == 400


def fetch_csrf(client: httpx.Client, service_root: str) -> str:
    response = client.get(service_root + "/", headers={"x-csrf-token": "Fetch"})
    assert response.status_code == 200
    token = response.headers["x-csrf-token"]
    assert token
    assert token.lower() not in ("fetch", "required")
    return token


def test_fe_sap_csrf_enforced(sap: PeerServer) -> None:
    root = f"{sap.base_url}{SAP_BP}"
    new = {"Supplier": "CSRF1", "SupplierName": "Never created"}
    with httpx.Client() as client:
        no_token = client.post(f"{root}/A_Supplier", json=new)
        assert no_token.status_code == 403
        assert no_token.headers["x-csrf-token"] == "Required"

        token = fetch_csrf(client, root)
        assert "SAP_SESSIONID_MCK_100" in client.cookies
        wrong = client.post(f"{root}/A_Supplier", json=new, headers={"x-csrf-token": token[::-1]})
        assert wrong.status_code == 403
        merge = client.post(
            f"{root}/A_Supplier('S0001')", json={}, headers={"x-http-method": "MERGE", "x-csrf-token": "nope"}
        )
        assert merge.status_code == 403

    # The token is bound to the session cookie: without the cookie it is worthless.
    with httpx.Client() as other:
        stolen = other.post(f"{root}/A_Supplier", json=new, headers={"x-csrf-token": token})
        assert stolen.status_code == 403
        assert other.get(f"{root}/A_Supplier('CSRF1')").status_code == 404

    # HEAD on the service root is how UI5 and SAP's SDKs fetch it; it must work too.
    with httpx.Client() as head_client:
        head = head_client.head(root + "/", headers={"x-csrf-token": "fetch"})
        assert head.headers.get("x-csrf-token") not in (None, "", "Required")


def test_fe_sap_create_read_merge_delete(sap: PeerServer) -> None:
    # Runs on the shared server: it deletes what it creates, and comes after the exact-listing tests.
    root = f"{sap.base_url}{SAP_BP}"
    with httpx.Client() as client:
        token = fetch_csrf(client, root)
        headers = {"x-csrf-token": token}

        created = client.post(
            f"{root}/A_Supplier",
            json={"Supplier": "FINCON1", "SupplierName": "Fincon Ltd"},
            headers=headers,
        )
        assert created.status_code == 201
        assert created.json()["d"]["Supplier"] == "FINCON1"
        assert_odata_entity(created.json()["d"], supplier_props(), v2=True)

        merged = client.post(
            f"{root}/A_Supplier('FINCON1')",
            json={"SupplierName": "Fincon plc"},
            headers={**headers, "x-http-method": "MERGE"},
        )
        assert merged.status_code in (200, 204)
        patched = client.patch(
            f"{root}/A_Supplier('FINCON1')", json={"SupplierAccountGroup": "KRED"}, headers=headers
        )
        assert patched.status_code in (200, 204)
        read = client.get(f"{root}/A_Supplier('FINCON1')").json()["d"]
        assert (read["SupplierName"], read["SupplierAccountGroup"]) == ("Fincon plc", "KRED")
        listed = client.get(f"{root}/A_Supplier", params={"$filter": "Supplier eq 'FINCON1'"})
        assert [row["Supplier"] for row in listed.json()["d"]["results"]] == ["FINCON1"]

        deleted = client.delete(f"{root}/A_Supplier('FINCON1')", headers=headers)
        assert deleted.status_code == 204
        assert client.get(f"{root}/A_Supplier('FINCON1')").status_code == 404


# --- fe-mockserver: Dynamics 365 Business Central API v2.0 (OData V4) --------------------------------


@pytest.fixture(scope="module")
def bc(fe_mockserver: FeMockserverFactory, mockdata: dict[str, Path]) -> PeerServer:
    return fe_mockserver({BC_API: BC_EDMX}, mockdata={BC_API: mockdata[BC_API]}, page_size=3)


def vendor_props() -> dict[str, dict[str, str | None]]:
    return edm_entity_type(BC_EDMX, "vendor")


def test_fe_bc_list_get_filter(bc: PeerServer) -> None:
    root = f"{bc.base_url}{BC_API}"
    listed = httpx.get(f"{root}/vendors", params={"$top": "2"})
    assert listed.status_code == 200
    assert listed.headers["odata-version"] == "4.0"
    body = listed.json()
    assert body["@odata.context"].endswith("$metadata#vendors")
    assert [v["number"] for v in body["value"]] == ["V0001", "V0002"]
    for vendor in body["value"]:
        assert_odata_entity(vendor, vendor_props(), v2=False)

    one = httpx.get(f"{root}/vendors({VENDORS[4]['id']})")
    assert one.status_code == 200
    assert one.json()["number"] == "V0005"

    filtered = httpx.get(f"{root}/vendors", params={"$filter": "displayName eq 'Vendor 6'"})
    assert [v["id"] for v in filtered.json()["value"]] == [VENDORS[5]["id"]]

    # BC's real URLs go through the company: vendors are a contained navigation of companies.
    contained = httpx.get(f"{root}/companies({BC_COMPANY})/vendors", params={"$select": "number"})
    assert [v["number"] for v in contained.json()["value"]] == ["V0001", "V0002", "V0003"]


def test_fe_bc_next_link_paging(bc: PeerServer) -> None:
    url = f"{bc.base_url}{BC_API}/vendors"
    with httpx.Client() as client:
        pages = list(follow_pages(client, url, {"$select": "number"}, v2=False))
        preferred = client.get(url, params={"$select": "number"}, headers={"Prefer": "odata.maxpagesize=2"})

    assert [len(page) for page in pages] == [3, 3, 2]
    assert [v["number"] for page in pages for v in page] == [v["number"] for v in VENDORS]
    assert len(preferred.json()["value"]) == 2
    assert preferred.headers["preference-applied"] == "odata.maxpagesize=2"
    assert "$skiptoken=2" in preferred.json()["@odata.nextLink"]


def test_fe_bc_create_patch_delete(bc: PeerServer) -> None:
    root = f"{bc.base_url}{BC_API}"
    new_id = "0000000a-0000-0000-0000-0000000000aa"
    created = httpx.post(f"{root}/vendors", json={"id": new_id, "number": "V9999", "displayName": "New"})
    assert created.status_code == 201
    assert created.json()["id"] == new_id
    assert_odata_entity(created.json(), vendor_props(), v2=False)

    patched = httpx.patch(
        f"{root}/vendors({new_id})", json={"displayName": "Renamed"}, headers={"If-Match": "*"}
    )
    assert patched.status_code == 200
    assert httpx.get(f"{root}/vendors({new_id})").json()["displayName"] == "Renamed"

    assert httpx.delete(f"{root}/vendors({new_id})").status_code == 204
    assert httpx.get(f"{root}/vendors({new_id})").status_code == 404


# --- the $filter memory leak ------------------------------------------------------------------------

LEAK_REQUESTS = 60


def run_filters(server: PeerServer) -> tuple[dict[str, Any], dict[str, Any]]:
    def filter_nobody(client: httpx.Client, name: str) -> None:
        response = client.get(
            f"{SAP_BP}/A_Supplier", params={"$filter": f"SupplierName eq '{name}'", "$top": "5"}
        )
        assert response.status_code == 200
        assert response.json()["d"]["results"] == []

    with httpx.Client(base_url=server.base_url) as client:
        # Warm-up: the first $filter requests grow the heap by ~1.5 MB of JIT code and caches, leak or not.
        for i in range(10):
            filter_nobody(client, f"warm-up {i}")
        before = client.get("/__debug/diagnostics-length").json()
        for i in range(LEAK_REQUESTS):
            filter_nobody(client, f"nobody {i}")
        after = client.get("/__debug/diagnostics-length").json()
    return before, after


def test_fe_filter_leak_is_neutralised(fe_mockserver: FeMockserverFactory) -> None:
    fixed = fe_mockserver({SAP_BP: SAP_BP_EDMX}, debug_endpoints=True, fresh=True)
    leaky = fe_mockserver({SAP_BP: SAP_BP_EDMX}, debug_endpoints=True, leak_fix=False, fresh=True)
    try:
        fixed_before, fixed_after = run_filters(fixed)
        leaky_before, leaky_after = run_filters(leaky)
    finally:
        fixed.stop()
        leaky.stop()

    assert fixed_after["afterGc"]
    assert leaky_after["afterGc"]
    # Unpatched, each $filter over the 150 generated rows appends to `diagnostics` for good ...
    assert leaky_after["total"] - leaky_before["total"] >= LEAK_REQUESTS * 150
    # ... and with the wrapper's fix the array stops at its cap while the same code path keeps running.
    assert fixed_after["total"] <= fixed_after["cap"]
    dropped = fixed_after["services"][SAP_BP]["dropped"] - fixed_before["services"][SAP_BP]["dropped"]
    assert dropped >= LEAK_REQUESTS * 150
    fixed_growth = fixed_after["heapUsed"] - fixed_before["heapUsed"]
    leaky_growth = leaky_after["heapUsed"] - leaky_before["heapUsed"]
    growth = (
        f"heap growth over {LEAK_REQUESTS} $filter requests: fixed {fixed_growth}, unfixed {leaky_growth}"
    )
    assert fixed_growth < 2_500_000, growth  # measured ~0.7 MB after warm-up
    assert leaky_growth > fixed_growth + 5_000_000, growth  # measured ~10.7 MB


# --- lifecycle: readiness failures, teardown, installs -----------------------------------------------


def test_start_failure_reports_output_and_leaves_no_process(node_tools: NodeTools, tmp_path: Path) -> None:
    broken = tmp_path / "broken.edmx"
    broken.write_text("this is not EDMX")

    with pytest.raises(PeerServerError, match="exited with code") as raised:
        harness.start_fe_mockserver(node_tools, {"/broken": broken})

    assert "failed to start" in str(raised.value)  # the server's own output tail is in the error
    assert raised.value.pid is not None
    assert not harness.pid_alive(raised.value.pid)


def test_readiness_timeout_stops_the_server(node_tools: NodeTools) -> None:
    edmx = harness.spec_path(SAP_BP_EDMX)
    with pytest.raises(PeerServerError, match=r"not ready after") as raised:
        harness.start_fe_mockserver(node_tools, {SAP_BP: edmx}, timeout=0.0)

    assert raised.value.pid is not None
    assert not harness.pid_alive(raised.value.pid)


INNER_TESTS = """
import os
from pathlib import Path

import httpx

BP = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
SERVICES = {BP: "sap-s4hana/API_BUSINESS_PARTNER.edmx"}


def record(server, name):
    (Path(os.environ["PEER_PID_DIR"]) / name).write_text(str(server.pid))
    assert httpx.get(server.base_url + BP + "/$metadata").status_code == 200


def test_passes(fe_mockserver):
    record(fe_mockserver(SERVICES), "shared")


def test_fails(fe_mockserver):
    record(fe_mockserver(SERVICES, fresh=True), "fresh")
    raise AssertionError("deliberate failure: teardown must still stop both servers")
"""


def test_fixture_teardown_stops_the_servers(node_tools: NodeTools, tmp_path: Path) -> None:
    """Run the real fixtures in a child pytest session with a failing test; afterwards no server is left."""
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(harness.PEER_DIR), os.environ.get("PYTHONPATH")])),
        "PEER_PID_DIR": str(tmp_path),
    }
    # -p conftest loads tests/peer/conftest.py (found via PYTHONPATH) as a plugin; the fincon plugin and
    # the cache are not needed and should not write anything.
    plugins = ["-p", "no:fincon", "-p", "conftest", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, "-q", str(tmp_path / "test_inner.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 failed, 1 passed" in output, output
    pids = [int((tmp_path / name).read_text()) for name in ("shared", "fresh")]
    assert pids[0] != pids[1]
    assert [pid for pid in pids if harness.pid_alive(pid)] == [], "fe-mockserver outlived the child session"


def test_pool_close_stops_everything(node_tools: NodeTools) -> None:
    pool = harness.PeerServerPool(node_tools)
    server = pool.fe_mockserver({SAP_BP: SAP_BP_EDMX})
    assert pool.fe_mockserver({SAP_BP: SAP_BP_EDMX}) is server  # identical requests share a server
    assert server.alive()

    pool.close()

    assert not harness.pid_alive(server.pid)
    assert not harness.process_group_alive(server.pid)
    with pytest.raises(httpx.TransportError):
        httpx.get(server.base_url + "/", timeout=2.0)
    with pytest.raises(PeerServerError, match="closed"):
        pool.fe_mockserver({SAP_BP: SAP_BP_EDMX})


def test_node_missing_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no node, no npm
    reason = harness.find_node()
    assert isinstance(reason, str)
    assert "node" in reason
    assert "not found" in reason

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not found"):
        harness.require_node()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        harness.require_node()


def test_install_marker_tracks_the_lockfile(
    node_tools: NodeTools, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert harness.node_modules_current()  # the session fixture ran `npm ci` if it had to
    marker = tmp_path / "marker"
    monkeypatch.setattr(harness, "INSTALL_MARKER", marker)
    assert not harness.node_modules_current()  # never installed
    marker.write_text("0" * 64)
    assert not harness.node_modules_current()  # installed from another lockfile
    marker.write_text(harness._lock_digest())
    assert harness.node_modules_current()
