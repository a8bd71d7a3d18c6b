"""The same Intacct surface, awaited: listings with lines, a lost readMore, writes, native calls."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from intacct_testkit import emulator

import fincon
from fincon.core.clock import FakeClock
from fincon.errors import NotFound
from fincon.models import Bill, LineItem, Money, Ref, Vendor

pytestmark = pytest.mark.anyio


def _connect(emu, clock):
    return fincon.connect_async("intacct", sandbox=emu, clock=clock, share_limits=False)


async def test_async_listing_reads_every_vendor_and_bill_with_its_lines() -> None:
    clock = FakeClock()
    emu = emulator(size=35, clock=clock)
    async with _connect(emu, clock) as connector:
        vendors = [vendor.id async for vendor in connector.vendors.list(page_size=10)]
        bills = [bill async for bill in connector.bills.list(page_size=10)]
    assert vendors == [data.fields["VENDORID"] for data in emu.records("VENDOR")]
    assert [bill.id for bill in bills] == [data.fields["RECORDNO"] for data in emu.records("APBILL")]
    expected = [[line["TRX_AMOUNT"] for line in data.lines] for data in emu.records("APBILL")]
    assert [[str(line.amount.amount) for line in bill.lines] for bill in bills] == expected


async def test_async_lost_read_more_continues_with_query() -> None:
    clock = FakeClock()
    emu = emulator(size=30, clock=clock)
    async with _connect(emu, clock) as connector:
        emu.faults.drop_after(times=1, when=lambda request: b"<readMore>" in request.content)
        ids = [record.id async for record in connector.vendors.list(page_size=10)]
    assert ids == [f"V{n:06d}" for n in range(1, 31)]
    assert emu.functions_received.count("readMore") == 1  # lost, never sent again: query goes on


async def test_async_create_update_delete_and_native() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    async with _connect(emu, clock) as connector:
        created = await connector.vendors.create(Vendor(id="V-ASYNC", name="Async Supplies"))
        updated = await connector.vendors.update("V-ASYNC", {"email": "ap@async.example"})
        bill = await connector.bills.create(
            Bill(
                number="ASYNC-1",
                vendor=Ref("V-ASYNC"),
                issue_date=date(2026, 3, 1),
                lines=[LineItem(account=Ref("6000"), amount=Money(Decimal("20.10"), "USD"))],
            )
        )
        page = await connector.native.read_by_query("VENDOR", page_size=2)
        await connector.vendors.delete("V000001")
        with pytest.raises(NotFound):
            await connector.vendors.get("V000001")
    assert created.id == "V-ASYNC"
    assert updated.email == "ap@async.example"
    assert bill.total == Money(Decimal("20.10"), "USD")
    assert bill.vendor == Ref("V-ASYNC", "Async Supplies")
    assert page.count == 2
    assert page.remaining == 4
