"""A create whose answer was lost is resolved by a lookup that never takes an older record for it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from intacct_testkit import emulator

import fincon
from fincon.core.clock import FakeClock
from fincon.errors import Conflict
from fincon.models import Bill, LineItem, Money, Ref


def _connect(emu, clock, **settings):
    return fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False, **settings)


def _bill(amount: str) -> Bill:
    return Bill(
        number="DUP-1",
        vendor=Ref("V000001"),
        issue_date=date(2026, 1, 1),
        lines=[LineItem(account=Ref("6000"), amount=Money(Decimal(amount), "USD"))],
    )


def _is_create(request) -> bool:
    return b"<create>" in request.content


def test_a_lost_create_applied_returns_the_new_bill_not_an_older_one_with_the_same_number() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        old = connector.bills.create(_bill("1.00"))
        clock.advance(86400)
        emu.faults.drop_after(times=1, when=_is_create)
        new = connector.bills.create(_bill("2.00"))
    assert new.id != old.id
    assert new.total == Money(Decimal("2.00"), "USD")
    assert emu.functions_received.count("create") == 2


def test_a_lost_create_not_applied_is_resent_although_an_older_bill_has_its_number() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        old = connector.bills.create(_bill("1.00"))
        clock.advance(86400)
        emu.faults.timeout(applied=False, times=1, when=_is_create)
        new = connector.bills.create(_bill("3.00"))
    assert new.id != old.id
    assert new.total == Money(Decimal("3.00"), "USD")
    assert sum(1 for data in emu.records("APBILL") if data.fields.get("RECORDID") == "DUP-1") == 2


def test_several_recent_matches_are_a_conflict_and_nothing_is_resent() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        connector.bills.create(_bill("1.00"))
        emu.faults.drop_after(times=1, when=_is_create)
        with pytest.raises(Conflict) as caught:
            connector.bills.create(_bill("2.00"))
    assert "RECORDID" in str(caught.value)
    assert "VENDORID" in str(caught.value)
    assert caught.value.details == {"fields": ["RECORDID", "VENDORID"]}
    assert emu.functions_received.count("create") == 2
