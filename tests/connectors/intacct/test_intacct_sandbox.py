"""The Intacct sandbox serves repeated pages from a cache that never outlives a change."""

from __future__ import annotations

from intacct_testkit import emulator

import fincon
from fincon.connectors.intacct.sandbox import _PageCache
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


def test_the_page_cache_is_bounded_by_length_and_forgets_the_oldest() -> None:
    cache = _PageCache(limit=10)
    cache.put("a", ("xxxx", 1))
    cache.put("b", ("yyyy", 1))
    cache.get("a")  # a is now the most recently used
    cache.put("c", ("zzzz", 1))
    assert cache.get("b") is None
    assert cache.get("a") == ("xxxx", 1)
    assert cache.size == 8
    cache.put("a", ("x", 1))  # replacing a page counts its new length only
    assert cache.size == 5
    cache.put("huge", ("h" * 11, 1))
    assert cache.get("huge") is None


def test_pooled_records_render_exactly_as_their_fields_and_lines() -> None:
    """The pre-rendered XML spliced per record is what rendering its fields gives."""
    from fincon.connectors.intacct._seed import POOL_SIZE, render_fields

    emu = emulator(size=POOL_SIZE + 40)
    for name in ("VENDOR", "APBILL", "GLBATCH", "PODOCUMENT", "ARPYMT"):
        collection = emu.collections[name]
        for index in (0, 1, POOL_SIZE - 1, POOL_SIZE, POOL_SIZE + 1, POOL_SIZE + 39):
            data = collection.get(collection.ids.format(index)).data
            assert data.inner == render_fields(data.fields), (name, index)
            assert data.lines_inner == [render_fields(line) for line in data.lines], (name, index)
            assert data.fields["RECORDNO"] == str(index + 1)
            assert all(line["RECORDNO"].startswith(str(index + 1)) for line in data.lines)
