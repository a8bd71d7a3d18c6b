"""SAP's resources on the shared ODataResource: prefetching listings, journal entries grouped
from line items across server pages, day-granular ``updated_since``, vendor blocking, and
creates looked up after a lost answer."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from sap_testkit import emulator

import fincon
from fincon.errors import Conflict
from fincon.models import Vendor
from fincon.sandbox import SandboxTransport

LINES = ("API_GLACCOUNTLINEITEM", "GLAccountLineItem")
PARTNERS = ("API_BUSINESS_PARTNER", "A_BusinessPartner")


def connect(sap: Any, **settings: Any) -> Any:
    return fincon.connect("sap", sandbox=sap, clock=sap.clock, share_limits=False, **settings)


def documents(sap: Any) -> Counter[str]:
    """Lines per accounting document in the leading ledger, by journal entry id."""
    return Counter(
        f"{r.data['CompanyCode']}/{r.data['FiscalYear']}/{r.data['AccountingDocument']}"
        for r in sap.store(*LINES).iter()
        if r.data.get("Ledger") == "0L"
    )


class Threads(httpx.BaseTransport):
    """The sandbox, noting which thread sent each request."""

    def __init__(self, sap: Any) -> None:
        self.inner = SandboxTransport(sap)
        self.threads: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.threads.append(threading.current_thread().name)
        return self.inner.handle_request(request)


def test_sap_listings_prefetch_with_the_same_records_and_cursors() -> None:
    sap = emulator(size=25)
    threads = Threads(sap)
    with fincon.connect(
        "sap",
        **sap.credentials(),
        base_url=sap.base_url,
        transport=threads,
        clock=sap.clock,
        share_limits=False,
    ) as connector:
        assert connector.vendors.list().prefetch == "auto"
        assert connector.journal_entries.list().prefetch == "auto"
        fetched = list(connector.vendors.list(page_size=10, prefetch=True).pages())
        plain = list(connector.vendors.list(page_size=10, prefetch=False).pages())
    assert [[v.id for v in p.items] for p in fetched] == [[v.id for v in p.items] for p in plain]
    assert [p.next_cursor for p in fetched] == [p.next_cursor for p in plain]
    assert sum(len(p.items) for p in fetched) == 25
    assert "fincon-prefetch-vendor" in threads.threads


@pytest.mark.parametrize("prefetch", [True, False])
def test_journal_entries_are_whole_when_the_server_pages_inside_a_window(prefetch: bool) -> None:
    sap = emulator(size=12, max_page_size=5)  # Gateway caps pages below the 4 * page_size lines asked
    expected = documents(sap)
    with connect(sap) as connector:
        entries = list(connector.journal_entries.list(page_size=3, prefetch=prefetch))
    assert [e.id for e in entries] == sorted(expected)  # every document once, in key order
    assert {e.id: len(e.lines) for e in entries} == dict(expected)


def test_a_document_longer_than_the_window_is_not_cut() -> None:
    sap = emulator(size=4)
    store = sap.store(*LINES)
    ledger = sorted((r.data for r in store.iter() if r.data.get("Ledger") == "0L"), key=lambda d: d["ID"])
    debit, credit = ledger[0], ledger[1]  # the first document's two lines, which balance
    assert debit["AccountingDocument"] == credit["AccountingDocument"]
    for pair in range(4):  # four more balanced pairs: ten lines in all
        for n, line in enumerate((debit, credit)):
            item = 10 + 2 * pair + n
            store.create({**line, "ID": f"{line['ID']}-{item}", "LedgerGLLineItem": f"{item:06d}"})
    expected = documents(sap)
    assert max(expected.values()) == 10
    with connect(sap) as connector:
        pages = list(connector.journal_entries.list(page_size=1).pages())  # windows of 4 lines
        entry = connector.journal_entries.get(pages[0].items[0].id)
    listed = {e.id: len(e.lines) for p in pages for e in p.items}
    assert listed == dict(expected)
    assert len(entry.lines) == 10


def test_vendor_updated_since_compares_with_the_start_of_the_day() -> None:
    # LastChangeDate holds a day: comparing with 15:30 would miss partners changed that morning.
    sap = emulator(size=5)
    seen: list[httpx.Request] = []
    checks = sap.before

    def before(request: httpx.Request, service: Any) -> httpx.Response | None:
        seen.append(request)
        return checks(request, service)

    sap.before = before
    with connect(sap) as connector:
        list(connector.vendors.list(updated_since=datetime(2025, 3, 4, 15, 30, tzinfo=timezone.utc)))
    sent = dict(parse_qsl(seen[-1].url.query.decode()))
    assert sent["$filter"] == "(Supplier ne '') and (LastChangeDate ge datetime'2025-03-04T00:00:00')"
    assert sent["$orderby"] == "BusinessPartner"


def test_a_vendor_delete_blocks_the_partner_with_an_audited_merge() -> None:
    sap = emulator(size=5)
    events: list[Any] = []
    with connect(sap, audit=[events.append]) as connector:
        connector.vendors.delete("10000002")
        blocked = connector.vendors.get("10000002")
    assert blocked.status == "blocked"
    assert sap.store(*PARTNERS).find(("10000002",)).data["BusinessPartnerIsBlocked"] is True
    assert [(e.action, e.record_id, e.result) for e in events] == [("delete", "10000002", "success")]


class LosingCreates(httpx.BaseTransport):
    """The sandbox, except that the answers to the first ``losses`` creates are lost."""

    def __init__(self, sap: Any, losses: int) -> None:
        self.inner = SandboxTransport(sap)
        self.losses = losses
        self.creates = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if (
            request.method == "POST"
            and "X-HTTP-Method" not in request.headers
            and response.status_code == 201
        ):
            self.creates += 1
            if self.losses:
                self.losses -= 1
                raise httpx.ReadError("connection reset after the request was sent", request=request)
        return response


def _losing(sap: Any, losses: int) -> tuple[Any, LosingCreates]:
    transport = LosingCreates(sap, losses)
    connector = fincon.connect(
        "sap",
        **sap.credentials(),
        base_url=sap.base_url,
        transport=transport,
        clock=sap.clock,
        share_limits=False,
    )
    return connector, transport


def test_a_vendor_create_whose_answer_is_lost_is_found_by_its_external_id() -> None:
    sap = emulator(size=5)
    connector, transport = _losing(sap, losses=1)
    with connector:
        created = connector.vendors.create(Vendor(name="Lost Answer GmbH", external_id="LOST-1"))
    stored = [
        r for r in sap.store(*PARTNERS).iter() if r.data.get("BusinessPartnerIDByExtSystem") == "LOST-1"
    ]
    assert len(stored) == 1
    assert created.id == stored[0].data["BusinessPartner"]
    assert created.name == "Lost Answer GmbH"
    assert transport.creates == 1


def test_two_partners_with_the_external_id_make_a_lost_create_a_conflict() -> None:
    sap = emulator(size=5)
    with connect(sap) as connector:
        connector.vendors.create(Vendor(name="Twin GmbH", external_id="TWIN-1"))
    connector, transport = _losing(sap, losses=1)
    with connector, pytest.raises(Conflict) as raised:
        connector.vendors.create(Vendor(name="Twin GmbH", external_id="TWIN-1"))
    assert raised.value.code == "ambiguous_lookup"
    assert transport.creates == 1  # found two: cannot tell, so nothing is sent again
    stored = [
        r for r in sap.store(*PARTNERS).iter() if r.data.get("BusinessPartnerIDByExtSystem") == "TWIN-1"
    ]
    assert len(stored) == 2
