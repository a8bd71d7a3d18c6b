"""The generic ODataResource against a tiny in-test OData service, sync and async."""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from urllib.parse import parse_qsl

import httpx
import pytest
from odata_testkit import BASE_URL, connect, connect_async, seeded

from fincon.errors import Conflict, NotFound, PaginationError
from fincon.models import Vendor
from fincon.protocols.odata import F, ODataService, ODataVersion

V2, V4 = ODataVersion.V2, ODataVersion.V4
UTC = timezone.utc


def _params(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))


def test_client_paging_when_the_server_does_not_page() -> None:
    server = seeded(V2, suppliers=5)
    with connect(server) as erp:
        names = [v.name for v in erp.vendors.list(page_size=2)]
    assert names == [f"Supplier {n}" for n in range(1, 6)]
    sent = [_params(r) for r in server.requests]
    assert [(p.get("$top"), p.get("$skip")) for p in sent] == [("2", None), ("2", "2"), ("2", "4")]
    assert all(p["$orderby"] == "Supplier" for p in sent)  # $skip needs a stable order
    assert server.requests[0].headers["DataServiceVersion"] == "2.0"


def test_server_paging_inside_a_window_is_followed() -> None:
    server = seeded(V2, suppliers=5, server_page=2)
    with connect(server) as erp:
        ids = [v.id for v in erp.vendors.list(page_size=4)]
    assert ids == ["0001", "0002", "0003", "0004", "0005"]
    assert len(ids) == len(set(ids))
    assert "$skiptoken=2" in str(server.requests[1].url)  # the server's own next-link
    assert _params(server.requests[2]).get("$skip") == "4"  # then the next client window


def test_v4_server_paging_with_maxpagesize_and_resumable_cursor() -> None:
    server = seeded(V4, suppliers=5)
    with connect(server) as erp:
        pages = list(erp.vendors.list(page_size=2).pages())
        assert [len(p.items) for p in pages] == [2, 2, 1]
        assert "$top" not in _params(server.requests[0])
        assert server.requests[0].headers["Prefer"] == "odata.maxpagesize=2"
        assert server.requests[0].headers["OData-Version"] == "4.0"
        resumed = [v.id for v in erp.vendors.list(page_size=2, cursor=pages[0].next_cursor)]
    assert resumed == ["0003", "0004", "0005"]


def test_foreign_next_links_are_refused() -> None:
    server = seeded(V4, suppliers=5)
    server.next_link_override = "https://evil.example/svc/Suppliers?$skiptoken=2"
    with connect(server) as erp, pytest.raises(PaginationError, match="another origin"):
        list(erp.vendors.list(page_size=2))
    assert all(r.url.host == "odata.test" for r in server.requests)


def test_next_link_cycles_end_with_a_pagination_error() -> None:
    server = seeded(V2, suppliers=5, server_page=2)
    server.next_link_override = f"{BASE_URL}/svc/Suppliers?$top=5&$skiptoken=0"
    with connect(server) as erp, pytest.raises(PaginationError):
        list(erp.vendors.list(page_size=5))
    assert len(server.requests) <= 4


def test_filters_and_updated_since() -> None:
    server = seeded(V2)
    with connect(server) as erp:
        list(
            erp.vendors.list(updated_since=datetime(2026, 1, 1, tzinfo=UTC), filters={"name": "O'Neil & Co"})
        )
    assert _params(server.requests[0])["$filter"] == (
        "(Changed ge datetimeoffset'2026-01-01T00:00:00Z') and (Name eq 'O''Neil & Co')"
    )


def test_composite_key_get_with_a_slash_in_a_key() -> None:
    server = seeded(V2)
    with connect(server) as erp:
        listed = list(erp.customers.list())
        assert {v.id for v in listed} == {"1010/2026/51%2F1", "1010/2025/51%2F1"}
        item = erp.customers.get("1010/2026/51%2F1")
    assert item.name == "slash"
    assert server.requests[-1].url.raw_path.decode() == (
        "/svc/Items(CompanyCode='1010',FiscalYear='2026',Document='51%2F1')"
    )


def test_create_update_with_if_match_and_delete_v2() -> None:
    server = seeded(V2)
    with connect(server) as erp:
        created = erp.vendors.create(Vendor(id="0100", name="Acme"))
        assert created.id == "0100"
        assert server.requests[-1].method == "POST"
        fetched = erp.vendors.get("0100")
        etag = fetched.raw["__metadata"]["etag"]
        updated = erp.vendors.update("0100", {"name": "Acme GmbH"})
        merge = next(r for r in server.requests if r.method == "MERGE")
        assert merge.headers["If-Match"] == etag  # the ETag the get returned
        assert updated.name == "Acme GmbH"  # read back after 204 No Content
        erp.vendors.delete("0100")
        with pytest.raises(NotFound):
            erp.vendors.get("0100")


def test_a_stale_etag_is_a_conflict_not_a_lost_update() -> None:
    server = seeded(V2)
    with connect(server) as erp:
        erp.vendors.get("0001")
        server.sets["Suppliers"].versions[("0001",)] += 1  # someone else changed it
        with pytest.raises(Conflict):
            erp.vendors.update("0001", {"name": "Mine"})
    assert server.sets["Suppliers"].rows[("0001",)]["Name"] == "Supplier 1"


def test_update_without_a_known_etag_sends_if_match_star_v4_patch() -> None:
    server = seeded(V4)
    with connect(server) as erp:
        updated = erp.vendors.update("0002", {"name": "New"})
    patch = server.requests[-1]
    assert (patch.method, patch.headers["If-Match"], patch.headers["Prefer"]) == (
        "PATCH",
        "*",
        "return=representation",
    )
    assert updated.name == "New"
    assert len(server.requests) == 1


def test_odata_error_bodies_become_fincon_errors() -> None:
    server = seeded(V2)
    with connect(server) as erp, pytest.raises(NotFound) as caught:
        erp.vendors.get("9999")
    assert caught.value.code == "NotFound"
    assert "does not exist" in caught.value.message


def test_native_service_queries() -> None:
    server = seeded(V2, suppliers=3, server_page=2)
    with connect(server) as erp:
        service = ODataService(erp.core.requestor, "/svc", V2, run=erp.run)
        query = service.entity_set("Suppliers").filter(F("Name") != "x").select("Supplier", "Name")
        rows = query.to_list()
    assert [row["Supplier"] for row in rows] == ["0001", "0002", "0003"]
    assert _params(server.requests[0])["$filter"] == "Name ne 'x'"


@pytest.mark.anyio
async def test_async_listing_get_and_update() -> None:
    server = seeded(V2, suppliers=5, server_page=2)
    async with connect_async(server) as erp:
        ids = [v.id async for v in erp.vendors.list(page_size=3)]
        assert ids == ["0001", "0002", "0003", "0004", "0005"]
        item = await erp.customers.get("1010/2025/51%2F1")
        assert item.name == "older"
        updated = await erp.vendors.update("0003", {"name": "Async"})
        assert updated.name == "Async"


def test_subclass_hooks_prepare_property_types_and_if_match() -> None:
    from collections.abc import Mapping
    from typing import Any, ClassVar

    from odata_testkit import Suppliers

    from fincon.core.flow import Flow
    from fincon.core.resources import ListQuery

    class Hooked(Suppliers):
        version = V4
        property_types: ClassVar[Mapping[str, str]] = {"Name": "Edm.Guid"}
        idempotent_updates = True
        prepared: ClassVar[list[str]] = []

        def prepare(self, operation: str) -> Flow[None]:
            yield from ()
            self.prepared.append(operation)

        def if_match(self, path: str, id: str) -> Flow[str]:
            yield from ()
            return 'W/"hooked"'

    server = seeded(V4, suppliers=3)
    with connect(server) as erp:
        handler: Any = Hooked(erp.core)
        guid = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
        erp.run(handler.list_page(ListQuery(filters={"name": guid}), None))
        assert _params(server.requests[-1])["$filter"] == "Name eq 6f9619ff-8b86-d011-b42d-00c04fc964ff"
        # The test server does not know the hooked ETag; what was sent is the point.
        with contextlib.suppress(Conflict):
            erp.run(handler.update("0001", {"name": "Hooked"}, None))
    patch = [r for r in server.requests if r.method == "PATCH"][-1]
    assert patch.headers["If-Match"] == 'W/"hooked"'
    assert Hooked.prepared[:2] == ["list", "update"]


def test_a_record_the_mapper_cannot_write_is_a_validation_error_before_sending() -> None:
    from typing import Any

    from odata_testkit import Suppliers

    from fincon.errors import ValidationError

    class Broken(Suppliers):
        version = V4

        def create_payload(self, record: Any) -> dict[str, Any]:
            return self._payload(lambda: int("not a number"))

    server = seeded(V4, suppliers=1)
    with connect(server) as erp, pytest.raises(ValidationError):
        erp.run(Broken(erp.core).create(Vendor(name="x"), None))
    assert not [r for r in server.requests if r.method == "POST"]
