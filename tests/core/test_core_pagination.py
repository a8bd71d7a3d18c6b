"""Pagination: strategies, opaque resumable cursors, and the loop guard (DESIGN section 5)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from fincon_corekit import SYSTEM, FakeServer, connector_with
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fincon
from fincon.core.flow import Flow, run_sync
from fincon.core.pagination import (
    CursorPagination,
    NextLinkPagination,
    OffsetPagination,
    PageTokenPagination,
    PageWalker,
    PaginationStrategy,
    ResultIdPagination,
    State,
    decode_cursor,
    encode_cursor,
)
from fincon.core.registry import SystemSpec, register_system, unregister_system
from fincon.core.resources import Listing, ListPlan, ListQuery, ResourceHandler
from fincon.errors import PaginationError, ValidationError
from fincon.models import Vendor

UTC = timezone.utc
Make = Callable[..., fincon.Connector]
MODES = ["cursor", "next_link", "offset_has_more", "offset_total", "page_token"]


# -- strategies -------------------------------------------------------------------------------------


def test_cursor_strategy() -> None:
    strategy = CursorPagination()
    assert strategy.params(None, 50) == {"limit": 50}
    assert strategy.params({"after": "v9"}, 50) == {"limit": 50, "starting_after": "v9"}
    assert strategy.next_state(None, {"has_more": True}, [{"id": "a"}, {"id": "b"}]) == {"after": "b"}
    assert strategy.next_state(None, {"has_more": False}, [{"id": "a"}]) is None
    assert strategy.next_state(None, {}, [{"id": "a"}]) is None
    with pytest.raises(PaginationError):
        strategy.next_state(None, {"has_more": True}, [])
    with pytest.raises(PaginationError):
        strategy.next_state(None, {"has_more": True}, [{"name": "no id"}])
    custom = CursorPagination(cursor_param="after", limit_param="top", has_more_field="more", id_field="key")
    assert custom.params({"after": "k1"}, 5) == {"top": 5, "after": "k1"}
    assert strategy.next_state(None, {"has_more": True}, [Vendor(name="x", id="v9")]) == {"after": "v9"}
    assert custom.next_state(None, {"more": True}, [{"key": 7}]) == {"after": "7"}


def test_next_link_strategy() -> None:
    strategy = NextLinkPagination(link_path=("d", "__next"))
    assert strategy.params(None, 10) == {}
    assert strategy.params({"url": "x"}, 10) == {}
    assert strategy.next_state(None, {"d": {"__next": "/v1/x?$skiptoken=5"}}, []) == {
        "url": "/v1/x?$skiptoken=5"
    }
    assert strategy.next_state(None, {"d": {"results": []}}, []) is None
    assert strategy.next_state(None, {"d": "odd"}, []) is None
    origin = httpx.URL("https://api.example.com/sap/opu")
    assert NextLinkPagination.link_for({"url": "/v1/x?p=2"}, origin) == "https://api.example.com/v1/x?p=2"
    assert httpx.URL(
        NextLinkPagination.link_for({"url": "https://api.example.com:443/v1/x"}, origin)
    ) == httpx.URL("https://api.example.com/v1/x")
    for foreign in (
        "https://evil.example/v1/x",
        "http://api.example.com/v1/x",
        "https://api.example.com:8443/x",
        "//evil.example/x",
    ):
        with pytest.raises(PaginationError, match="another origin"):
            NextLinkPagination.link_for({"url": foreign}, origin, system="s")


def test_offset_strategy_with_has_more_and_total() -> None:
    has_more = OffsetPagination()
    assert has_more.params(None, 20) == {"offset": 0, "limit": 20}
    assert has_more.params({"offset": 40}, 20) == {"offset": 40, "limit": 20}
    assert has_more.next_state(None, {"hasMore": True}, [1, 2]) == {"offset": 2}
    assert has_more.next_state({"offset": 2}, {"hasMore": True}, [1, 2]) == {"offset": 4}
    assert has_more.next_state({"offset": 2}, {"hasMore": False}, [1, 2]) is None
    assert has_more.next_state({"offset": 2}, {"hasMore": True}, []) is None  # an empty page ends it
    total = OffsetPagination(offset_param="skip", limit_param="top", has_more_field=None, total_field="count")
    assert total.params({"offset": 3}, 3) == {"skip": 3, "top": 3}
    assert total.next_state(None, {"count": 5}, [1, 2, 3]) == {"offset": 3}
    assert total.next_state({"offset": 3}, {"count": 5}, [4, 5]) is None


def test_page_token_strategy() -> None:
    strategy = PageTokenPagination()
    assert strategy.params(None, 7) == {"pageSize": 7}
    assert strategy.params({"token": "abc"}, 7) == {"pageSize": 7, "pageToken": "abc"}
    assert strategy.next_state(None, {"nextPageToken": "abc"}, []) == {"token": "abc"}
    assert strategy.next_state(None, {"nextPageToken": ""}, []) is None
    assert strategy.next_state(None, {}, []) is None


def test_result_id_strategy() -> None:
    strategy = ResultIdPagination()
    assert strategy.params(None, 100) == {}
    assert strategy.next_state(None, {"resultId": "R1", "numremaining": 200}, []) == {
        "result_id": "R1",
        "remaining": 200,
    }
    assert strategy.next_state(None, {"resultId": "R1", "numremaining": 0}, []) is None
    assert strategy.next_state(None, {"numremaining": 5}, []) is None
    assert strategy.next_state(None, "not a mapping", []) is None


# -- cursors ------------------------------------------------------------------------------------------


def test_cursor_round_trip_and_opacity() -> None:
    cursor = encode_cursor("offset", {"offset": 40}, "fp")
    assert decode_cursor(cursor) == ("offset", {"offset": 40}, "fp")
    assert all(c.isalnum() or c in "-_" for c in cursor)  # URL-safe, no padding
    assert "40" not in cursor  # opaque: not the vendor's token in plain sight


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage!",
        "eyJ2IjoxfQ",
        base64.urlsafe_b64encode(b'{"v":2,"m":"x","s":{},"q":""}').decode(),
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(b'{"v":1,"m":"x","s":{},"q":""}').decode(),
    ],
)
def test_malformed_cursors_are_validation_errors(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        decode_cursor(bad, system="sys")
    assert caught.value.field == "cursor"
    assert caught.value.system == "sys"


def test_non_string_cursor_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        decode_cursor(12345)  # type: ignore[arg-type]


def test_re_encoded_cursor_with_another_state_is_refused() -> None:
    """Editing the state inside a cursor (and re-encoding it validly) is detected."""
    cursor = encode_cursor("offset", {"offset": 40}, "fp")
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    data["s"] = {"offset": 400}
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    with pytest.raises(ValidationError):
        decode_cursor(forged)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@settings(deadline=None, max_examples=150)
@given(
    state=st.dictionaries(
        st.text(min_size=1, max_size=5), st.one_of(st.integers(), st.text(max_size=8)), max_size=3
    ),
    position=st.integers(min_value=0),
    replacement=st.sampled_from(_B64),
)
def test_any_single_character_change_is_refused_or_harmless(
    state: State, position: int, replacement: str
) -> None:
    cursor = encode_cursor("page_token", state, "0123456789abcdef")
    index = position % len(cursor)
    tampered = cursor[:index] + replacement + cursor[index + 1 :]
    try:
        decoded = decode_cursor(tampered)
    except ValidationError:
        return
    assert decoded == ("page_token", state, "0123456789abcdef")  # only bits that carry no data changed


# -- the walker ---------------------------------------------------------------------------------------


def test_walker_detects_cycles_and_counts_pages() -> None:
    walker = PageWalker(mechanism="page_token", fingerprint="f")
    assert walker.advance({"token": "a"}) is not None
    assert walker.advance({"token": "b"}) is not None
    with pytest.raises(PaginationError, match="cycle"):
        walker.advance({"token": "a"})
    assert walker.pages == 3


def test_walker_refuses_foreign_cursors() -> None:
    cursor = encode_cursor("offset", {"offset": 2}, "f1")
    with pytest.raises(ValidationError, match="other filters"):
        PageWalker(mechanism="offset", fingerprint="f2", cursor=cursor)
    with pytest.raises(ValidationError, match="pages by"):
        PageWalker(mechanism="starting_after", fingerprint="f1", cursor=cursor)
    resumed = PageWalker(mechanism="offset", fingerprint="f1", cursor=cursor)
    assert resumed.state == {"offset": 2}
    with pytest.raises(PaginationError):
        resumed.advance({"offset": 2})  # the resumed state counts as seen


def test_walker_max_pages() -> None:
    walker = PageWalker(mechanism="m", fingerprint="f", max_pages=2)
    walker.advance({"n": 1})
    assert not walker.finished
    walker.advance({"n": 2})
    assert walker.finished
    with pytest.raises(ValidationError):
        PageWalker(mechanism="m", fingerprint="f", max_pages=0)


# -- the loop guard, for any server -----------------------------------------------------------------


class GraphHandler(ResourceHandler[Any]):
    """Pages a server-side graph without HTTP: node ``state['token']`` points to ``graph[node]``."""

    name = "vendor"
    mechanism = "page_token"

    def __init__(self, graph: dict[int, int | None], strategy: PaginationStrategy) -> None:
        self.graph = graph
        self.strategy = strategy
        self.fetched: list[int] = []

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Any], State | None]]:
        yield from ()
        node = 0 if state is None else int(state["token"])
        self.fetched.append(node)
        following = self.graph[node]
        body = {"nextPageToken": None if following is None else str(following)}
        return [node], self.strategy.next_state(state, body, [node])


def _expected_pages(graph: dict[int, int | None], max_pages: int | None) -> tuple[int, bool]:
    """(pages fetched, ends in a PaginationError) for the walk starting at node 0."""
    seen: set[int] = set()
    pages, node, failed = 0, 0, False
    while True:
        pages += 1
        following = graph[node]
        if following is None:
            break
        if following in seen:
            failed = True
            break
        if max_pages is not None and pages >= max_pages:
            break
        seen.add(following)
        node = following
    if max_pages is not None and pages > max_pages:  # pragma: no cover - cannot happen
        raise AssertionError
    return pages, failed


_NO_NETWORK = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500)))


@st.composite
def graphs(draw: st.DrawFn) -> dict[int, int | None]:
    size = draw(st.integers(1, 12))
    return {node: draw(st.one_of(st.none(), st.integers(0, size - 1))) for node in range(size)}


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(), max_pages=st.one_of(st.none(), st.integers(1, 15)))
def test_any_cursor_graph_ends(graph: dict[int, int | None], max_pages: int | None) -> None:
    handler = GraphHandler(graph, PageTokenPagination())
    plan = ListPlan(
        "graph", handler, updated_since=None, filters=None, page_size=None, cursor=None, max_pages=max_pages
    )
    listing = Listing(plan, lambda flow: run_sync(flow, _NO_NETWORK))
    failed = False
    try:
        for _ in listing.pages():
            pass
    except PaginationError:
        failed = True
    distinct_states = len(set(graph.values()) - {None})
    assert len(handler.fetched) <= distinct_states + 1
    if max_pages is not None:
        assert len(handler.fetched) <= max_pages
    assert (len(handler.fetched), failed) == _expected_pages(graph, max_pages)


@pytest.mark.usefixtures("modes")
def test_self_loop_is_stopped_after_two_pages(make: Make, server: FakeServer) -> None:
    server.pagination = "page_token"
    server.token_graph = {None: "A", "A": "A"}
    erp = _connect_mode(make, "page_token")
    with pytest.raises(PaginationError, match="cycle") as caught:
        list(erp.vendors.list())
    assert caught.value.system == erp.system
    assert len(server.requests) == 2


@pytest.mark.usefixtures("modes")
def test_cycle_through_several_pages(make: Make, server: FakeServer) -> None:
    server.pagination = "page_token"
    server.token_graph = {None: "A", "A": "B", "B": "C", "C": "A"}
    erp = _connect_mode(make, "page_token")
    seen: list[str | None] = []

    def consume() -> None:
        seen.extend(vendor.id for vendor in erp.vendors.list())

    with pytest.raises(PaginationError):
        consume()
    assert seen == ["t-None", "t-A", "t-B"]  # every page before the cycle was delivered
    assert len(server.requests) == 4


# -- strategies end to end, and resuming in a new connector -----------------------------------------------


@pytest.fixture
def modes() -> Iterator[None]:
    yield
    for mode in MODES:
        unregister_system(f"corepages{mode.replace('_', '')}")


def _connect_mode(make: Make, mode: str, **settings: Any) -> fincon.Connector:
    name = f"corepages{mode.replace('_', '')}"
    register_system(SystemSpec(name=name, connector=connector_with(mode, name)), replace=True)
    return make(system=name, **settings)


@pytest.mark.usefixtures("modes")
@pytest.mark.parametrize("mode", MODES)
def test_listing_and_resume_in_a_new_connector(make: Make, mode: str) -> None:
    server = FakeServer(vendors=7, pagination=mode)
    first = _connect_mode(make, mode, transport=server.transport())
    everything = [v.id for v in first.vendors.list(page_size=2)]
    assert everything == [f"v{i:03d}" for i in range(1, 8)]

    pages = first.vendors.list(page_size=2).pages()
    head = [next(pages), next(pages)]
    cursor = head[-1].next_cursor
    assert cursor is not None
    pages.close()

    second = _connect_mode(make, mode, transport=server.transport())  # a later process
    rest = list(second.vendors.list(page_size=2, cursor=cursor))
    resumed = [v.id for page in head for v in page.items] + [v.id for v in rest]
    assert resumed == everything  # no gap, no repeat


@pytest.mark.usefixtures("modes")
def test_paging_parameters_on_the_wire(make: Make) -> None:
    expectations = {
        "cursor": [{"limit": "3"}, {"limit": "3", "starting_after": "v003"}],
        "offset_has_more": [{"offset": "0", "limit": "3"}, {"offset": "3", "limit": "3"}],
        "offset_total": [{"offset": "0", "limit": "3"}, {"offset": "3", "limit": "3"}],
        "page_token": [{"pageSize": "3"}, {"pageSize": "3", "pageToken": base64.b64encode(b"at:3").decode()}],
        "next_link": [{}, {"$skip": "2"}],
    }
    for mode, expected in expectations.items():
        server = FakeServer(vendors=5, pagination=mode)
        erp = _connect_mode(make, mode, transport=server.transport())
        list(erp.vendors.list(page_size=3, max_pages=2))
        assert [dict(r.url.params) for r in server.requests] == expected, mode


def test_result_id_listing_with_a_hand_written_handler(make: Make, server: FakeServer) -> None:
    server.seed_customers(5)
    erp = make()
    pages = list(erp.customers.list(page_size=2).pages())
    assert [[c.id for c in p.items] for p in pages] == [["c001", "c002"], ["c003", "c004"], ["c005"]]
    assert [r.url.path for r in server.requests] == [
        "/v1/customers/query",
        "/v1/customers/readMore",
        "/v1/customers/readMore",
    ]
    assert server.requests[1].url.params["resultId"] == "R1"


def test_result_id_resume(make: Make, server: FakeServer) -> None:
    server.seed_customers(5)
    first = make()
    page = next(first.customers.list(page_size=2).pages())
    rest = list(make().customers.list(page_size=2, cursor=page.next_cursor))
    assert [c.id for c in page.items] + [c.id for c in rest] == ["c001", "c002", "c003", "c004", "c005"]


def test_cursor_refused_when_filters_differ(make: Make, server: FakeServer) -> None:
    erp = make()
    page = next(erp.vendors.list(page_size=1, filters={"status": "active"}).pages())
    assert page.next_cursor is not None
    sent = len(server.requests)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    for other in (
        {"filters": {"status": "inactive"}},
        {"filters": {}},
        {"filters": {"status": "active"}, "updated_since": since},
    ):
        with pytest.raises(ValidationError) as caught:
            erp.vendors.list(page_size=1, cursor=page.next_cursor, **other)
        assert caught.value.field == "cursor"
        assert caught.value.system == SYSTEM
    with pytest.raises(ValidationError):
        erp.customers.list(cursor=page.next_cursor)  # another resource, another mechanism
    assert len(server.requests) == sent
    # the same filters resume fine
    assert [
        v.id for v in erp.vendors.list(page_size=1, filters={"status": "active"}, cursor=page.next_cursor)
    ] == [
        "v003",
        "v005",
    ]


def test_tampered_cursor_is_refused_before_sending(make: Make, server: FakeServer) -> None:
    erp = make()
    page = next(erp.vendors.list(page_size=2).pages())
    cursor = page.next_cursor
    assert cursor is not None
    sent = len(server.requests)
    middle = len(cursor) // 2
    for tampered in (
        cursor[:-3],
        cursor + "AAAA",
        cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :],
    ):
        with pytest.raises(ValidationError) as caught:
            erp.vendors.list(page_size=2, cursor=tampered)
        assert caught.value.field == "cursor"
    assert len(server.requests) == sent


def test_max_pages_stops_and_leaves_a_resumable_cursor(make: Make, server: FakeServer) -> None:
    erp = make()
    listing = erp.vendors.list(page_size=2, max_pages=2)
    assert [v.id for v in listing] == ["v001", "v002", "v003", "v004"]
    assert len(server.requests) == 2
    assert listing.next_cursor is not None
    assert [v.id for v in erp.vendors.list(page_size=2, cursor=listing.next_cursor)] == ["v005"]


@pytest.mark.usefixtures("modes")
@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://api.coretest.example",
        "https://api.coretest.example:8443",
        "https://api.coretest.example.evil.example",
    ],
)
def test_next_link_to_another_origin_is_refused(make: Make, origin: str) -> None:
    server = FakeServer(vendors=5, pagination="next_link")
    server.next_link_origin = origin
    erp = _connect_mode(make, "next_link", transport=server.transport())
    with pytest.raises(PaginationError, match="another origin"):
        list(erp.vendors.list())
    assert len(server.requests) == 1
    assert {r.url.host for r in server.requests} == {"api.coretest.example"}


@pytest.mark.usefixtures("modes")
def test_next_link_on_the_same_origin_keeps_credentials_there(make: Make) -> None:
    from fincon_corekit import CountingBearer

    server = FakeServer(vendors=5, pagination="next_link", require_auth=True)
    erp = _connect_mode(make, "next_link", transport=server.transport(), auth=CountingBearer())
    assert len(list(erp.vendors.list())) == 5
    assert all(r.url.host == "api.coretest.example" for r in server.requests)


@pytest.mark.anyio
async def test_async_pages_and_resume(
    make_async: Callable[..., fincon.AsyncConnector], server: FakeServer
) -> None:
    async with make_async() as erp:
        pages = erp.vendors.list(page_size=2).pages()
        first = await pages.__anext__()
        await pages.aclose()
        assert first.next_cursor is not None
        rest = [v.id async for v in erp.vendors.list(page_size=2, cursor=first.next_cursor)]
        assert [v.id for v in first.items] + rest == ["v001", "v002", "v003", "v004", "v005"]
        listing = erp.vendors.list(page_size=2, max_pages=1)
        assert [v.id async for v in listing] == ["v001", "v002"]
        assert listing.next_cursor is not None
