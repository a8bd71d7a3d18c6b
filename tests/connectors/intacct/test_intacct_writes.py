"""Deleting parties and updating drafts: never applied twice, lost answers resolved by a lookup."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from intacct_testkit import emulator

import fincon
from fincon.core.clock import FakeClock
from fincon.errors import NotFound, RemoteValidationError, ValidationError
from fincon.models import Bill, Customer, Invoice, LineItem, Money, Ref, Vendor


def _connect(emu, clock, **settings):
    return fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False, **settings)


def _is_delete(request) -> bool:
    return b"<delete>" in request.content


def test_a_seeded_and_a_created_party_are_deleted() -> None:
    clock = FakeClock()
    emu = emulator(size=8, clock=clock)
    with _connect(emu, clock) as connector:
        connector.vendors.delete("V000003")
        connector.customers.create(Customer(id="C-GONE", name="Short Lived Ltd"))
        connector.customers.delete("C-GONE")
        with pytest.raises(NotFound):
            connector.vendors.get("V000003")
        with pytest.raises(NotFound):
            connector.customers.get("C-GONE")
        listed = [vendor.id for vendor in connector.vendors.list()]
    assert "V000003" not in listed
    assert len(listed) == 7
    assert emu.functions_received.count("delete") == 2
    assert "delete" in connector.capabilities["vendor"]


def test_deleting_a_missing_party_is_not_found_and_sends_no_delete() -> None:
    clock = FakeClock()
    emu = emulator(size=3, clock=clock)
    with _connect(emu, clock) as connector, pytest.raises(NotFound):
        connector.vendors.delete("V999999")
    assert "delete" not in emu.functions_received


def test_a_delete_whose_answer_was_lost_after_it_applied_is_not_sent_again() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        connector.check()
        emu.faults.drop_after(times=1, when=_is_delete)
        connector.vendors.delete("V000002")  # the lookup proves it applied: success
    assert emu.functions_received.count("delete") == 1
    assert emu.vendors.get("2") is None


def test_a_delete_lost_before_it_applied_is_sent_again_once() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        connector.check()
        emu.faults.timeout(applied=False, times=1, when=_is_delete)
        connector.vendors.delete("V000004")
    assert emu.functions_received.count("delete") == 1  # the first never reached the server
    assert emu.vendors.get("4") is None
    assert emu.faults.kinds() == ["timeout"]


def test_documents_cannot_be_deleted_and_bad_keys_never_leave() -> None:
    from fincon.connectors.intacct._functions import delete

    clock = FakeClock()
    with _connect(emulator(size=3, clock=clock), clock) as connector:
        assert "delete" not in connector.capabilities["bill"]
        with pytest.raises(fincon.Unsupported):
            connector.bills.delete("1")
    with pytest.raises(ValidationError):
        delete("VENDOR", ["V000001"])  # keys are RECORDNOs
    with pytest.raises(ValidationError):
        delete("VENDOR", [])


def test_a_created_vendor_can_be_deleted_and_created_again() -> None:
    clock = FakeClock()
    emu = emulator(size=3, clock=clock)
    with _connect(emu, clock) as connector:
        connector.vendors.create(Vendor(id="V-AGAIN", name="Again Ltd"))
        connector.vendors.delete("V-AGAIN")
        again = connector.vendors.create(Vendor(id="V-AGAIN", name="Again Ltd"))
    assert again.id == "V-AGAIN"


def _draft_bill(number: str = "DRAFT-1") -> Bill:
    return Bill(
        number=number,
        vendor=Ref("V000001"),
        issue_date=date(2026, 4, 1),
        status="draft",
        lines=[LineItem(account=Ref("6000"), amount=Money(Decimal("10.00"), "USD"))],
    )


def test_a_draft_bill_is_updated_with_new_lines_and_then_posted() -> None:
    clock = FakeClock()
    emu = emulator(size=3, clock=clock)
    with _connect(emu, clock) as connector:
        draft = connector.bills.create(_draft_bill())
        assert draft.status == "draft"
        changed = connector.bills.update(
            draft.id,
            {
                "memo": "Corrected",
                "due_date": date(2026, 5, 1),
                "lines": [
                    LineItem(account=Ref("6000"), amount=Money(Decimal("7.25"), "USD")),
                    LineItem(
                        account=Ref("6100"),
                        amount=Money(Decimal("0.10"), "USD"),
                        dimensions={"department": "ENG"},
                    ),
                ],
            },
        )
        posted = connector.bills.update(draft.id, {"status": "open"})
        with pytest.raises(RemoteValidationError, match="only drafts"):
            connector.bills.update(draft.id, {"memo": "too late"})
    assert changed.status == "draft"
    assert changed.memo == "Corrected"
    assert changed.due_date == date(2026, 5, 1)
    assert changed.total == Money(Decimal("7.35"), "USD")
    assert [line.amount for line in changed.lines] == [
        Money(Decimal("7.25"), "USD"),
        Money(Decimal("0.10"), "USD"),
    ]
    assert changed.lines[1].dimensions == {"department": "ENG"}
    assert posted.status == "open"
    assert posted.total == Money(Decimal("7.35"), "USD")
    assert posted.memo == "Corrected"


def test_posting_a_draft_whose_answer_was_lost_is_not_sent_again() -> None:
    clock = FakeClock()
    emu = emulator(size=3, clock=clock)
    with _connect(emu, clock) as connector:
        draft = connector.invoices.create(
            Invoice(
                customer=Ref("C000001"),
                issue_date=date(2026, 4, 1),
                status="draft",
                lines=[LineItem(account=Ref("4000"), amount=Money(Decimal("99.99"), "USD"))],
            )
        )
        emu.faults.drop_after(times=1, when=lambda request: b"<update>" in request.content)
        posted = connector.invoices.update(draft.id, {"status": "open"})
    assert posted.status == "open"
    assert emu.functions_received.count("update") == 1


def test_field_updates_of_a_draft_are_resent_after_a_lost_answer() -> None:
    clock = FakeClock()
    emu = emulator(size=3, clock=clock)
    with _connect(emu, clock) as connector:
        draft = connector.bills.create(_draft_bill())
        emu.faults.drop_after(times=1, when=lambda request: b"<update>" in request.content)
        changed = connector.bills.update(draft.id, {"memo": "Twice is the same"})
    assert changed.memo == "Twice is the same"
    assert emu.functions_received.count("update") == 2


def test_bad_draft_updates_are_refused_before_anything_is_sent() -> None:
    clock = FakeClock()
    emu = emulator(size=3, clock=clock)
    with _connect(emu, clock) as connector:
        draft = connector.bills.create(_draft_bill())
        sent = len(emu.functions_received)
        for changes in (
            {"total": Money(Decimal("1.00"), "USD")},
            {"status": "paid"},
            {"lines": []},
            {
                "lines": [
                    LineItem(account=Ref("6000"), amount=Money(Decimal("1.00"), "USD")),
                    LineItem(account=Ref("6000"), amount=Money(Decimal("1.00"), "EUR")),
                ]
            },
            {"issue_date": None},
        ):
            with pytest.raises(ValidationError):
                connector.bills.update(draft.id, changes)
        with pytest.raises(ValidationError):
            connector.bills.update("BILL-000001", {"memo": "x"})
        assert len(emu.functions_received) == sent
        assert "update" not in connector.capabilities["journal_entry"]
