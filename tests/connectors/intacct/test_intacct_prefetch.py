"""Prefetching Intacct listings: page N+1 travels while page N is mapped, with every guarantee kept.

readMore moves a server-held result set, so prefetching one is only correct because the
connector sends readMore only from the position it knows the server stands at: a cursor
handed out before a page that was fetched ahead continues with ``query`` instead.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from intacct_testkit import emulator

import fincon
from fincon.core.clock import FakeClock
from fincon.core.pagination import decode_cursor
from fincon.core.resources import prefetch_with_a_spare_cpu

ALL = [f"V{n:06d}" for n in range(1, 56)]


def _connect(emu, clock, **settings):
    return fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False, **settings)


def _prefetch_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("fincon-prefetch")]


def test_prefetching_listings_read_every_record_once_in_order() -> None:
    clock = FakeClock()
    emu = emulator(size=55, clock=clock)
    with _connect(emu, clock) as connector:
        assert connector.vendors.list(page_size=10).prefetch == prefetch_with_a_spare_cpu()
        listing = connector.vendors.list(page_size=10, prefetch=True)
        assert [vendor.id for vendor in listing] == ALL
        assert [vendor.id for vendor in connector.vendors.list(page_size=10, prefetch=False)] == ALL
    assert emu.functions_received.count("readMore") == 2 * 5  # one per page after the first, per listing
    assert not _prefetch_threads()


def test_the_next_page_is_fetched_while_the_current_one_is_consumed() -> None:
    clock = FakeClock()
    emu = emulator(size=55, clock=clock)
    with _connect(emu, clock) as connector:
        pages = connector.vendors.list(page_size=10, prefetch=True).pages()
        next(pages)
        for _ in range(200):  # the background fetch of page 2 needs no help from the consumer
            if "readMore" in emu.functions_received:
                break
            threading.Event().wait(0.01)
        assert emu.functions_received.count("readMore") == 1
        pages.close()
    assert not _prefetch_threads()


def test_a_cursor_handed_out_before_a_prefetched_page_resumes_without_a_gap() -> None:
    clock = FakeClock()
    emu = emulator(size=55, clock=clock)
    with _connect(emu, clock) as connector:
        pages = connector.vendors.list(page_size=10, prefetch=True).pages()
        first = next(pages)
        second = next(pages)  # page 3 is now on its way (or already read)
        pages.close()
        resumed = [v.id for v in connector.vendors.list(page_size=10, cursor=second.next_cursor)]
        again = [v.id for v in connector.vendors.list(page_size=10, cursor=first.next_cursor)]
    assert [v.id for v in first.items] + [v.id for v in second.items] + resumed == ALL
    assert again == ALL[10:]
    assert decode_cursor(second.next_cursor)[1]["via"] == "readMore"


def test_a_lost_read_more_in_the_background_continues_with_query_once() -> None:
    clock = FakeClock()
    emu = emulator(size=55, clock=clock)
    with _connect(emu, clock) as connector:
        emu.faults.drop_after(times=1, when=lambda request: b"<readMore>" in request.content)
        ids = [vendor.id for vendor in connector.vendors.list(page_size=10, prefetch=True)]
    assert ids == ALL
    assert emu.functions_received.count("readMore") == 1  # the lost one is never sent again


def test_a_session_expiring_mid_listing_is_renewed_once_by_the_background_fetch() -> None:
    clock = FakeClock()
    emu = emulator(size=55, clock=clock)
    with _connect(emu, clock) as connector:
        got = []
        for vendor in connector.vendors.list(page_size=10, prefetch=True):
            got.append(vendor.id)
            if len(got) == 15:
                emu.expire_sessions()
    assert got == ALL
    assert emu.sessions_issued == 2


def test_prefetched_documents_carry_their_lines() -> None:
    clock = FakeClock()
    emu = emulator(size=25, clock=clock)
    expected = [[line["TRX_AMOUNT"] for line in data.lines] for data in emu.records("APBILL")]
    with _connect(emu, clock) as connector:
        plain = list(connector.bills.list(page_size=7, prefetch=True))
        since = list(
            connector.bills.list(page_size=7, updated_since=datetime(2000, 1, 1, tzinfo=UTC), prefetch=True)
        )
    for bills in (plain, since):
        assert [[str(line.amount.amount) for line in bill.lines] for bill in bills] == expected


@pytest.mark.anyio
async def test_async_listings_prefetch_too() -> None:
    clock = FakeClock()
    emu = emulator(size=55, clock=clock)
    async with fincon.connect_async("intacct", sandbox=emu, clock=clock, share_limits=False) as connector:
        assert connector.vendors.list(page_size=10).prefetch == prefetch_with_a_spare_cpu()
        listing = connector.vendors.list(page_size=10, prefetch=True)
        assert [vendor.id async for vendor in listing] == ALL
    assert emu.functions_received.count("readMore") == 5
