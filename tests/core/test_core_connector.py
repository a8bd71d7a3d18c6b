"""The Connector protocol (DESIGN section 2), sync and async, on the core test connector."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from fincon_corekit import NOKEY_SYSTEM, SYSTEM, FakeServer

import fincon
from fincon.core.connector import Identity
from fincon.models import RESOURCE_ATTRIBUTES, RESOURCE_MODELS, Bill, Money, Vendor

UTC = timezone.utc
ALL_OPS = ("list", "get", "create", "update", "delete")
Make = Callable[..., fincon.Connector]
MakeAsync = Callable[..., fincon.AsyncConnector]


# -- identity and capabilities -----------------------------------------------------------------


def test_system_capabilities_and_check(make: Make, server: FakeServer) -> None:
    erp = make()
    assert erp.system == SYSTEM
    assert erp.capabilities == {
        "vendor": ALL_OPS,
        "bill": ALL_OPS,
        "customer": ("list", "get"),
    }
    assert erp.vendors.operations == ALL_OPS
    assert erp.invoices.operations == ()
    identity = erp.check()
    assert identity == Identity(system=SYSTEM, account="acct_core", user="tester")
    assert [r.url.path for r in server.requests] == ["/v1/me"]


def test_every_resource_attribute_exists_on_both_connectors() -> None:
    for attribute, resource in RESOURCE_ATTRIBUTES.items():
        assert getattr(fincon.Connector, attribute).resource == resource
        assert getattr(fincon.AsyncConnector, attribute).resource == resource
    assert set(RESOURCE_ATTRIBUTES.values()) == set(RESOURCE_MODELS)


def _attempt(erp: fincon.Connector, resource: str, op: str) -> None:
    collection = erp.collection(resource)
    model = RESOURCE_MODELS[resource]
    if op == "list":
        list(collection.list())
    elif op == "get":
        collection.get("x-1")
    elif op == "create":
        samples: dict[str, Any] = {"vendor": Vendor(name="Cap Co"), "bill": Bill(number="CAP-1")}
        collection.create(samples.get(resource) or model.model_construct(), idempotency_key=f"k-{resource}")
    elif op == "update":
        collection.update("x-1", {"external_id": "e-1"})
    else:
        collection.delete("x-1")


def test_capabilities_match_what_works(make: Make, server: FakeServer) -> None:
    """Every listed operation works (no Unsupported); every other one raises it and sends nothing."""
    erp = make()
    for resource in RESOURCE_MODELS:
        supported = erp.capabilities.get(resource, ())
        for op in ALL_OPS:
            before = len(server.requests)
            if op in supported:
                try:
                    _attempt(erp, resource, op)
                except fincon.Unsupported as exc:  # pragma: no cover - the failure being tested for
                    pytest.fail(f"{resource}.{op} is in capabilities but raised {exc!r}")
                except fincon.FinconError:
                    pass  # NotFound and friends: the operation exists
            else:
                with pytest.raises(fincon.Unsupported) as caught:
                    _attempt(erp, resource, op)
                assert caught.value.system == SYSTEM
                assert caught.value.operation == f"{resource}.{op}"
                assert SYSTEM in str(caught.value)
                assert op in str(caught.value)
                assert len(server.requests) == before, f"{resource}.{op} sent a request"


def test_unsupported_operation_on_a_mapped_resource(make: Make, server: FakeServer) -> None:
    erp = make()
    with pytest.raises(fincon.Unsupported) as caught:
        erp.customers.create({"name": "Acme"})
    assert caught.value.operation == "customer.create"
    assert caught.value.system == SYSTEM
    with pytest.raises(fincon.Unsupported):
        erp.write("customer", {"name": "Acme"})
    with pytest.raises(fincon.Unsupported) as unmapped:
        erp.invoices.list()
    assert unmapped.value.operation == "invoice.list"
    assert server.requests == []


# -- single-record operations --------------------------------------------------------------------


def test_get_create_update_delete(make: Make, server: FakeServer) -> None:
    erp = make()
    vendor = erp.vendors.get("v002")
    assert isinstance(vendor, Vendor)
    assert (vendor.id, vendor.name, vendor.currency) == ("v002", "Vendor 2", "USD")
    assert vendor.raw["credit_limit"] == Decimal("0.2")

    created = erp.vendors.create(Vendor(name="Acme Corp", currency="EUR"), idempotency_key="create-acme")
    assert created.id == "v006"
    assert created.name == "Acme Corp"
    post = server.sent("POST")[-1]
    assert post.headers["Idempotency-Key"] == "create-acme"
    assert post.headers["content-type"] == "application/json"
    assert post.content == b'{"name":"Acme Corp","currency":"EUR"}'

    updated = erp.vendors.update("v006", {"name": "Acme Corporation"})
    assert updated.name == "Acme Corporation"
    patch = server.sent("PATCH")[-1]
    assert patch.url.path == "/v1/vendors/v006"
    assert patch.content == b'{"name":"Acme Corporation"}'

    assert erp.vendors.delete("v006") is None
    assert "v006" not in server.vendors
    with pytest.raises(fincon.NotFound) as missing:
        erp.vendors.get("v006")
    assert missing.value.status == 404
    assert missing.value.system == SYSTEM


def test_create_accepts_a_mapping(make: Make, server: FakeServer) -> None:
    erp = make()
    created = erp.vendors.create({"name": "Mapping Ltd"})
    assert created.name == "Mapping Ltd"
    assert server.vendors[created.id]["name"] == "Mapping Ltd"


def test_ids_are_quoted_into_paths(make: Make, server: FakeServer) -> None:
    erp = make()
    with pytest.raises(fincon.FinconError):
        erp.vendors.get("a/b?c")
    assert server.requests[-1].url.raw_path == b"/v1/vendors/a%2Fb%3Fc"


def test_money_goes_over_the_wire_exactly(make: Make, server: FakeServer) -> None:
    erp = make()
    bill = erp.bills.create(Bill(number="B-1", total=Money(Decimal("1250.10"), "USD")))
    assert server.sent("POST")[-1].content == b'{"number":"B-1","total":{"amount":1250.10,"currency":"USD"}}'
    assert bill.total == Money(Decimal("1250.10"), "USD")
    assert isinstance(bill.raw["total"]["amount"], Decimal)


# -- listings ------------------------------------------------------------------------------------


def test_list_is_lazy_and_pages_with_cursors(make: Make, server: FakeServer) -> None:
    erp = make()
    listing = erp.vendors.list(page_size=2)
    assert server.requests == []  # nothing fetched before iteration
    pages = list(listing.pages())
    assert [[v.id for v in p.items] for p in pages] == [["v001", "v002"], ["v003", "v004"], ["v005"]]
    assert all(isinstance(p.next_cursor, str) for p in pages[:-1])
    assert pages[-1].next_cursor is None
    assert listing.next_cursor is None
    assert [dict(r.url.params) for r in server.requests] == [
        {"limit": "2"},
        {"limit": "2", "starting_after": "v002"},
        {"limit": "2", "starting_after": "v004"},
    ]
    with pytest.raises(fincon.ValidationError):
        list(listing)  # a listing is iterated once


def test_list_sends_filters_and_updated_since(make: Make, server: FakeServer) -> None:
    erp = make()
    since = datetime(2026, 1, 1, tzinfo=UTC)
    vendors = list(erp.vendors.list(updated_since=since, filters={"status": "active"}))
    assert [v.id for v in vendors] == ["v001", "v003", "v005"]
    params = server.requests[0].url.params
    assert params["status"] == "active"
    assert params["updated_since"] == "2026-01-01T00:00:00+00:00"


def test_read_and_write_by_resource_name(make: Make, server: FakeServer) -> None:
    erp = make()
    assert erp.read("vendor", "v001").name == "Vendor 1"
    assert [v.id for v in erp.read("vendor", page_size=3)] == ["v001", "v002", "v003", "v004", "v005"]

    created = erp.write("vendor", {"name": "Written Co"}, idempotency_key="w-1")
    assert server.vendors[created.id]["name"] == "Written Co"
    assert server.sent("POST")[-1].headers["Idempotency-Key"] == "w-1"

    updated = erp.write("vendor", Vendor(id=created.id, name="Written Company"), mode="update")
    assert updated.name == "Written Company"
    assert server.sent("PATCH")[-1].url.path == f"/v1/vendors/{created.id}"

    # upsert: update when the record exists ...
    erp.write("vendor", Vendor(id="v001", name="Upserted One"), mode="upsert")
    assert server.vendors["v001"]["name"] == "Upserted One"
    # ... and create it when the update finds nothing
    before = len(server.vendors)
    erp.write("vendor", Vendor(id="zz-missing", name="Fresh"), mode="upsert")
    assert len(server.vendors) == before + 1
    assert [r.method for r in server.requests[-2:]] == ["PATCH", "POST"]


def test_request_escape_hatch(make: Make, server: FakeServer) -> None:
    erp = make()
    response = erp.request("GET", "/v1/vendors/v001")
    assert response.status_code == 200
    assert response.json()["name"] == "Vendor 1"
    assert server.requests[-1].url == "https://api.coretest.example/v1/vendors/v001"
    with pytest.raises(fincon.NotFound):
        erp.request("GET", "v1/nothing-here")
    assert server.requests[-1].url.path == "/v1/nothing-here"


def test_native_extras(make: Make, server: FakeServer) -> None:
    erp = make()
    assert erp.native.exists("v001") is True
    # allow_status=(404,): the 404 is an answer, even though the connector parses error bodies
    assert erp.native.exists("nope") is False


# -- input checks: raised before anything is sent --------------------------------------------------


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (lambda erp: erp.vendors.create({"currency": "USD"}), "vendor.name"),
        (lambda erp: erp.vendors.create({"name": "A", "currency": "XXQ"}), "vendor.currency"),
        (lambda erp: erp.vendors.create({"name": "A", "colour": "red"}), "vendor.colour"),
        (lambda erp: erp.vendors.create(42), "vendor"),
        (lambda erp: erp.vendors.update("v001", {"colour": "red"}), "vendor.colour"),
        (lambda erp: erp.vendors.update("v001", {"id": "other"}), "vendor.id"),
        (lambda erp: erp.vendors.update("v001", {"currency": "nope"}), "vendor.currency"),
        (lambda erp: erp.vendors.update("v001", {}), "changes"),
        (lambda erp: erp.vendors.get(""), "id"),
        (lambda erp: erp.vendors.get(None), "id"),
        (lambda erp: erp.vendors.delete("  "), "id"),
        (lambda erp: erp.vendors.list(updated_since=datetime(2026, 1, 1)), "updated_since"),
        (lambda erp: erp.vendors.list(updated_since="2026-01-01"), "updated_since"),
        (lambda erp: erp.vendors.list(page_size=0), "page_size"),
        (lambda erp: erp.vendors.list(page_size=101), "page_size"),
        (lambda erp: erp.vendors.list(page_size=True), "page_size"),
        (lambda erp: erp.vendors.list(filters={"colour": "red"}), "filters.colour"),
        (lambda erp: erp.vendors.list(cursor="not-a-cursor"), "cursor"),
        (lambda erp: erp.vendors.list(max_pages=0), "max_pages"),
        (lambda erp: erp.read("widget"), "resource"),
        (lambda erp: erp.read("vendor", "v1", page_size=2), "id"),
        (lambda erp: erp.write("vendor", {"name": "A"}, mode="merge"), "mode"),
        (lambda erp: erp.write("vendor", {"name": "A"}, mode="update"), "id"),
        (lambda erp: erp.bills.create({"total": {"amount": 0.1, "currency": "USD"}}), "bill.total.amount"),
    ],
)
def test_input_errors_name_field_and_system_and_send_nothing(
    make: Make, server: FakeServer, action: Callable[[fincon.Connector], Any], field: str
) -> None:
    erp = make()
    with pytest.raises(fincon.ValidationError) as caught:
        action(erp)
    assert caught.value.system == SYSTEM
    assert caught.value.field == field
    assert server.requests == []


def test_float_in_raw_request_body_is_refused_before_sending(make: Make, server: FakeServer) -> None:
    erp = make()
    with pytest.raises(fincon.ValidationError, match="float") as raised:
        erp.request("POST", "/v1/vendors", json={"name": "A", "credit_limit": 0.1})
    assert raised.value.field == "json"
    assert raised.value.system == "coretest"
    assert server.requests == []


# -- the async connector ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_connector_same_surface(make_async: MakeAsync, server: FakeServer) -> None:
    async with make_async() as erp:
        assert erp.system == SYSTEM
        assert erp.capabilities["customer"] == ("list", "get")
        assert (await erp.check()).account == "acct_core"
        vendor = await erp.vendors.get("v003")
        assert vendor.name == "Vendor 3"
        assert [v.id async for v in erp.vendors.list(page_size=2)] == ["v001", "v002", "v003", "v004", "v005"]
        pages = [page async for page in erp.vendors.list(page_size=4).pages()]
        assert [len(p) for p in pages] == [4, 1]
        assert isinstance(pages[0].next_cursor, str)
        assert pages[1].next_cursor is None

        created = await erp.vendors.create(Vendor(name="Async Co"), idempotency_key="a-1")
        assert server.sent("POST")[-1].headers["Idempotency-Key"] == "a-1"
        updated = await erp.vendors.update(created.id, {"currency": "gbp"})
        assert updated.currency == "GBP"
        await erp.vendors.delete(created.id)
        assert created.id not in server.vendors

        assert (await erp.read("vendor", "v001")).id == "v001"
        listing = await erp.read("vendor", page_size=5)
        assert len([v async for v in listing]) == 5
        written = await erp.write("vendor", {"name": "Async Written"})
        assert server.vendors[written.id]["name"] == "Async Written"
        response = await erp.request("GET", "/v1/me")
        assert response.json()["user"] == "tester"
        assert await erp.native.exists("v001") is True


@pytest.mark.anyio
async def test_async_input_errors_and_unsupported_send_nothing(
    make_async: MakeAsync, server: FakeServer
) -> None:
    async with make_async() as erp:
        with pytest.raises(fincon.ValidationError) as naive:
            erp.vendors.list(updated_since=datetime(2026, 1, 1))
        assert naive.value.field == "updated_since"
        assert naive.value.system == SYSTEM
        with pytest.raises(fincon.ValidationError) as bad:
            await erp.vendors.create({"name": "A", "currency": "XXQ"})
        assert bad.value.field == "vendor.currency"
        with pytest.raises(fincon.ValidationError):
            await erp.write("vendor", {"name": "A"}, mode="merge")  # type: ignore[arg-type]
        with pytest.raises(fincon.Unsupported) as unsupported:
            await erp.customers.delete("c1")
        assert unsupported.value.operation == "customer.delete"
        assert unsupported.value.system == SYSTEM
        with pytest.raises(fincon.Unsupported):
            erp.invoices.list()
    assert server.requests == []


def test_connector_repr_and_context_manager(make: Make) -> None:
    erp = make(system=NOKEY_SYSTEM)
    assert NOKEY_SYSTEM in repr(erp)
    assert "api.coretest.example" in repr(erp)
    with erp as same:
        assert same is erp
    with pytest.raises(RuntimeError):
        erp.request("GET", "/v1/me")  # the pooled client is closed


def test_request_to_another_origin_is_refused_as_bad_input(make: Make, server: FakeServer) -> None:
    erp = make()
    with pytest.raises(fincon.ValidationError, match="another origin") as raised:
        erp.request("GET", "https://evil.example/v1/vendors")
    assert raised.value.field == "url"
    assert server.requests == []


def test_verify_false_from_the_environment_is_a_boolean(monkeypatch: pytest.MonkeyPatch) -> None:
    from fincon.core.connect import load_settings
    from fincon.core.connector import ConnectorSettings

    settings = load_settings(ConnectorSettings, "coretest", {}, environ={"FINCON_CORETEST_VERIFY": "false"})
    assert settings.verify is False
    settings = load_settings(
        ConnectorSettings, "coretest", {}, environ={"FINCON_CORETEST_VERIFY": "/etc/ca.pem"}
    )
    assert settings.verify == "/etc/ca.pem"
