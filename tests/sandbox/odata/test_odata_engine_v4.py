"""The engine's V4 features, on Business Central's v2.0 metadata with a tiny generic seed:
containment paths, nested ``$expand``, joins by referential constraint, deep insert, bound
actions, JSON ``$batch`` with atomicity groups, ``Prefer``, a required ``If-Match``, write hooks,
``Capabilities`` annotations, enum members, and ``$filter`` type mismatches (400, never 500).
No Dynamics code is involved: this is the engine alone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from fincon.sandbox import IdScheme, Record, RecordSeed, SandboxTransport
from fincon.sandbox.odata import ODataEmulator, ODataError, ODataService, WriteHooks, read_schema
from fincon.testing.specs import require_spec

BC = "dynamics365-bc/api-v2.0/metadata.xml"
ROOT = "/api/v2.0"
COMPANY = "00000000-0000-0000-0000-000000000001"
INVOICE = "00000000-0000-0000-0001-000000000001"
LINE = "00000000-0000-0000-0002-000000000001"


class _Plain(ODataEmulator):
    system = "odata-v4-test"

    def credentials(self) -> dict[str, str]:
        return {}


class _Totals(WriteHooks):
    """A document's total is the sum of its lines' quantities x unit costs (server-computed)."""

    def prepare(
        self,
        service: ODataService,
        entity_set: str,
        entity: dict[str, Any],
        current: Record[dict[str, Any]] | None,
        sent: frozenset[str],
    ) -> dict[str, Any]:
        if "totalAmountExcludingTax" in sent:
            raise ODataError(400, "READ_ONLY", "totalAmountExcludingTax is computed", target="x")
        if entity_set == "purchaseInvoiceLines":
            quantity, cost = entity.get("quantity") or 0, entity.get("unitCost") or 0
            entity["amountExcludingTax"] = Decimal(quantity) * Decimal(cost)
        return entity

    def written(self, service: ODataService, entity_set: str, record: Record[dict[str, Any]]) -> None:
        if entity_set != "purchaseInvoiceLines":
            return
        invoices = service.store("purchaseInvoices")
        invoice = invoices.find((record.data["documentId"],))
        assert invoice is not None
        lines = service.store("purchaseInvoiceLines").matching({"documentId": invoice.data["id"]})
        total = sum((line.data["amountExcludingTax"] for line in lines), Decimal(0))
        invoices.update(invoice, {**invoice.data, "totalAmountExcludingTax": total})


def _ids(family: int) -> IdScheme:
    """GUID-shaped ids: the seeded entity's id is its key, so it is found by key."""
    return IdScheme(f"00000000-0000-0000-{family:04x}-", 12)


def _guid(family: int, index: int) -> str:
    return _ids(family).format(index)


def _engine() -> tuple[_Plain, ODataService, httpx.Client]:
    emulator = _Plain(size=3)
    schema = read_schema(require_spec(BC))
    service = emulator.add_service(ROOT, schema, max_page_size=2)
    service.seed("companies", factory=lambda s: {"id": s.id, "name": "C1"}, size=1, ids=_ids(0))
    service.seed("vendors", factory=lambda s: {"id": s.id, "number": f"V{s.index}"}, size=3, ids=_ids(9))

    def invoice(seed: RecordSeed) -> dict[str, Any]:
        return {
            "id": _guid(1, seed.index),
            "number": f"PI{seed.index}",
            "vendorNumber": "V0",
            "payToVendorNumber": "V0",
            "vendorId": _guid(9, 0),
            "status": "Draft",
            "totalAmountExcludingTax": Decimal("30.00"),
        }

    def line(seed: RecordSeed) -> dict[str, Any]:
        return {
            "id": _guid(2, seed.index),
            "documentId": _guid(1, seed.index // 2),
            "sequence": 10000 * (seed.index % 2 + 1),
            "quantity": Decimal(3),
            "unitCost": Decimal("5.00"),
            "amountExcludingTax": Decimal("15.00"),
        }

    def dimension(seed: RecordSeed) -> dict[str, Any]:
        return {
            "id": _guid(3, seed.index),
            "code": "DEPT",
            "valueCode": "ADM",
            "parentId": _guid(2, seed.index),
        }

    service.seed("purchaseInvoices", factory=invoice, size=3, ids=_ids(1))
    service.seed("purchaseInvoiceLines", factory=line, size=6, ids=_ids(2))
    service.seed("dimensionSetLines", factory=dimension, size=6, ids=_ids(3))
    service.hooks = _Totals()
    service.require_if_match = True
    client = httpx.Client(transport=SandboxTransport(emulator), base_url="https://bc.test")
    return emulator, service, client


def _company(path: str) -> str:
    return f"{ROOT}/companies({COMPANY})/{path}"


def test_containment_paths_of_three_segments_and_more() -> None:
    _, _, client = _engine()
    vendors = client.get(_company("vendors")).json()
    assert [v["number"] for v in vendors["value"]] == ["V0", "V1"]  # server-driven paging: 2 a page
    assert client.get(vendors["@odata.nextLink"]).json()["value"][0]["number"] == "V2"
    one = client.get(_company(f"vendors({_guid(9, 1)})"))
    assert one.status_code == 200
    assert one.json()["number"] == "V1"
    lines = client.get(_company(f"purchaseInvoices({INVOICE})/purchaseInvoiceLines")).json()
    assert [line["id"] for line in lines["value"]] == [_guid(2, 0), _guid(2, 1)]
    deep = client.get(_company(f"purchaseInvoices({INVOICE})/purchaseInvoiceLines({LINE})/dimensionSetLines"))
    assert [d["parentId"] for d in deep.json()["value"]] == [LINE]
    assert client.get(_company(f"purchaseInvoices({INVOICE})/purchaseInvoiceLines/$count")).text == "2"
    # A line of another invoice is not reached through this one.
    other = client.get(_company(f"purchaseInvoices({INVOICE})/purchaseInvoiceLines({_guid(2, 2)})"))
    assert other.status_code == 404
    # Keys are GUIDs, compared without regard to case.
    assert client.get(_company(f"vendors({_guid(9, 1).upper()})")).status_code == 200
    assert client.get(f"{ROOT}/companies(00000000-0000-0000-0000-000000000bad)/vendors").status_code == 404


def test_nested_expand_options_and_joins_by_referential_constraint() -> None:
    _, _, client = _engine()
    body = client.get(
        _company(f"purchaseInvoices({INVOICE})"),
        params={"$expand": "purchaseInvoiceLines($expand=dimensionSetLines;$select=id,quantity),vendor"},
    ).json()
    lines = body["purchaseInvoiceLines"]
    assert [line["id"] for line in lines] == [_guid(2, 0), _guid(2, 1)]  # joined on documentId = id
    assert set(lines[0]) == {"@odata.etag", "id", "quantity", "dimensionSetLines"}
    assert lines[1]["dimensionSetLines"][0]["parentId"] == _guid(2, 1)  # joined on parentId = id
    assert body["vendor"]["id"] == _guid(9, 0)  # vendorId -> id
    top = client.get(
        _company(f"purchaseInvoices({INVOICE})"),
        params={"$expand": "purchaseInvoiceLines($filter=sequence eq 20000;$top=1)"},
    ).json()
    assert [line["sequence"] for line in top["purchaseInvoiceLines"]] == [20000]
    for bad in ("purchaseInvoiceLines($orderby=sequence)", "purchaseInvoiceLines($expand=nope)", "lines"):
        answer = client.get(_company("purchaseInvoices"), params={"$expand": bad})
        assert answer.status_code == 400, bad


def test_deep_insert_joins_children_and_hooks_compute_totals() -> None:
    _, service, client = _engine()
    created = client.post(
        _company("purchaseInvoices"),
        json={
            "number": "PI-NEW",
            "vendorNumber": "V1",
            "payToVendorNumber": "V1",
            "purchaseInvoiceLines": [
                {
                    "quantity": 2,
                    "unitCost": "10.25",
                    "dimensionSetLines": [{"code": "DEPT", "valueCode": "X"}],
                },
                {"quantity": 1, "unitCost": "0.50"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["Location"].endswith(f"/companies({COMPANY})/purchaseInvoices({body['id']})")
    assert body["totalAmountExcludingTax"] == Decimal("21.00")  # computed by the hook, after the lines
    lines = body["purchaseInvoiceLines"]
    assert {line["documentId"] for line in lines} == {body["id"]}
    stored = service.store("dimensionSetLines").matching({"parentId": lines[0]["id"]})
    assert [record.data["valueCode"] for record in stored] == ["X"]
    refused = client.post(
        _company("purchaseInvoices"), json={"vendorNumber": "V1", "totalAmountExcludingTax": 1}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["target"] == "x"


def test_patch_needs_if_match_and_may_return_the_representation() -> None:
    _, _, client = _engine()
    url = _company(f"vendors({_guid(9, 0)})")
    assert client.patch(url, json={"displayName": "No ETag"}).status_code == 428
    etag = client.get(url).headers["ETag"]
    assert (
        client.patch(url, json={"displayName": "Stale"}, headers={"If-Match": 'W/"old"'}).status_code == 412
    )
    answer = client.patch(
        url, json={"displayName": "Fresh"}, headers={"If-Match": etag, "Prefer": "return=representation"}
    )
    assert answer.status_code == 200
    assert answer.json()["displayName"] == "Fresh"
    assert answer.headers["Preference-Applied"] == "return=representation"
    assert answer.headers["ETag"] != etag
    plain = client.patch(url, json={"displayName": "Quiet"}, headers={"If-Match": "*"})
    assert plain.status_code == 204
    assert not plain.content
    assert client.delete(url).status_code == 428


def test_bound_actions_run_their_handler_and_undeclared_ones_are_404() -> None:
    _, service, client = _engine()
    posted: list[str] = []

    def post(svc: ODataService, entity_set: str, record: Record[dict[str, Any]], body: Any) -> None:
        posted.append(record.data["id"])
        svc.store(entity_set).update(record, {**record.data, "status": "Open"})

    service.bind_action("Microsoft.NAV.purchaseInvoice", "post", post)
    answer = client.post(_company(f"purchaseInvoices({INVOICE})/Microsoft.NAV.post"))
    assert answer.status_code == 204
    assert posted == [INVOICE]
    assert client.get(_company(f"purchaseInvoices({INVOICE})")).json()["status"] == "Open"
    assert (
        client.post(_company(f"purchaseInvoices({INVOICE})/Microsoft.NAV.shipAndInvoice")).status_code == 404
    )
    assert client.post(_company(f"vendors({_guid(9, 0)})/Microsoft.NAV.post")).status_code == 404
    # Declared in the metadata, but no handler: not emulated.
    assert client.post(_company(f"salesInvoices({INVOICE})/Microsoft.NAV.post")).status_code in (404, 501)
    assert client.get(_company(f"purchaseInvoices({INVOICE})/Microsoft.NAV.post")).status_code == 405
    with pytest.raises(ValueError, match="declares no action"):
        service.bind_action("Microsoft.NAV.vendor", "post", post)


def test_json_batch_runs_each_request_and_rolls_back_a_failed_atomicity_group() -> None:
    _, service, client = _engine()
    vendors = service.store("vendors")
    before = len(vendors)
    requests = [
        {"id": "1", "method": "GET", "url": f"companies({COMPANY})/vendors({_guid(9, 0)})"},
        {
            "id": "2",
            "method": "POST",
            "url": f"companies({COMPANY})/vendors",
            "body": {"number": "V-KEPT"},
            "atomicityGroup": "a",
        },
        {
            "id": "3",
            "method": "POST",
            "url": f"companies({COMPANY})/vendors",
            "body": {"number": "V-ROLLED-BACK"},
            "atomicityGroup": "b",
        },
        {
            "id": "4",
            "method": "PATCH",
            "url": f"companies({COMPANY})/vendors({_guid(9, 1)})",
            "body": {"displayName": "not applied either"},
            "headers": {"If-Match": "*"},
            "atomicityGroup": "b",
        },
        {
            "id": "5",
            "method": "POST",
            "url": f"companies({COMPANY})/vendors",
            "body": {"bogus": 1},
            "atomicityGroup": "b",
        },
        {"id": "6", "method": "GET", "url": "$2", "dependsOn": ["2"]},
        {"id": "7", "method": "GET", "url": "$3", "dependsOn": ["3"]},
    ]
    answer = client.post(f"{ROOT}/$batch", json={"requests": requests})
    assert answer.status_code == 200
    responses = {entry["id"]: entry for entry in answer.json()["responses"]}
    assert [responses[str(n)]["status"] for n in range(1, 8)] == [200, 201, 400, 400, 400, 200, 424]
    assert responses["6"]["body"]["number"] == "V-KEPT"
    numbers = [record.data.get("number") for record in vendors.iter()]
    assert "V-KEPT" in numbers
    assert "V-ROLLED-BACK" not in numbers
    assert len(vendors) == before + 1
    assert vendors.find((_guid(9, 1),)).data.get("displayName") is None  # type: ignore[union-attr]
    too_many = [{"id": str(n), "method": "GET", "url": "companies"} for n in range(3)]
    service.max_batch_requests = 2
    assert client.post(f"{ROOT}/$batch", json={"requests": too_many}).status_code == 400
    assert (
        client.post(
            f"{ROOT}/$batch", content=b"--b\r\n", headers={"Content-Type": "multipart/mixed"}
        ).status_code
        == 501
    )


def test_capabilities_enums_and_filter_type_mismatches_are_400_not_500() -> None:
    _, service, client = _engine()
    # accounts: Insertable="false" in BC's metadata.
    assert client.post(_company("accounts"), json={"number": "1"}).status_code == 405
    bad_enum = client.patch(
        _company(f"purchaseInvoices({INVOICE})"), json={"status": "Shipped"}, headers={"If-Match": "*"}
    )
    assert bad_enum.status_code == 400
    assert "invoiceEntityAggregateStatus" in bad_enum.json()["error"]["message"]
    assert (
        client.patch(
            _company(f"vendors({_guid(9, 0)})"), json={"currencyId": "not-a-guid"}, headers={"If-Match": "*"}
        ).status_code
        == 400
    )
    service.store("purchaseInvoices").update(
        service.store("purchaseInvoices").find((INVOICE,)),  # type: ignore[arg-type]
        {**service.store("purchaseInvoices").find((INVOICE,)).data, "postingDate": "2024-01-01"},  # type: ignore[union-attr]
    )
    for text in (
        "postingDate ge '2024-01-01'",  # a date against a string: refused when read
        "number gt 5",  # a string against a number
        "totalAmountExcludingTax eq 'ten'",
    ):
        answer = client.get(_company("purchaseInvoices"), params={"$filter": text})
        assert answer.status_code == 400, text
        assert answer.json()["error"]["code"] == "INVALID_FILTER"
    # A stored value of the wrong type meets a well-typed literal while filtering: still a 400.
    answer = client.get(_company("purchaseInvoices"), params={"$filter": "postingDate ge 2024-01-01"})
    assert answer.status_code == 400
    assert "cannot compare" in answer.json()["error"]["message"]
