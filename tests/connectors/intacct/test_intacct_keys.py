"""Keys given to get/update/delete name exactly one record: never another one the server matched."""

from __future__ import annotations

import pytest
from intacct_testkit import emulator

import fincon
from fincon.core.clock import FakeClock
from fincon.errors import NotFound, ValidationError


def _connect(emu, clock, **settings):
    return fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False, **settings)


BAD_KEYS = ["NOPE,V000007", "V000007,", " V000007", "V000007 ", "V0000\n07", "V000007\x00", ""]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_key_naming_several_records_is_refused_before_anything_is_sent(key: str) -> None:
    clock = FakeClock()
    emu = emulator(size=10, clock=clock)
    with _connect(emu, clock) as connector:
        connector.check()
        sent = len(emu.functions_received)
        for call in (
            lambda: connector.vendors.get(key),
            lambda: connector.vendors.delete(key),
            lambda: connector.customers.update(key, {"name": "Renamed"}),
            lambda: connector.bills.get(key),
        ):
            with pytest.raises(ValidationError) as caught:
                call()
            assert caught.value.system == "intacct"
            assert caught.value.field in ("id", "VENDORID", "CUSTOMERID", "RECORDNO")
        assert len(emu.functions_received) == sent
    assert emu.vendors.get("7") is not None


def _answer_with_another_record(emu, obj: str, wanted: str, other: str) -> None:
    """Make the emulator answer a read of ``wanted`` with ``other`` (a server matching loosely)."""
    original = emu._read_by_name if obj == "readByName" else emu._read

    def loose(body, **kwargs):
        keys = body.find("keys")
        if keys.text == wanted:
            keys.text = other
        return original(body, **kwargs)

    if obj == "readByName":
        emu._read_by_name = loose
    else:
        emu._read = loose


def test_a_record_other_than_the_one_asked_for_is_not_found_and_not_deleted() -> None:
    clock = FakeClock()
    emu = emulator(size=10, clock=clock)
    _answer_with_another_record(emu, "readByName", "V000009", "V000007")
    with _connect(emu, clock) as connector:
        with pytest.raises(NotFound):
            connector.vendors.get("V000009")
        with pytest.raises(NotFound):
            connector.vendors.delete("V000009")
        assert connector.vendors.get("V000007").id == "V000007"
    assert "delete" not in emu.functions_received
    assert emu.vendors.get("7") is not None


def test_a_document_other_than_the_one_asked_for_is_not_found() -> None:
    clock = FakeClock()
    emu = emulator(size=10, clock=clock)
    _answer_with_another_record(emu, "read", "9", "7")
    with _connect(emu, clock) as connector:
        with pytest.raises(NotFound):
            connector.bills.get("9")
        assert connector.bills.get("7").id == "7"
