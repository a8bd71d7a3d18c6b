"""ODataResource's write hooks: send_write, creates looked up after an ambiguous failure
(can_find_created / find_created_entities / created_record), send_update, updated_since_value."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import httpx
import pytest
from odata_testkit import BASE_URL, Suppliers, V2Core, seeded

from fincon.core.client import Connector
from fincon.core.clock import FakeClock
from fincon.core.connector import ConnectorSettings
from fincon.core.flow import Flow
from fincon.core.resources import ListQuery
from fincon.core.responses import parse_json
from fincon.core.transport import Call
from fincon.errors import TransportError
from fincon.models import Vendor
from fincon.protocols.odata import ODataVersion, unwrap_entity

V2 = ODataVersion.V2


class Hooked(Suppliers):
    """Every write through send_write (noted, with a header); creates found again by key."""

    sent: ClassVar[list[str]] = []
    lookups: ClassVar[int] = 0

    def send_write(self, call: Call) -> Flow[httpx.Response]:
        self.sent.append(call.method if "X-HTTP-Method" not in (call.headers or {}) else "tunnelled")
        call.headers = {**(call.headers or {}), "X-Write-Token": "t-1"}
        return (yield from super().send_write(call))

    def can_find_created(self, record: Any) -> bool:
        return record.id is not None

    def find_created_entities(self, record: Any, payload: Mapping[str, Any]) -> Flow[list[dict[str, Any]]]:
        type(self).lookups += 1
        response = yield from self.requestor.call(
            Call("GET", self.entity_url(record.id), allow_status=(404,))
        )
        if response.status_code == 404:
            return []
        return [unwrap_entity(parse_json(response, system=self.system), self.version, system=self.system)]

    def created_record(self, entity: dict[str, Any]) -> Flow[Vendor]:
        record = yield from super().created_record(entity)
        return record.model_copy(update={"name": f"{record.name} (read back)"})


class DayFiltered(Suppliers):
    def updated_since_value(self, since: datetime) -> Any:
        return since.replace(hour=0, minute=0, second=0)


class HookedCore(V2Core):
    resources: ClassVar[Any] = {"vendor": Hooked}


class Losing:
    """The test server behind a transport that loses the answer to the next POSTs.

    ``applied``: whether the server acted before the connection dropped.
    """

    def __init__(self, server: Any, *, losses: int, applied: bool) -> None:
        self.server = server
        self.losses = losses
        self.applied = applied
        self.posts = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and "x-http-method" not in request.headers:
            self.posts += 1
            if self.losses:
                self.losses -= 1
                if self.applied:
                    self.server.handle(request)
                else:
                    self.server.requests.append(request)
                raise httpx.ReadError("connection reset by peer", request=request)
        return self.server.handle(request)  # type: ignore[no-any-return]


def _connect(server: Any, *, losses: int = 0, applied: bool = True) -> tuple[Connector, Losing]:
    losing = Losing(server, losses=losses, applied=applied)
    core = HookedCore(ConnectorSettings(base_url=BASE_URL, clock=FakeClock(), max_retries=2))
    return Connector(core, httpx.Client(transport=httpx.MockTransport(losing.handle))), losing


@pytest.fixture(autouse=True)
def _fresh() -> None:
    Hooked.sent.clear()
    Hooked.lookups = 0


def test_every_write_goes_through_send_write() -> None:
    server = seeded(V2, suppliers=2)
    erp, _ = _connect(server)
    with erp:
        erp.vendors.create(Vendor(id="0100", name="Acme"))
        erp.vendors.update("0100", {"name": "Acme GmbH"})
        erp.vendors.delete("0100")
    assert Hooked.sent == ["POST", "MERGE", "DELETE"]
    writes = [r for r in server.requests if r.method != "GET"]
    assert [r.headers["X-Write-Token"] for r in writes] == ["t-1"] * 3
    assert ("0100",) not in server.sets["Suppliers"].rows


def test_a_create_whose_answer_was_lost_is_found_and_not_sent_again() -> None:
    server = seeded(V2, suppliers=2)
    erp, losing = _connect(server, losses=1, applied=True)
    with erp:
        created = erp.vendors.create(Vendor(id="0200", name="Lost Answer"))
    assert created.id == "0200"
    assert created.name == "Lost Answer (read back)"  # through created_record
    assert (losing.posts, Hooked.lookups) == (1, 1)
    assert list(server.sets["Suppliers"].rows).count(("0200",)) == 1


def test_a_create_proven_not_applied_is_sent_again_once() -> None:
    server = seeded(V2, suppliers=2)
    erp, losing = _connect(server, losses=1, applied=False)
    with erp:
        created = erp.vendors.create(Vendor(id="0300", name="Dropped Request"))
    assert created.name == "Dropped Request (read back)"
    assert (losing.posts, Hooked.lookups) == (2, 1)
    assert server.sets["Suppliers"].rows[("0300",)]["Name"] == "Dropped Request"


def test_without_a_unique_field_an_ambiguous_create_is_raised_not_retried() -> None:
    server = seeded(V2, suppliers=2)
    erp, losing = _connect(server, losses=1, applied=False)
    with erp, pytest.raises(TransportError) as raised:
        erp.vendors.create(Vendor(name="No Key"))  # can_find_created is False: no id
    assert raised.value.maybe_sent
    assert (losing.posts, Hooked.lookups) == (1, 0)


def test_send_update_names_its_audit_action_and_updated_since_value_shapes_the_filter() -> None:
    events: list[Any] = []
    server = seeded(V2, suppliers=2)
    core = HookedCore(
        ConnectorSettings(base_url=BASE_URL, clock=FakeClock(), max_retries=0, audit=[events.append])
    )
    with Connector(core, httpx.Client(transport=server.transport())) as erp:
        erp.run(Hooked(erp.core).send_update("0001", {"Name": "Blocked"}, action="delete"))
        since = datetime(2026, 3, 4, 15, 30, tzinfo=timezone.utc)
        erp.run(DayFiltered(erp.core).list_page(ListQuery(updated_since=since), None))
    assert server.sets["Suppliers"].rows[("0001",)]["Name"] == "Blocked"
    assert [(e.action, e.record_id) for e in events] == [("delete", "0001")]
    sent = dict(parse_qsl(server.requests[-1].url.query.decode()))
    assert sent["$filter"] == "Changed ge datetimeoffset'2026-03-04T00:00:00Z'"
