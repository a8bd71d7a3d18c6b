"""The Intacct sandbox serves repeated pages from a cache that never outlives a change."""

from __future__ import annotations

from intacct_testkit import emulator

import fincon
from fincon.core.clock import FakeClock


def _connect(emu, clock):
    return fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False)


def test_a_listing_read_twice_is_served_from_rendered_pages_until_something_changes() -> None:
    clock = FakeClock()
    emu = emulator(size=25, clock=clock)
    with _connect(emu, clock) as connector:
        first = [vendor.model_dump() for vendor in connector.vendors.list(page_size=10)]
        cached = len(emu.page_cache)
        second = [vendor.model_dump() for vendor in connector.vendors.list(page_size=10)]
        assert cached == 3
        assert len(emu.page_cache) == cached  # the same three pages, served again
        assert second == first
        connector.vendors.update("V000012", {"email": "changed@sandbox.example"})
        third = {vendor.id: vendor.email for vendor in connector.vendors.list(page_size=10)}
        via_query = {vendor.id: vendor.email for vendor in connector.vendors.list(page_size=1500)}
    assert third["V000012"] == via_query["V000012"] == "changed@sandbox.example"
    assert len(third) == len(via_query) == 25


def test_created_and_deleted_records_are_never_hidden_by_cached_pages() -> None:
    from fincon.models import Vendor

    clock = FakeClock()
    emu = emulator(size=12, clock=clock)
    with _connect(emu, clock) as connector:
        before = [vendor.id for vendor in connector.vendors.list(page_size=5)]
        connector.vendors.create(Vendor(id="V-LATE", name="Late Arrival Ltd"))
        connector.vendors.delete("V000001")
        after = [vendor.id for vendor in connector.vendors.list(page_size=5)]
    assert after == [*before[1:], "V-LATE"]
