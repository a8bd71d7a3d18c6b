"""A listed vendor is exactly what ``fincon.to_record`` makes of its element.

The listing maps records on its own hot path (tuned for speed); these vendors are odd on
purpose (missing and empty fields, comments, CDATA, duplicates, the flat ``query`` shape,
leap-day and end-of-century timestamps) so that any drift between that path and the one
mapping shows up as a difference.
"""

from __future__ import annotations

from typing import Any

import pytest
from intacct_testkit import emulator
from lxml import etree

import fincon
from fincon.connectors.intacct._seed import ObjectData
from fincon.errors import ServerError
from fincon.sandbox import SandboxTransport

#: RECORDNO -> the vendor's inner XML as the server sends it.
ODD_VENDORS = {
    "1": "<RECORDNO>1</RECORDNO><VENDORID>V-MIN</VENDORID>",
    "2": (
        "<RECORDNO>2</RECORDNO><VENDORID>V-EMPTY</VENDORID><NAME/><STATUS></STATUS><TAXID/>"
        "<DISPLAYCONTACT><EMAIL1></EMAIL1><MAILADDRESS/></DISPLAYCONTACT><WHENMODIFIED/>"
    ),
    "3": (
        "<RECORDNO>3</RECORDNO><VENDORID>V-LEAP</VENDORID><NAME>Leap Day GmbH</NAME>"
        "<STATUS>inactive</STATUS><ONHOLD>true</ONHOLD><CURRENCY>EUR</CURRENCY>"
        "<WHENMODIFIED>02/29/2024 23:59:59</WHENMODIFIED>"
    ),
    "4": (
        "<RECORDNO>4</RECORDNO><!-- a comment --><VENDORID>V-ODD</VENDORID><?pi x?>"
        "<NAME>  Spaced &amp; <![CDATA[<escaped>]]>  </NAME><STATUS>suspended</STATUS>"
        "<DISPLAYCONTACT><COMPANYNAME>Zoë Ltd</COMPANYNAME><!-- c --><PHONE1>+44 20</PHONE1>"
        "<MAILADDRESS><CITY>Zürich</CITY><COUNTRYCODE>CH</COUNTRYCODE></MAILADDRESS>"
        "</DISPLAYCONTACT><WHENMODIFIED>12/31/1999 00:00:00</WHENMODIFIED>"
    ),
    "5": (
        "<RECORDNO>5</RECORDNO><VENDORID>V-FLAT</VENDORID><NAME>Flat Shape</NAME>"
        "<DISPLAYCONTACT.EMAIL1>flat@example.com</DISPLAYCONTACT.EMAIL1>"
        "<DISPLAYCONTACT.MAILADDRESS.ADDRESS1>1 Flat St</DISPLAYCONTACT.MAILADDRESS.ADDRESS1>"
    ),
    "6": (
        "<RECORDNO>6</RECORDNO><VENDORID>V-DUP</VENDORID><NAME>First</NAME><NAME>Second</NAME>"
        "<DISPLAYCONTACT><EMAIL1>a@example.com</EMAIL1><EMAIL1>b@example.com</EMAIL1>"
        "<MAILADDRESS><ADDRESS1>1 A St</ADDRESS1><ADDRESS2>Suite 2</ADDRESS2>"
        "<STATE>CA</STATE><ZIP>94105</ZIP></MAILADDRESS></DISPLAYCONTACT>"
        "<EXTRA><DEEP><DEEPER>kept in raw</DEEPER></DEEP></EXTRA>"
        "<WHENMODIFIED>01/01/2026 00:00:01</WHENMODIFIED>"
    ),
    "7": (
        "<RECORDNO>7</RECORDNO><VENDORID>V-MIXED</VENDORID><NAME>text<!-- not a leaf --></NAME>"
        "<DISPLAYCONTACT>loose text<EMAIL1>m@example.com</EMAIL1></DISPLAYCONTACT>"
    ),
}


def _odd_emulator() -> Any:
    emu = emulator(size=12)
    for recordno, inner in ODD_VENDORS.items():
        emu.vendors.update(recordno, ObjectData({"RECORDNO": recordno}, inner=inner))
    return emu


def _connect(emu: Any) -> Any:
    return fincon.connect(
        "intacct", transport=SandboxTransport(emu), base_url=emu.base_url, **emu.credentials()
    )


def _without_raw(record: Any) -> Any:
    return record.model_copy(update={"raw": None})


@pytest.mark.parametrize("prefetch", [False, True])
def test_listed_vendors_equal_to_record_of_their_element(prefetch: bool) -> None:
    emu = _odd_emulator()
    with _connect(emu) as client:
        listed = list(client.vendors.list(page_size=5, prefetch=prefetch))
    assert len(listed) == 12
    for vendor in listed:
        text = etree.tostring(vendor.raw)
        expected = fincon.to_record("intacct", "vendor", text)  # a fresh parse of the same XML
        assert _without_raw(vendor) == _without_raw(expected), text
        assert etree.tostring(expected.raw) == text  # raw is the element as received
    by_id = {vendor.id: vendor for vendor in listed}
    # A few facts, so that "equal" cannot mean "both empty".
    assert by_id["V-MIN"].name == "V-MIN"
    assert by_id["V-MIN"].updated_at is None
    assert by_id["V-EMPTY"].name == "V-EMPTY"
    assert by_id["V-EMPTY"].email is None
    assert by_id["V-LEAP"].status == "blocked"
    assert by_id["V-LEAP"].updated_at.isoformat() == "2024-02-29T23:59:59+00:00"
    assert by_id["V-ODD"].name == "  Spaced & <escaped>  "
    assert by_id["V-ODD"].addresses[0].city == "Zürich"
    assert by_id["V-FLAT"].email == "flat@example.com"
    assert by_id["V-DUP"].name == "Second"
    assert by_id["V-DUP"].addresses[0].region == "CA"
    assert by_id["V-MIXED"].name == "V-MIXED"  # NAME has a comment child: not a leaf field
    assert sum(1 for vendor in listed if vendor.addresses) >= 6  # the seeded ones have addresses


def test_a_vendor_the_mapping_refuses_fails_the_listing_as_it_fails_to_record() -> None:
    emu = emulator(size=3)
    inner = "<RECORDNO>2</RECORDNO><VENDORID>V-BAD</VENDORID><WHENMODIFIED>2026-01-01</WHENMODIFIED>"
    emu.vendors.update("2", ObjectData({"RECORDNO": "2"}, inner=inner))
    with pytest.raises(ValueError, match="WHENMODIFIED"):
        fincon.to_record("intacct", "vendor", f"<vendor>{inner}</vendor>")
    with _connect(emu) as client, pytest.raises(ServerError, match="WHENMODIFIED") as caught:
        list(client.vendors.list(prefetch=False))
    assert caught.value.code == "unmappable_record"


def test_a_listed_page_tree_is_freed_with_its_records_not_by_the_cycle_collector() -> None:
    # A response may sit in a reference cycle until the cyclic collector runs; a page's
    # parsed tree must not be kept there with it (memory, and that collector's time).
    import gc

    emu = emulator(size=30)
    with _connect(emu) as client:
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            assert sum(1 for _ in client.vendors.list(page_size=10, prefetch=False)) == 30
            gc.collect()
            trees = [o for o in gc.garbage if type(o).__name__ in ("_Element", "_Document")]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    assert [getattr(o, "tag", o) for o in trees] == []


@pytest.mark.parametrize("resource", ["vendor", "customer"])
def test_the_element_path_equals_the_flattened_fields_path(resource: str) -> None:
    # to_record reads straight from the element; from_fields reads flatten()'s output. Both
    # go through one field table: on odd records they must agree, down to the fields set.
    from fincon.connectors.intacct._values import flatten
    from fincon.connectors.intacct.mapping import MAPPERS

    mapper = MAPPERS[resource]
    key = "VENDORID" if resource == "vendor" else "CUSTOMERID"
    for inner in ODD_VENDORS.values():
        node = etree.fromstring(f"<{resource}>{inner.replace('VENDORID', key)}</{resource}>")
        direct = mapper.to_record(node)
        via_fields = mapper.from_fields(flatten(node), [], node)
        assert direct == via_fields, inner
        assert direct.model_fields_set == via_fields.model_fields_set
        assert direct.id is not None


@pytest.mark.parametrize("resource", ["vendor", "customer"])
def test_every_slot_of_the_party_table_reaches_the_record(resource: str) -> None:
    """``_record`` names each slot itself: a field added to the table but not there would be
    read from the XML and then silently dropped."""
    from fincon.connectors.intacct.mapping import MAPPERS

    mapper = MAPPERS[resource]
    read: set[str] = set()

    class Watched(dict[str, Any]):
        def __getitem__(self, key: str) -> Any:
            read.add(key)
            return super().__getitem__(key)

    slots = Watched(dict.fromkeys(mapper._table.values()))
    record = mapper._record(slots, None)
    assert read == set(mapper._table.values())
    assert record.name == ""
