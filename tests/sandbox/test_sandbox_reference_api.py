"""The reference emulator's REST API: listing, records, writes, validation, idempotency."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from fincon.core.clock import FakeClock
from fincon.sandbox import SandboxTransport
from fincon.testing.reference import ReferenceEmulator

ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
AMOUNT = re.compile(r"-?\d+(\.\d+)?")


def page_through(client: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        query = dict(params)
        if after is not None:
            query["starting_after"] = after
        body = client.get(path, params=query).raise_for_status().json()
        assert body["object"] == "list"
        records.extend(body["data"])
        if not body["has_more"]:
            return records
        after = body["data"][-1]["id"]


def test_listing_pages_through_everything_once_in_order(
    client: httpx.Client, reference: ReferenceEmulator
) -> None:
    vendors = page_through(client, "/v1/vendors", limit="7")
    ids = [vendor["id"] for vendor in vendors]
    assert len(ids) == reference.size == len(set(ids))
    assert ids == sorted(ids)
    assert ids[0] == "ven_00000001"
    created = [vendor["created"] for vendor in vendors]
    assert created == sorted(created)


def test_default_and_bounds_of_limit(client: httpx.Client) -> None:
    assert len(client.get("/v1/bills").json()["data"]) == 10
    assert len(client.get("/v1/bills", params={"limit": "100"}).json()["data"]) == 50
    for bad in ("0", "101", "ten", "-1"):
        response = client.get("/v1/bills", params={"limit": bad})
        assert response.status_code == 400
        assert response.json()["error"] == {
            "type": "invalid_request_error",
            "param": "limit",
            "message": "Invalid limit: must be an integer between 1 and 100.",
        }


def test_unknown_query_parameters_and_cursors_are_refused(client: httpx.Client) -> None:
    unknown = client.get("/v1/vendors", params={"page": "2"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "page"
    cursor = client.get("/v1/vendors", params={"starting_after": "bill_00000001"})
    assert cursor.status_code == 400
    assert cursor.json()["error"]["param"] == "starting_after"


def test_vendor_shape(client: httpx.Client) -> None:
    vendor = client.get("/v1/vendors/ven_00000001").json()
    assert vendor["id"] == "ven_00000001"
    assert vendor["object"] == "vendor"
    assert vendor["status"] in ("active", "inactive")
    assert re.fullmatch(r"[A-Z]{3}", vendor["currency"])
    assert "@" in vendor["email"]
    assert ISO_Z.fullmatch(vendor["updated_at"])
    assert ISO_Z.fullmatch(vendor["created"])
    assert {"line1", "city", "postal_code", "country"} <= set(vendor["address"])


def test_bill_amounts_are_exact_decimal_strings_that_add_up(client: httpx.Client) -> None:
    bills = client.get("/v1/bills", params={"limit": "100"}).json()["data"]
    for bill in bills:
        places = {"JPY": 0}.get(bill["currency"], 2)
        for field in ("subtotal", "tax", "total", "balance"):
            assert isinstance(bill[field], str)
            assert AMOUNT.fullmatch(bill[field])
            assert -Decimal(bill[field]).as_tuple().exponent == places  # type: ignore[operator]
        lines = bill["lines"]
        assert lines
        for line in lines:
            assert set(line) == {"description", "quantity", "unit_price", "amount", "account"}
            exact = Decimal(line["quantity"]) * Decimal(line["unit_price"])
            assert Decimal(line["amount"]) == exact.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        assert sum(Decimal(line["amount"]) for line in lines) == Decimal(bill["subtotal"])
        assert Decimal(bill["subtotal"]) + Decimal(bill["tax"]) == Decimal(bill["total"])
        assert bill["due_date"] >= bill["issue_date"]
        assert re.fullmatch(r"ven_\d{8}", bill["vendor_id"])


def test_json_numbers_never_go_through_float(client: httpx.Client) -> None:
    # 0.1 + 0.2 is not 0.3 in binary floating point; it is in the emulator.
    body = {"vendor_id": "ven_00000002", "currency": "USD", "lines": [
        {"description": "a", "quantity": 1, "unit_price": 0.1},
        {"description": "b", "quantity": 1, "unit_price": 0.2},
    ]}  # fmt: skip
    created = client.post("/v1/bills", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["total"] == "0.30"


def test_get_missing_record_is_404_with_an_error_body(client: httpx.Client) -> None:
    response = client.get("/v1/bills/bill_09999999")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "code": "resource_missing",
        "param": "id",
        "message": "No such bill: 'bill_09999999'",
    }


def test_unknown_path_and_method(client: httpx.Client) -> None:
    assert client.get("/v2/vendors").status_code == 404
    response = client.put("/v1/vendors/ven_00000001", json={})
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "PATCH", "DELETE"}


def test_create_update_delete_a_vendor(
    client: httpx.Client, reference: ReferenceEmulator, clock: FakeClock
) -> None:
    created = client.post(
        "/v1/vendors", json={"name": "Acme Corp", "currency": "eur", "email": "ap@acme.test"}
    )
    assert created.status_code == 200, created.text
    vendor = created.json()
    assert vendor["id"] == "ven_00000051"
    assert vendor["currency"] == "EUR"
    assert vendor["status"] == "active"
    assert vendor["updated_at"] == "2026-01-01T00:00:00Z"
    clock.advance(3600)
    patched = client.patch(f"/v1/vendors/{vendor['id']}", json={"status": "inactive"})
    assert patched.json()["status"] == "inactive"
    assert patched.json()["name"] == "Acme Corp"
    assert patched.json()["updated_at"] == "2026-01-01T01:00:00Z"
    assert client.get(f"/v1/vendors/{vendor['id']}").json() == patched.json()
    deleted = client.delete(f"/v1/vendors/{vendor['id']}")
    assert deleted.json() == {"id": vendor["id"], "object": "vendor", "deleted": True}
    assert client.get(f"/v1/vendors/{vendor['id']}").status_code == 404
    assert client.delete(f"/v1/vendors/{vendor['id']}").status_code == 404
    assert reference.vendors.count() == reference.size


def test_create_a_bill_computes_totals(client: httpx.Client) -> None:
    created = client.post(
        "/v1/bills",
        json={
            "vendor_id": "ven_00000003",
            "currency": "USD",
            "issue_date": "2026-01-05",
            "lines": [
                {"description": "Widgets", "quantity": "3", "unit_price": "19.99", "account": "6000"},
                {"description": "Hours", "quantity": "1.5", "unit_price": "100.00", "amount": "150.00"},
            ],
            "tax": "10.00",
            "total": "219.97",
        },
    )
    assert created.status_code == 200, created.text
    bill = created.json()
    assert bill["subtotal"] == "209.97"
    assert bill["total"] == "219.97"
    assert bill["balance"] == "219.97"
    assert bill["lines"][0]["amount"] == "59.97"
    assert bill["lines"][1]["unit_price"] == "100.00"
    assert bill["issue_date"] == "2026-01-05"
    assert bill["due_date"] >= "2026-01-05"
    assert bill["status"] == "open"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "X", "currency": "XYZ"}, "currency"),
        ({"name": "X", "status": "archived"}, "status"),
        ({"name": "X", "email": "no-at-sign"}, "email"),
        ({"name": "X", "colour": "blue"}, "colour"),
        ({"name": "X", "id": "ven_1"}, "id"),
    ],
)
def test_vendor_validation_errors(client: httpx.Client, body: dict[str, Any], param: str) -> None:
    response = client.post("/v1/vendors", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["message"]


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"vendor_id": "ven_09999999"}, "vendor_id"),
        ({"lines": []}, "lines"),
        ({"lines": [{"description": "x", "unit_price": "1.005"}]}, "lines[0][unit_price]"),
        ({"lines": [{"description": "x", "unit_price": "abc"}]}, "lines[0][unit_price]"),
        ({"lines": [{"description": "x", "unit_price": "1", "quantity": "0"}]}, "lines[0][quantity]"),
        ({"lines": [{"description": "x", "unit_price": "2", "amount": "3"}]}, "lines[0][amount]"),
        ({"lines": [{"unit_price": "2"}]}, "description"),
        ({"lines": [{"description": "x"}]}, "lines[0][unit_price]"),
        ({"total": "2.00"}, "total"),
        ({"issue_date": "05/01/2026"}, "issue_date"),
        ({"issue_date": "2026-02-01", "due_date": "2026-01-01"}, "due_date"),
        ({"currency": "JPY", "lines": [{"description": "x", "unit_price": "10.5"}]}, "lines[0][unit_price]"),
    ],
)
def test_bill_validation_errors(client: httpx.Client, changes: dict[str, Any], param: str) -> None:
    body = {
        "vendor_id": "ven_00000001",
        "currency": "USD",
        "lines": [{"description": "x", "unit_price": "1"}],
    }
    response = client.post("/v1/bills", json={**body, **changes})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_body_must_be_a_json_object(client: httpx.Client) -> None:
    assert (
        client.post(
            "/v1/vendors", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert client.post("/v1/vendors", json=["a list"]).status_code == 400
    assert client.post("/v1/vendors", data={"name": "form"}).status_code == 400
    assert (
        client.post(
            "/v1/vendors", content=b'{"name": NaN}', headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_patch_validates_and_keeps_computed_fields(client: httpx.Client) -> None:
    bill = client.get("/v1/bills/bill_00000004").json()
    patched = client.patch("/v1/bills/bill_00000004", json={"memo": "checked", "status": "paid"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["memo"] == "checked"
    assert patched.json()["total"] == bill["total"]
    assert Decimal(patched.json()["balance"]) == 0
    refused = client.patch("/v1/bills/bill_00000004", json={"subtotal": "1.00"})
    assert refused.status_code == 400
    assert client.patch("/v1/bills/bill_09999999", json={"memo": "x"}).status_code == 404


def test_idempotency_key_replays_and_detects_a_different_body(
    client: httpx.Client, reference: ReferenceEmulator
) -> None:
    first = client.post("/v1/vendors", json={"name": "Once Ltd"}, headers={"Idempotency-Key": "abc"})
    again = client.post("/v1/vendors", json={"name": "Once Ltd"}, headers={"Idempotency-Key": "abc"})
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert reference.vendors.count() == reference.size + 1
    # Key order in the JSON body does not matter; content does.
    same = client.post(
        "/v1/vendors",
        content=b'{ "name" : "Once Ltd" }',
        headers={"Idempotency-Key": "abc", "Content-Type": "application/json"},
    )
    assert same.status_code == 200
    conflict = client.post("/v1/vendors", json={"name": "Twice Ltd"}, headers={"Idempotency-Key": "abc"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["type"] == "idempotency_error"
    other_path = client.post("/v1/bills", json={"name": "Once Ltd"}, headers={"Idempotency-Key": "abc"})
    assert other_path.status_code == 409
    assert reference.vendors.count() == reference.size + 1


def test_idempotency_keys_expire_after_a_day(
    client: httpx.Client, reference: ReferenceEmulator, clock: FakeClock
) -> None:
    client.post("/v1/vendors", json={"name": "Daily"}, headers={"Idempotency-Key": "day"})
    clock.advance(24 * 3600 + 1)
    again = client.post("/v1/vendors", json={"name": "Daily"}, headers={"Idempotency-Key": "day"})
    assert "Idempotent-Replayed" not in again.headers
    assert reference.vendors.count() == reference.size + 2


def test_validation_errors_are_replayed_too(client: httpx.Client, reference: ReferenceEmulator) -> None:
    bad = client.post("/v1/vendors", json={"name": ""}, headers={"Idempotency-Key": "bad"})
    replay = client.post("/v1/vendors", json={"name": ""}, headers={"Idempotency-Key": "bad"})
    assert bad.status_code == replay.status_code == 400
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_updated_since_returns_changed_records_only(client: httpx.Client, clock: FakeClock) -> None:
    clock.advance(86400)
    client.patch("/v1/vendors/ven_00000010", json={"name": "Changed 10"})
    client.patch("/v1/vendors/ven_00000002", json={"name": "Changed 2"})
    created = client.post("/v1/vendors", json={"name": "New"}).json()
    since = "2026-01-02T00:00:00Z"
    changed = page_through(client, "/v1/vendors", updated_since=since, limit="2")
    assert [vendor["id"] for vendor in changed] == ["ven_00000002", "ven_00000010", created["id"]]
    everything = page_through(client, "/v1/vendors", updated_since="2000-01-01T00:00:00+00:00", limit="100")
    assert len(everything) == 51
    bad = client.get("/v1/vendors", params={"updated_since": "yesterday"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "updated_since"


def test_updated_since_on_seeded_data_matches_a_full_scan(client: httpx.Client) -> None:
    everything = page_through(client, "/v1/bills", limit="100")
    cutoff = sorted(bill["updated_at"] for bill in everything)[30]
    expected = [bill["id"] for bill in everything if bill["updated_at"] >= cutoff]
    listed = page_through(client, "/v1/bills", updated_since=cutoff, limit="6")
    assert [bill["id"] for bill in listed] == expected


def test_link_header_uses_the_request_origin(client: httpx.Client) -> None:
    response = client.get("/v1/vendors", params={"limit": "5", "updated_since": "2000-01-01T00:00:00Z"})
    assert response.headers["Link"] == (
        "<https://reference.test/v1/vendors?limit=5&starting_after=ven_00000005"
        '&updated_since=2000-01-01T00%3A00%3A00Z>; rel="next"'
    )
    last = client.get("/v1/vendors", params={"limit": "5", "starting_after": "ven_00000045"})
    assert not last.json()["has_more"]
    assert "Link" not in last.headers


def test_cycle_after_pages_sends_the_client_back_to_the_start(clock: FakeClock) -> None:
    emulator = ReferenceEmulator(size=50, clock=clock, cycle_after_pages=2)
    with httpx.Client(
        transport=SandboxTransport(emulator),
        base_url="https://reference.test",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    ) as client:
        first = client.get("/v1/vendors", params={"limit": "10"}).json()
        second = client.get(
            "/v1/vendors", params={"limit": "10", "starting_after": first["data"][-1]["id"]}
        ).json()
        third = client.get(
            "/v1/vendors", params={"limit": "10", "starting_after": second["data"][-1]["id"]}
        ).json()
        assert second["data"][0]["id"] == "ven_00000011"
        assert third["data"] == first["data"]  # the cycle
        assert third["has_more"]
        # A listing that starts over is served properly again.
        restart = client.get("/v1/vendors", params={"limit": "10"}).json()
        assert restart["data"] == first["data"]


def test_size_and_seed_shape_the_data() -> None:
    small = ReferenceEmulator(size=3)
    with httpx.Client(
        transport=SandboxTransport(small),
        base_url="https://reference.test",
        headers={"Authorization": f"Bearer {small.api_key}"},
    ) as client:
        assert len(page_through(client, "/v1/vendors")) == 3
        assert len(page_through(client, "/v1/bills")) == 3
    assert ReferenceEmulator(seed=1).vendors.get("ven_00000001") == ReferenceEmulator(seed=1).vendors.get(
        "ven_00000001"
    )
    assert ReferenceEmulator(seed=1).vendors.get("ven_00000001") != ReferenceEmulator(seed=2).vendors.get(
        "ven_00000001"
    )


def test_seeded_timestamps_are_in_the_past_of_the_fake_clock(
    reference: ReferenceEmulator, clock: FakeClock
) -> None:
    last = reference.vendors.get("ven_00000050")
    assert last is not None
    assert last.updated_at < clock.now()
    assert last.updated_at > datetime(2024, 1, 1, tzinfo=timezone.utc)
