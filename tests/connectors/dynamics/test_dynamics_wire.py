"""What the Dynamics connector puts on the wire, and how it copes with what comes back.

Headers of every operation (``Prefer``, ``IEEE754Compatible``, ``If-Match``), BC's service
protection (429 with ``Retry-After``), ``$batch``, and the async connector.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

import fincon
from fincon.connectors.dynamics.sandbox import DynamicsEmulator
from fincon.core.clock import FakeClock
from fincon.models import Bill, LineItem, Money, Ref, Vendor
from fincon.sandbox import SandboxTransport

VENDOR_ID = "00007e4d-0000-4000-8000-000000000002"


class Recorder(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The emulator's transport, keeping every request it was sent."""

    def __init__(self, emulator: DynamicsEmulator) -> None:
        self.inner = SandboxTransport(emulator)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def api(self, method: str | None = None) -> list[httpx.Request]:
        """The requests to the API (not the token endpoint), optionally of one method."""
        return [
            r
            for r in self.requests
            if "/oauth2/" not in r.url.path and (method is None or r.method == method)
        ]


@pytest.fixture
def emulator() -> DynamicsEmulator:
    return DynamicsEmulator(size=25, clock=FakeClock())


@pytest.fixture
def recorder(emulator: DynamicsEmulator) -> Recorder:
    return Recorder(emulator)


def _connect(emulator: DynamicsEmulator, transport: Any, **settings: Any) -> fincon.Connector:
    return fincon.connect(
        "dynamics",
        **{**emulator.credentials(), **settings},
        base_url=emulator.base_url,
        transport=transport,
        clock=emulator.clock,
        share_limits=False,
    )


@pytest.fixture
def bc(emulator: DynamicsEmulator, recorder: Recorder) -> Iterator[fincon.Connector]:
    with _connect(emulator, recorder) as connector:
        yield connector


def test_every_request_speaks_odata_v4_with_exact_decimals(bc: fincon.Connector, recorder: Recorder) -> None:
    list(bc.vendors.list(page_size=7, max_pages=2))
    bc.vendors.create(Vendor(name="Wire Co", email="ap@wire.example"))
    assert len(recorder.api()) >= 3
    for request in recorder.api():
        assert request.headers["OData-Version"] == "4.0"
        assert request.headers["OData-MaxVersion"] == "4.0"
        assert "IEEE754Compatible=true" in request.headers["Accept"]
        assert request.headers["Authorization"].startswith("Bearer ")
    (post,) = recorder.api("POST")
    assert post.headers["Content-Type"] == "application/json;IEEE754Compatible=true"


def test_ieee754_can_be_turned_off(emulator: DynamicsEmulator, recorder: Recorder) -> None:
    with _connect(emulator, recorder, ieee754_compatible=False) as bc:
        bill = next(iter(bc.bills.list(page_size=3, max_pages=1)))
    assert "IEEE754" not in recorder.api()[-1].headers["Accept"]
    # A JSON number, still exact: Decimal, or int for a whole amount (JPY); never a float or a string.
    assert type(bill.raw["totalAmountIncludingTax"]) in (Decimal, int)


def test_listing_asks_for_the_page_size_and_follows_next_links(
    bc: fincon.Connector, recorder: Recorder
) -> None:
    pages = list(bc.vendors.list(page_size=10).pages())
    assert [len(page.items) for page in pages] == [10, 10, 5]
    lists = [r for r in recorder.api("GET") if r.url.path.endswith("/vendors")]
    assert [r.headers["Prefer"] for r in lists] == ["odata.maxpagesize=10"] * 3
    assert "$top" not in lists[0].url.params  # server-driven paging, not client windows
    assert "$skiptoken" in lists[1].url.params  # the server's own next-link, followed as given


def test_filters_are_typed_literals(bc: fincon.Connector, recorder: Recorder) -> None:
    list(bc.bills.list(filters={"vendor_id": VENDOR_ID, "number": "O'Neil & 7"}, max_pages=1))
    sent = recorder.api("GET")[-1].url.params["$filter"]
    assert f"vendorId eq {VENDOR_ID}" in sent  # an Edm.Guid is bare, not a quoted string
    assert "vendorInvoiceNumber eq 'O''Neil & 7'" in sent
    with pytest.raises(fincon.ValidationError):
        list(bc.bills.list(filters={"vendor_id": "not-a-guid"}))


def test_create_asks_for_the_representation(bc: fincon.Connector, recorder: Recorder) -> None:
    created = bc.vendors.create(Vendor(name="Representation Ltd"))
    (post,) = recorder.api("POST")
    assert post.headers["Prefer"] == "return=representation"
    body = json.loads(post.content)
    assert body["displayName"] == "Representation Ltd"
    assert "id" not in body
    assert "lastModifiedDateTime" not in body
    assert created.id
    assert created.name == "Representation Ltd"
    assert len(recorder.api()) == 1  # one POST: no company lookup, no read-back


def test_update_sends_the_etag_it_read_and_delete_too(
    bc: fincon.Connector, recorder: Recorder, emulator: DynamicsEmulator
) -> None:
    vendor = bc.vendors.get(VENDOR_ID)
    etag = vendor.raw["@odata.etag"]
    updated = bc.vendors.update(VENDOR_ID, {"email": "etag@wire.example"})
    (patch,) = recorder.api("PATCH")
    assert patch.headers["If-Match"] == etag
    assert patch.headers["Prefer"] == "return=representation"
    assert json.loads(patch.content) == {"email": "etag@wire.example"}
    assert updated.email == "etag@wire.example"
    assert emulator.collection("vendors").get(VENDOR_ID).data["email"] == "etag@wire.example"
    created = bc.vendors.create(Vendor(name="Short Lived"))
    bc.vendors.delete(created.id)
    (delete,) = recorder.api("DELETE")
    assert delete.headers["If-Match"].startswith('W/"')  # read first: never "*" by default


def test_a_change_made_since_the_read_is_a_conflict(bc: fincon.Connector, emulator: DynamicsEmulator) -> None:
    bc.vendors.get(VENDOR_ID)
    stored = emulator.collection("vendors")
    emulator.clock.advance(5)
    stored.update(VENDOR_ID, {**stored.get(VENDOR_ID).data, "email": "someone@else.example"})
    with pytest.raises(fincon.Conflict):
        bc.vendors.update(VENDOR_ID, {"email": "mine@wire.example"})
    assert stored.get(VENDOR_ID).data["email"] == "someone@else.example"  # no lost update


def test_last_write_wins_sends_if_match_star(emulator: DynamicsEmulator, recorder: Recorder) -> None:
    with _connect(emulator, recorder, concurrency="last_write_wins") as bc:
        bc.vendors.update(VENDOR_ID, {"email": "star@wire.example"})
    (patch,) = recorder.api("PATCH")
    assert patch.headers["If-Match"] == "*"
    assert not recorder.api("GET")  # no read of the ETag needed


def test_an_update_whose_answer_was_lost_is_retried_and_accepted(
    bc: fincon.Connector, emulator: DynamicsEmulator, recorder: Recorder
) -> None:
    emulator.faults.drop_after(method="PATCH", times=1)
    updated = bc.vendors.update(VENDOR_ID, {"email": "lost@wire.example"})
    assert updated.email == "lost@wire.example"
    patches = recorder.api("PATCH")
    assert len(patches) == 2
    assert patches[0].headers["If-Match"] == patches[1].headers["If-Match"]
    assert "drop_after" in emulator.faults.kinds()


def test_throttling_waits_as_long_as_retry_after_says(
    bc: fincon.Connector, emulator: DynamicsEmulator
) -> None:
    emulator.faults.throttle(retry_after=7, path="*/vendors", times=2)
    vendors = list(bc.vendors.list(page_size=25))
    assert len(vendors) == 25
    waits = [wait for wait in emulator.clock.sleeps if wait >= 1]
    assert len(waits) == 2, emulator.clock.sleeps
    assert all(7 <= wait < 9 for wait in waits), waits  # Retry-After, plus a little jitter


def test_a_retry_after_beyond_the_cap_raises_rate_limited(
    emulator: DynamicsEmulator, recorder: Recorder
) -> None:
    emulator.faults.throttle(retry_after=600, path="*/vendors", times=1)
    with _connect(emulator, recorder, max_retry_wait=30) as bc, pytest.raises(fincon.RateLimited) as raised:
        list(bc.vendors.list())
    assert raised.value.retry_at is not None
    assert (raised.value.retry_at - emulator.clock.now()).total_seconds() == pytest.approx(600, abs=1)
    assert not [wait for wait in emulator.clock.sleeps if wait >= 30]  # it did not sleep it out
    assert raised.value.code == "Application_TooManyRequests"


def test_the_emulators_own_rate_limit_is_honoured() -> None:
    emulator = DynamicsEmulator(size=60, clock=FakeClock(), rate_limit=2)
    recorder = Recorder(emulator)
    with _connect(emulator, recorder) as bc:
        assert len(list(bc.vendors.list(page_size=5))) == 60
    throttled = [r for r in recorder.api() if r.url.path.endswith("/vendors")]
    assert len(throttled) > 12  # some pages were refused with 429 and fetched again


def test_batch_sends_one_json_request_and_reads_every_answer(
    bc: fincon.Connector, emulator: DynamicsEmulator, recorder: Recorder
) -> None:
    company = f"companies({emulator.company_id})"
    results = bc.native.batch(
        [
            {"method": "GET", "url": f"{company}/vendors({VENDOR_ID})"},
            {"method": "POST", "url": f"{company}/vendors", "body": {"displayName": "Batched Ltd"}},
            {"method": "GET", "url": f"{company}/vendors(00007e4d-0000-4000-8000-000000000999)"},
        ]
    )
    (sent,) = [r for r in recorder.api("POST") if r.url.path.endswith("/$batch")]
    body = json.loads(sent.content)
    assert [item["method"] for item in body["requests"]] == ["GET", "POST", "GET"]
    assert body["requests"][1]["atomicityGroup"]  # a write is its own change set
    assert [result.ok for result in results] == [True, True, False]
    assert results[0].response.json()["id"] == VENDOR_ID
    assert results[1].response.status == 201
    assert isinstance(results[2].error(system="dynamics"), fincon.NotFound)
    stored = emulator.collection("vendors")
    assert sum(1 for r in stored.iter() if r.data.get("displayName") == "Batched Ltd") == 1


def test_batch_refuses_bad_input_before_sending(bc: fincon.Connector, recorder: Recorder) -> None:
    with pytest.raises(fincon.ValidationError):
        bc.native.batch([])
    with pytest.raises(fincon.ValidationError):
        bc.native.batch([{"method": "GET", "url": "vendors"}] * 101)
    with pytest.raises(fincon.ValidationError):
        bc.native.batch([{"method": "GET", "url": "https://elsewhere.example/vendors"}])
    with pytest.raises(fincon.ValidationError):
        bc.native.batch([{"method": "GET", "url": "vendors\r\nX-Injected: 1"}])
    assert not [r for r in recorder.api() if r.url.path.endswith("/$batch")]


def test_a_company_given_by_name_is_looked_up_once(emulator: DynamicsEmulator, recorder: Recorder) -> None:
    with _connect(emulator, recorder, company=emulator.company_name) as bc:
        list(bc.vendors.list(max_pages=1))
        bc.vendors.get(VENDOR_ID)
    lookups = [r for r in recorder.api() if r.url.path.endswith("/companies")]
    assert len(lookups) == 1
    assert lookups[0].url.params["$filter"] == f"name eq '{emulator.company_name}'"


@pytest.mark.anyio
async def test_async_listing_and_writes(emulator: DynamicsEmulator) -> None:
    async with fincon.connect_async(
        "dynamics", sandbox=emulator, clock=emulator.clock, share_limits=False
    ) as bc:
        ids = [vendor.id async for vendor in bc.vendors.list(page_size=10)]
        assert ids == [record.id for record in emulator.collection("vendors")]
        created = await bc.vendors.create(Vendor(name="Async Supplies", email="ap@async.example"))
        updated = await bc.vendors.update(created.id, {"email": "billing@async.example"})
        assert updated.email == "billing@async.example"
        bill = await bc.bills.create(
            Bill(
                number="ASYNC-1",
                vendor=Ref(id=VENDOR_ID),
                issue_date=date(2026, 3, 1),
                lines=[
                    LineItem(
                        description="Paper",
                        quantity=Decimal(2),
                        unit_price=Money(Decimal("10.05"), "USD"),
                        account=Ref(id="0000acc0-0000-4000-8000-000000000003"),
                    )
                ],
            )
        )
        assert bill.lines
        assert bill.lines[0].amount == Money(Decimal("20.10"), "USD")
        posted = await bc.native.post("bill", bill.id)
        assert posted.status == "open"
        await bc.vendors.delete(created.id)
        with pytest.raises(fincon.NotFound):
            await bc.vendors.get(created.id)
        payments = [p async for p in bc.bill_payments.list(page_size=5, max_pages=1)]
        assert payments
        assert payments[0].amount.currency == "USD"
