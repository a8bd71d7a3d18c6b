"""readByQuery/readMore listings: cursors resume without gaps, and readMore is sent only when safe."""

from __future__ import annotations

from intacct_testkit import emulator

import fincon
from fincon.connectors.intacct._result_sets import ResultSetPositions
from fincon.core.clock import FakeClock
from fincon.core.pagination import decode_cursor

ALL = [f"V{n:06d}" for n in range(1, 46)]


def _connect(emu, clock, **settings):
    return fincon.connect("intacct", sandbox=emu, clock=clock, share_limits=False, **settings)


def _ids(pages) -> list[str]:
    return [record.id for page in pages for record in page.items]


def test_an_older_cursor_resumes_exactly_after_its_page_in_the_same_process() -> None:
    """The server's result set has moved past that cursor: readMore would skip pages."""
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as connector:
        pages = connector.vendors.list(page_size=10).pages()
        first = next(pages)
        next(pages)
        next(pages)  # the server's result set now stands at 30
        pages.close()
        assert decode_cursor(first.next_cursor)[1]["via"] == "readMore"
        sent = len(emu.functions_received)
        resumed = list(connector.vendors.list(page_size=10, cursor=first.next_cursor).pages())
    assert [r.id for r in first.items] + _ids(resumed) == ALL
    assert "readMore" not in emu.functions_received[sent:]  # the server stands elsewhere: query


def test_a_cursor_used_twice_reads_the_same_records_twice() -> None:
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as connector:
        first = next(connector.vendors.list(page_size=10).pages())
        once = list(connector.vendors.list(page_size=10, cursor=first.next_cursor))
        sent = list(emu.functions_received)
        twice = list(connector.vendors.list(page_size=10, cursor=first.next_cursor))
    assert [r.id for r in once] == [r.id for r in twice] == ALL[10:]
    assert set(emu.functions_received[len(sent) :]) == {"query"}  # the server has moved on


def test_a_cursor_from_another_connector_continues_with_query() -> None:
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as first:
        page = next(first.vendors.list(page_size=10).pages())
    sent = len(emu.functions_received)  # the first may have fetched page 2 ahead
    with _connect(emu, clock) as second:
        rest = list(second.vendors.list(page_size=10, cursor=page.next_cursor).pages())
    assert [r.id for r in page.items] + _ids(rest) == ALL
    assert "readMore" not in emu.functions_received[sent:]
    assert decode_cursor(rest[0].next_cursor)[1] == {"via": "query", "after": 20}


def test_an_unbroken_listing_uses_read_more_to_the_end() -> None:
    clock = FakeClock()
    emu = emulator(size=45, clock=clock)
    with _connect(emu, clock) as connector:
        assert [r.id for r in connector.vendors.list(page_size=10)] == ALL
        assert len(connector._core.result_sets) == 0  # a finished result set is not remembered
    assert emu.functions_received.count("readMore") == 4
    assert "query" not in emu.functions_received


def test_a_position_is_claimed_once_and_only_where_it_was_recorded() -> None:
    positions = ResultSetPositions(limit=2)
    positions.record("a", 10)
    assert not positions.claim("a", 20)  # another position: and the entry is gone
    assert not positions.claim("a", 10)
    positions.record("a", 10)
    assert positions.claim("a", 10)
    assert not positions.claim("a", 10)
    for name in ("x", "y", "z"):
        positions.record(name, 1)
    assert len(positions) == 2
    assert not positions.claim("x", 1)  # the oldest was forgotten
    assert positions.claim("z", 1)
