"""Listings continue after the last RECORDNO seen, so records deleted or inserted between
pages are neither skipped nor repeated (an offset would shift by one for each)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from intacct_testkit import API_XSD, connect_checked, emulator
from lxml import etree

import fincon
from fincon.connectors.intacct import filters as F
from fincon.connectors.intacct._keyset import cursor_recordno, last_in_order, last_recordno, recordnos
from fincon.core.clock import FakeClock
from fincon.core.pagination import decode_cursor, encode_cursor
from fincon.errors import PaginationError, ServerError
from fincon.models import Vendor
from fincon.testing.specs import XmlSchemaContract, require_spec

ALL = [f"V{n:06d}" for n in range(1, 46)]
SINCE = datetime(2000, 1, 1, tzinfo=UTC)


def _connect(emu, clock, **settings):
    return fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False, **settings)


def _change_behind(connector) -> None:
    """Delete a record the listing has already passed and insert one after the rest."""
    connector.vendors.delete("V000003")
    connector.vendors.create(Vendor(id="V-LATE", name="Late Arrival Ltd"))


def _with_state(cursor: str, state: dict) -> str:
    """``cursor`` with its state replaced (a cursor as an older fincon wrote it)."""
    mechanism, _state, fingerprint = decode_cursor(cursor)
    return encode_cursor(mechanism, state, fingerprint)


def test_an_updated_since_listing_resumed_after_a_delete_and_an_insert_neither_skips_nor_repeats() -> None:
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as connector:
        first = next(connector.vendors.list(updated_since=SINCE, page_size=10, prefetch=False).pages())
        assert decode_cursor(first.next_cursor)[1] == {"via": "query", "after": 10}
        _change_behind(connector)
        rest = [
            v.id for v in connector.vendors.list(updated_since=SINCE, page_size=10, cursor=first.next_cursor)
        ]
    assert [v.id for v in first.items] == ALL[:10]
    assert rest == [*ALL[10:], "V-LATE"]  # at offset 10, V000011 would have been skipped


def test_a_read_more_cursor_resumed_elsewhere_after_a_delete_and_an_insert_neither_skips_nor_repeats() -> (
    None
):
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as first:
        page = next(first.vendors.list(page_size=10, prefetch=False).pages())
    assert decode_cursor(page.next_cursor)[1]["after"] == 10
    with _connect(emu, clock) as second:
        _change_behind(second)
        sent = len(emu.functions_received)
        rest = [v.id for v in second.vendors.list(page_size=10, cursor=page.next_cursor)]
    assert [v.id for v in page.items] + rest == [*ALL, "V-LATE"]
    assert "readMore" not in emu.functions_received[sent:]


def test_a_lost_read_more_after_a_delete_continues_after_the_last_recordno() -> None:
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as connector:
        pages = connector.vendors.list(page_size=10, prefetch=False).pages()
        first = next(pages)
        connector.vendors.delete("V000004")  # already read: an offset would now skip one
        emu.faults.drop_after(times=1, when=lambda request: b"<readMore>" in request.content)
        rest = [v.id for page in pages for v in page.items]
    assert [v.id for v in first.items] + rest == ALL
    assert emu.functions_received.count("readMore") == 1


def test_an_offset_cursor_from_an_older_version_is_still_accepted() -> None:
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as connector:
        first = next(connector.vendors.list(updated_since=SINCE, page_size=10, prefetch=False).pages())
        legacy = _with_state(first.next_cursor, {"via": "query", "offset": 10})
        pages = list(connector.vendors.list(updated_since=SINCE, page_size=10, cursor=legacy).pages())
    assert [v.id for page in pages for v in page.items] == ALL[10:]
    assert decode_cursor(pages[0].next_cursor)[1] == {"via": "query", "after": 20}  # by RECORDNO from then on


def test_a_read_more_cursor_from_an_older_version_continues_at_its_position() -> None:
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as first:
        page = next(first.vendors.list(page_size=10, prefetch=False).pages())
    state = decode_cursor(page.next_cursor)[1]
    legacy = _with_state(page.next_cursor, {k: v for k, v in state.items() if k != "after"})
    with _connect(emu, clock) as second:
        rest = [v.id for v in second.vendors.list(page_size=10, cursor=legacy)]
    assert rest == ALL[10:]


def test_a_result_set_not_in_recordno_order_is_never_continued_by_recordno() -> None:
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as first:
        page = next(first.vendors.list(page_size=10, prefetch=False).pages())
    unordered = _with_state(page.next_cursor, {**decode_cursor(page.next_cursor)[1], "after": None})
    with _connect(emu, clock) as second, pytest.raises(PaginationError, match="RECORDNO order"):
        list(second.vendors.list(page_size=10, cursor=unordered))


@pytest.mark.parametrize("after", ["10", -1, True, 2.5])
def test_a_tampered_after_is_refused(after) -> None:
    clock = FakeClock()
    emu = emulator(size=15, clock=clock)
    with _connect(emu, clock) as connector:
        first = next(connector.vendors.list(updated_since=SINCE, page_size=10, prefetch=False).pages())
        sent = len(emu.functions_received)
        bad = _with_state(first.next_cursor, {"via": "query", "after": after})
        with pytest.raises(PaginationError, match="RECORDNO"):
            list(connector.vendors.list(updated_since=SINCE, page_size=10, cursor=bad))
    assert emu.functions_received[sent:] == []


def _records(*numbers: str) -> list:
    records = "".join(f"<VENDOR><RECORDNO>{n}</RECORDNO></VENDOR>" for n in numbers)
    page = etree.fromstring(f"<data>{records}</data>")
    return recordnos(list(page), page)


def test_recordnos_compare_as_numbers_and_a_page_out_of_order_is_refused() -> None:
    assert last_recordno(_records("9", "10", "100"), 8, object="VENDOR") == 100
    assert last_recordno([], 7, object="VENDOR") == 7
    for numbers, after in ((("5", "4"), None), (("5",), 5), (("x",), None), (("",), None)):
        with pytest.raises(ServerError, match="RECORDNO order"):
            last_recordno(_records(*numbers), after, object="VENDOR")
    assert last_in_order(_records("9", "10"), 0) == 10
    assert last_in_order(_records("9", "8"), 0) is None
    assert last_in_order(_records("9"), 9) is None
    assert last_in_order(_records("11"), None) is None  # once out of order, always
    assert cursor_recordno(0) == 0


def test_the_sandbox_filters_recordno_as_a_number() -> None:
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as connector:
        page = connector.native.query("VENDOR", fields=["RECORDNO"], filter=F.greater_than("RECORDNO", 9))
        combined = connector.native.query(
            "VENDOR",
            fields=["RECORDNO"],
            filter=F.and_(F.equal_to("VENDORID", "V000040"), F.greater_than("RECORDNO", 9)),
        )
    assert [r.findtext("RECORDNO") for r in page.records] == [str(n) for n in range(10, 46)]
    assert [r.findtext("RECORDNO") for r in combined.records] == ["40"]


def test_continuation_requests_validate_against_api_xsd() -> None:
    contract = XmlSchemaContract(require_spec(API_XSD))
    clock = FakeClock()
    emu = emulator(size=25, clock=clock)
    with _connect(emu, clock) as first:
        page = next(first.vendors.list(page_size=10, prefetch=False).pages())
    connector, checking = connect_checked(emu, contract, clock=clock)
    with connector:
        rest = [v.id for v in connector.vendors.list(page_size=10, cursor=page.next_cursor)]
        since = [v.id for v in connector.vendors.list(updated_since=SINCE, page_size=10)]
    assert rest == [f"V{n:06d}" for n in range(11, 26)]
    assert since == [f"V{n:06d}" for n in range(1, 26)]
    assert checking.requests_checked >= 5


_ODD_RECORDS = (
    "<VENDOR><RECORDNO>7</RECORDNO></VENDOR>",
    "<VENDOR><NAME>x</NAME><RECORDNO>12</RECORDNO></VENDOR>",
    "<VENDOR><RECORDNO><![CDATA[31]]></RECORDNO></VENDOR>",
    "<VENDOR><RECORDNO>4<!-- c --></RECORDNO></VENDOR>",
    "<VENDOR><RECORDNO><!-- c -->5</RECORDNO></VENDOR>",
    "<VENDOR><RECORDNO>6<![CDATA[1]]></RECORDNO></VENDOR>",
    "<VENDOR><RECORDNO/></VENDOR>",
    "<VENDOR><RECORDNO>x9</RECORDNO></VENDOR>",
    "<VENDOR><RECORDNO>٣</RECORDNO></VENDOR>",
    "<VENDOR><RECORDNO>8<X/></RECORDNO></VENDOR>",
    "<VENDOR><RECORDNO>3</RECORDNO><RECORDNO>99</RECORDNO></VENDOR>",
    "<VENDOR><NAME>no number</NAME></VENDOR>",
    "<VENDOR/>",
)


def test_a_page_read_in_one_xpath_call_gives_what_walking_each_record_gives() -> None:
    import random

    from fincon.connectors.intacct import _keyset

    rng = random.Random(7)
    for _ in range(300):
        chosen = rng.choices(_ODD_RECORDS, k=rng.randint(1, 6))
        separator = rng.choice(("", "<!-- between -->", "<?pi x?>"))
        page = etree.fromstring(f"<data>{separator.join(chosen)}</data>")
        records = [node for node in page if isinstance(node.tag, str)]
        assert recordnos(records, page) == [_keyset._recordno(record) for record in records], chosen


def test_a_plain_page_is_read_without_walking_its_records(monkeypatch) -> None:
    from fincon.connectors.intacct import _keyset

    records = "".join(f"<V><RECORDNO>{n}</RECORDNO><N>a</N></V>" for n in range(1, 6))
    page = etree.fromstring(f"<data>{records}</data>")
    monkeypatch.setattr(_keyset, "_recordno", lambda record: pytest.fail("walked a plain record"))
    assert recordnos(list(page), page) == [1, 2, 3, 4, 5]
    assert recordnos([], page) == []
