"""Record iteration maps each payload when it is reached; ``pages()`` maps a page at a time.

Mapping as the caller goes frees a record as soon as the caller is done with it (fewer objects
survive into the garbage collector's older generations). What must not change: the records and
their order, and that a listing stopped by a record that cannot be mapped resumes without
losing any record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fincon_corekit import FakeServer, VendorMapper

import fincon
from fincon.errors import ServerError
from fincon.models import Vendor

Make = Callable[..., fincon.Connector]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids the vendor mapper has mapped, in order."""
    mapped: list[str] = []
    original = VendorMapper.to_record

    def to_record(self: VendorMapper, payload: Any) -> Vendor:
        mapped.append(str(payload.get("id")))
        return original(self, payload)

    monkeypatch.setattr(VendorMapper, "to_record", to_record)
    return mapped


@pytest.mark.parametrize("prefetch", [False, True])
def test_records_are_mapped_as_the_iteration_reaches_them(
    make: Make, server: FakeServer, counted: list[str], prefetch: bool
) -> None:
    erp = make()
    records = iter(erp.vendors.list(page_size=5, prefetch=prefetch))
    first = next(records)
    assert first.id == "v001"
    assert counted == ["v001"], "the rest of the page was mapped before it was asked for"
    assert [vendor.id for vendor in records] == ["v002", "v003", "v004", "v005"]
    assert counted == ["v001", "v002", "v003", "v004", "v005"]


def test_pages_still_map_a_whole_page_at_once(make: Make, server: FakeServer, counted: list[str]) -> None:
    erp = make()
    pages = erp.vendors.list(page_size=3).pages()
    page = next(pages)
    assert [vendor.id for vendor in page.items] == ["v001", "v002", "v003"]
    assert counted == ["v001", "v002", "v003"]
    pages.close()


def _collect(listing: Any, seen: list[str]) -> None:
    for vendor in listing:
        seen.append(str(vendor.id))


def _collect_pages(listing: Any, delivered: list[list[str]]) -> None:
    for page in listing.pages():
        delivered.append([str(vendor.id) for vendor in page.items])


async def _collect_async(listing: Any, seen: list[str], counted: list[str], at_first: list[str]) -> None:
    async for vendor in listing:
        seen.append(str(vendor.id))
        if vendor.id == "v001":
            at_first.extend(counted)


def _break_vendor(server: FakeServer, vid: str) -> None:
    del server.vendors[vid]["name"]  # the mapper needs a name: this payload cannot be mapped


@pytest.mark.parametrize("prefetch", [False, True])
def test_an_unmappable_record_stops_the_listing_where_it_is_and_resume_loses_nothing(
    make: Make, server: FakeServer, prefetch: bool
) -> None:
    _break_vendor(server, "v004")
    erp = make()
    listing = erp.vendors.list(page_size=2, prefetch=prefetch)
    seen: list[str] = []
    with pytest.raises(ServerError) as caught:
        _collect(listing, seen)
    assert caught.value.code == "unmappable_record"
    assert "v004" in str(caught.value)
    assert seen == ["v001", "v002", "v003"], "records before the bad one are delivered in order"
    # The cursor resumes at the start of the bad record's page: v003 again, nothing skipped.
    resume = listing.next_cursor
    assert resume is not None
    server.vendors["v004"]["name"] = "Vendor 4, repaired"
    again = [vendor.id for vendor in erp.vendors.list(page_size=2, cursor=resume, prefetch=prefetch)]
    assert again == ["v003", "v004", "v005"]


def test_pages_raise_an_unmappable_record_before_any_record_of_its_page(
    make: Make, server: FakeServer
) -> None:
    _break_vendor(server, "v004")
    erp = make()
    listing = erp.vendors.list(page_size=2)
    delivered: list[list[str]] = []
    with pytest.raises(ServerError):
        _collect_pages(listing, delivered)
    assert delivered == [["v001", "v002"]]
    server.vendors["v004"]["name"] = "Vendor 4, repaired"
    resumed = erp.vendors.list(page_size=2, cursor=listing.next_cursor)
    assert [vendor.id for vendor in resumed] == ["v003", "v004", "v005"]


@pytest.mark.anyio
@pytest.mark.parametrize("prefetch", [False, True])
async def test_async_records_are_mapped_as_reached_and_an_error_resumes_at_its_page(
    make_async: Callable[..., fincon.AsyncConnector], server: FakeServer, counted: list[str], prefetch: bool
) -> None:
    _break_vendor(server, "v004")
    async with make_async() as erp:
        listing = erp.vendors.list(page_size=2, prefetch=prefetch)
        seen: list[str] = []
        mapped_at_first: list[str] = []
        with pytest.raises(ServerError):
            await _collect_async(listing, seen, counted, mapped_at_first)
        assert mapped_at_first == ["v001"], "the rest of the page was mapped before it was asked for"
        assert seen == ["v001", "v002", "v003"]
        server.vendors["v004"]["name"] = "Vendor 4, repaired"
        resumed = erp.vendors.list(page_size=2, cursor=listing.next_cursor, prefetch=prefetch)
        assert [vendor.id async for vendor in resumed] == ["v003", "v004", "v005"]


def test_iterating_a_listing_twice_is_refused(make: Make) -> None:
    erp = make()
    listing = erp.vendors.list(page_size=2)
    assert len(list(listing)) == 5
    with pytest.raises(fincon.errors.ValidationError):
        next(iter(listing))


def test_iter_payloads_can_drain_a_page_as_it_maps_it() -> None:
    from fincon.core.mapping import iter_payloads

    payloads = [{"id": f"v{n}", "name": f"Vendor {n}"} for n in range(5)]
    page = list(payloads)
    records = iter_payloads(VendorMapper(), page, system="s", resource="vendor", drain=True)
    first = next(records)
    assert first.id == "v0"
    assert len(page) == 4
    assert all(payload is not payloads[0] for payload in page), "the page still held a payload it handed out"
    assert [record.id for record in records] == ["v1", "v2", "v3", "v4"]
    assert page == []
    kept = list(payloads)
    assert len(list(iter_payloads(VendorMapper(), kept, system="s", resource="vendor"))) == 5
    assert kept == payloads, "without drain=True the caller's list is left alone"


def test_a_drained_page_still_names_the_unmappable_record_by_position() -> None:
    from fincon.core.mapping import iter_payloads

    page: list[Any] = [{"id": "v0", "name": "ok"}, {"name": "no id"}]
    with pytest.raises(ServerError, match="#1"):
        list(iter_payloads(VendorMapper(), page, system="s", resource="vendor", drain=True))
