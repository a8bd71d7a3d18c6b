"""The Intacct sandbox escapes everything it echoes: its answers stay well-formed XML
whatever names, ids and objects a request (or its configuration) holds."""

from __future__ import annotations

import pytest
from intacct_testkit import emulator

import fincon
from fincon.connectors.intacct._xml import element, sub
from fincon.core.clock import FakeClock
from fincon.errors import FinconError
from fincon.models import Vendor

AWKWARD = "Smith <&\"'> Sons"


def _connect(emu, clock):
    return fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False)


def test_a_name_with_markup_characters_round_trips_through_every_read() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    with _connect(emu, clock) as connector:
        created = connector.vendors.create(Vendor(id="V-AWK", name=AWKWARD))
        got = connector.vendors.get("V-AWK")
        by_read_more = {v.id: v.name for v in connector.vendors.list(page_size=2)}
        by_query = {v.id: v.name for v in connector.vendors.list(page_size=1500)}
    assert created.name == got.name == by_read_more["V-AWK"] == by_query["V-AWK"] == AWKWARD


@pytest.mark.parametrize("function", ["readByQuery", "query", "read", "readByName", "inspect", "delete"])
def test_an_unknown_object_gets_intacct_s_error_with_its_name_escaped(function: str) -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    body = element(function)
    sub(body, "object", AWKWARD)
    with _connect(emu, clock) as connector, pytest.raises(FinconError) as caught:
        connector.native.call(body)
    errors = caught.value.details["errors"]
    assert errors[0]["errorno"] == "BL01001973"
    assert errors[0]["description2"] == f"Object definition {AWKWARD} not found."


def test_user_and_company_ids_with_markup_characters_come_back_intact() -> None:
    clock = FakeClock()
    emu = emulator(size=5, clock=clock)
    emu.user_id = "ws<&\"'>"
    emu.company_id = "CO&<\"'>"
    with _connect(emu, clock) as connector:
        identity = connector.check()
    assert (identity.user, identity.account) == (emu.user_id, emu.company_id)
