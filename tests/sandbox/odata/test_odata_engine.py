"""The OData engine on its own: V4 (Business Central's metadata) and V2 (SAP's), checked by the contract."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from fincon.sandbox import RecordSeed, SandboxTransport
from fincon.sandbox.odata import ODataEmulator, ODataService, parse_literal
from fincon.testing.specs import ODataContract, SpecCheckingTransport, require_spec

BC = "dynamics365-bc/api-v2.0/metadata.xml"
ROOT = "/v2.0/tenant/production/api/v2.0"


class _Plain(ODataEmulator):
    system = "odata-test"

    def credentials(self) -> dict[str, str]:
        return {}


def _vendor(seed: RecordSeed) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-0000-0000-{seed.index + 1:012d}",
        "number": f"V{seed.index:05d}",
        "displayName": seed.random.company_name(),
        "balance": Decimal("1234.50") + seed.index,
    }


def _bc(size: int = 25) -> tuple[_Plain, ODataService, httpx.Client]:
    emulator = _Plain(size=size)
    service = emulator.add_service(ROOT, require_spec(BC), max_page_size=10)
    service.seed("vendors", factory=_vendor, size=size)
    checking = SpecCheckingTransport(SandboxTransport(emulator), ODataContract(require_spec(BC)))
    return emulator, service, httpx.Client(transport=checking, base_url="https://bc.test")


def test_v4_collection_pages_with_next_links_and_counts() -> None:
    _, _, client = _bc()
    body = client.get(f"{ROOT}/vendors", params={"$count": "true"}).json()
    assert body["@odata.count"] == 25
    assert len(body["value"]) == 10
    seen = [v["number"] for v in body["value"]]
    while "@odata.nextLink" in body:
        body = client.get(body["@odata.nextLink"]).json()
        seen += [v["number"] for v in body["value"]]
    assert seen == [f"V{i:05d}" for i in range(25)]


def test_v4_decimals_are_exact_numbers_or_strings_under_ieee754() -> None:
    _, _, client = _bc()
    raw = client.get(f"{ROOT}/vendors", params={"$top": "1"}).content
    assert b'"balance":1234.50' in raw
    text = client.get(
        f"{ROOT}/vendors", params={"$top": "1"}, headers={"Accept": "application/json;IEEE754Compatible=true"}
    ).json()
    assert text["value"][0]["balance"] == "1234.50"


def test_v4_maxpagesize_preference_is_applied() -> None:
    _, _, client = _bc()
    response = client.get(f"{ROOT}/vendors", headers={"Prefer": "odata.maxpagesize=3"})
    assert len(response.json()["value"]) == 3
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=3"


def test_v4_filter_and_errors() -> None:
    emulator, _, client = _bc()
    found = client.get(
        f"{ROOT}/vendors", params={"$filter": "number eq 'V00007' or number eq 'V00009'"}
    ).json()
    assert [v["number"] for v in found["value"]] == ["V00007", "V00009"]
    # The contract would refuse this request before it is sent: go around it.
    bad = SandboxTransport(emulator).handle_request(
        httpx.Request("GET", f"https://bc.test{ROOT}/vendors", params={"$filter": "nosuch eq 1"})
    )
    bad.read()
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "INVALID_FILTER"


def test_v4_create_update_delete_with_etags() -> None:
    emulator, _, client = _bc()
    # The contract reads a 201 to a collection POST as a collection answer: the create goes around it.
    plain = httpx.Client(transport=SandboxTransport(emulator), base_url="https://bc.test")
    created = plain.post(
        f"{ROOT}/vendors",
        json={"id": "00000000-0000-0000-0000-00000000abcd", "number": "V99999", "displayName": "New"},
    )
    assert created.status_code == 201
    url = f"{ROOT}/vendors(00000000-0000-0000-0000-00000000abcd)"
    stale = client.patch(url, json={"displayName": "X"}, headers={"If-Match": 'W/"nope"'})
    assert stale.status_code == 412
    assert (
        client.patch(
            url, json={"displayName": "Renamed"}, headers={"If-Match": created.headers["ETag"]}
        ).status_code
        == 204
    )
    assert client.get(url).json()["displayName"] == "Renamed"
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_unknown_properties_are_refused_before_storing() -> None:
    emulator, service, _ = _bc()
    response = SandboxTransport(emulator).handle_request(
        httpx.Request("POST", f"https://bc.test{ROOT}/vendors", json={"number": "V1", "bogus": 1})
    )
    assert response.status_code == 400
    assert len(service.store("vendors")) == 25


@pytest.mark.parametrize(
    ("text", "v4", "value"),
    [
        ("'O''Brien'", False, "O'Brien"),
        ("12.50M", False, Decimal("12.50")),
        ("7L", False, 7),
        ("12.50", True, Decimal("12.50")),
    ],
)
def test_url_literals(text: str, v4: bool, value: Any) -> None:
    assert parse_literal(text, v4=v4) == value


def test_the_fragment_cache_serves_the_same_bytes_and_never_a_stale_expansion() -> None:
    from fincon.connectors.sap.sandbox import SapEmulator

    require_spec("sap-s4hana/API_BUSINESS_PARTNER.edmx")
    bp = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
    sap = SapEmulator(size=20, fragment_cache=1000)
    client = httpx.Client(
        transport=SandboxTransport(sap), base_url=sap.base_url, auth=(sap.user, sap.password)
    )
    params = {"sap-client": "100", "$expand": "to_BusinessPartnerBank", "$top": "5"}
    first = client.get(f"{bp}/A_BusinessPartner", params=params)
    assert client.get(f"{bp}/A_BusinessPartner", params=params).content == first.content
    cached = len(sap.service("API_BUSINESS_PARTNER")._fragments)
    assert cached == 5
    # A write to an expanded child changes neither the parent nor its updated_at.
    bank = sap.store("API_BUSINESS_PARTNER", "A_BusinessPartnerBank")
    record = bank.find(("10000001", "0001"))
    assert record is not None
    bank.update(record, {**record.data, "IBAN": "DE02120300000000202051"})
    again = client.get(f"{bp}/A_BusinessPartner", params=params).json()["d"]["results"]
    assert again[0]["to_BusinessPartnerBank"]["results"][0]["IBAN"] == "DE02120300000000202051"
    plain = SapEmulator(size=20)
    fresh = httpx.Client(
        transport=SandboxTransport(plain), base_url=plain.base_url, auth=(plain.user, plain.password)
    )
    assert fresh.get(f"{bp}/A_BusinessPartner", params=params).content == first.content


def test_a_served_emulator_turns_its_fragment_cache_on() -> None:
    from fincon.sandbox import serve

    emulator = _Plain(size=25)
    service = emulator.add_service(ROOT, require_spec(BC), max_page_size=10)
    service.seed("vendors", factory=_vendor, size=25)
    assert service.fragment_limit == 0
    with serve(emulator) as handle:
        assert service.fragment_limit >= 50
        body = httpx.get(f"{handle.base_url}{ROOT}/vendors").json()
        assert len(body["value"]) == 10
        assert httpx.get(f"{handle.base_url}{ROOT}/vendors").json() == body
    assert len(service._fragments) == 10
