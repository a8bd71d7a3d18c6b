"""ODataResource listings split into fetch_page/map_page, so they prefetch: sync and async,
client paging ($top/$skip windows), server paging (next-links), cursors and max_pages."""

from __future__ import annotations

import threading
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import httpx
import pytest
from odata_testkit import BASE_URL, SupplierMapper, Suppliers, V2Core, V4Core, V4Vendors, seeded

from fincon.core.client import AsyncConnector, Connector
from fincon.core.clock import FakeClock
from fincon.core.connector import ConnectorSettings
from fincon.core.flow import Flow
from fincon.core.pagination import State
from fincon.core.resources import FetchedPage, ListQuery
from fincon.errors import ServerError
from fincon.models import Vendor
from fincon.protocols.odata import ODataVersion

V2, V4 = ODataVersion.V2, ODataVersion.V4
PREFETCH_THREAD = "fincon-prefetch-vendor"


class ThreadNoting(SupplierMapper):
    """Notes the thread each payload is mapped in."""

    threads: ClassVar[list[str]] = []

    def to_record(self, payload: Any) -> Vendor:
        self.threads.append(threading.current_thread().name)
        return super().to_record(payload)


class NotedV2(Suppliers):
    mapper = ThreadNoting()


class NotedV4(V4Vendors):
    mapper = ThreadNoting()


class NotingV2Core(V2Core):
    resources: ClassVar[Any] = {"vendor": NotedV2}


class NotingV4Core(V4Core):
    resources: ClassVar[Any] = {"vendor": NotedV4}


class ThreadRecordingServer:
    """The test server's transport, noting the thread each request was sent from."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.threads: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.threads.append(threading.current_thread().name)
        return self.server.handle(request)  # type: ignore[no-any-return]


def _connect(server: Any, *, noting: bool = True) -> tuple[Connector, ThreadRecordingServer]:
    core_class = (NotingV4Core if server.version.is_v4 else NotingV2Core) if noting else None
    if core_class is None:
        core_class = V4Core if server.version.is_v4 else V2Core
    recording = ThreadRecordingServer(server)
    core = core_class(ConnectorSettings(base_url=BASE_URL, clock=FakeClock(), max_retries=0))
    return Connector(core, httpx.Client(transport=httpx.MockTransport(recording.handle))), recording


def _windows(server: Any) -> list[tuple[str | None, str | None, str | None]]:
    sent = [dict(parse_qsl(r.url.query.decode())) for r in server.requests]
    return [(p.get("$top"), p.get("$skip"), p.get("$skiptoken")) for p in sent]


@pytest.fixture(autouse=True)
def _fresh_notes() -> None:
    ThreadNoting.threads.clear()


def test_handlers_are_not_prefetching_by_default_and_can_be_asked_to() -> None:
    server = seeded(V2, suppliers=3)
    erp, _ = _connect(server)
    with erp:
        assert erp.vendors.list().prefetch is False  # ODataResource leaves it to each connector
        assert erp.vendors.list(prefetch=True).prefetch is True


def test_client_paging_prefetches_and_maps_in_the_consumer() -> None:
    server = seeded(V2, suppliers=7)
    erp, recording = _connect(server)
    with erp:
        names = [v.name for v in erp.vendors.list(page_size=2, prefetch=True)]
    assert names == [f"Supplier {n}" for n in range(1, 8)]
    # The same windows as without prefetch, in order, and no more.
    assert _windows(server) == [("2", None, None), ("2", "2", None), ("2", "4", None), ("2", "6", None)]
    main = threading.current_thread().name
    assert recording.threads[0] == main  # the first page is fetched in place
    assert recording.threads[1:] == [PREFETCH_THREAD] * 3  # the others while a page was mapped
    assert ThreadNoting.threads == [main] * 7  # mapping stays with the consumer (map_page)


def test_server_paging_inside_windows_is_prefetched_in_order() -> None:
    server = seeded(V2, suppliers=9, server_page=2)
    erp, recording = _connect(server)
    with erp:
        ids = [v.id for v in erp.vendors.list(page_size=4, prefetch=True)]
    assert ids == [f"{n:04d}" for n in range(1, 10)]
    assert _windows(server) == [
        ("4", None, None),
        ("4", None, "2"),  # the server's next-link inside the first window
        ("4", "4", None),
        ("4", "4", "2"),
        ("4", "8", None),
    ]
    assert set(recording.threads[1:]) == {PREFETCH_THREAD}


def test_v4_next_link_cursors_are_the_same_with_and_without_prefetch() -> None:
    plain_server, fetching_server = seeded(V4, suppliers=7), seeded(V4, suppliers=7)
    plain, _ = _connect(plain_server)
    fetching, recording = _connect(fetching_server)
    with plain, fetching:
        plain_pages = list(plain.vendors.list(page_size=3, prefetch=False).pages())
        pages = list(fetching.vendors.list(page_size=3, prefetch=True).pages())
        assert [p.next_cursor for p in pages] == [p.next_cursor for p in plain_pages]
        assert [[v.id for v in p.items] for p in pages] == [
            ["0001", "0002", "0003"],
            ["0004", "0005", "0006"],
            ["0007"],
        ]
        assert pages[-1].next_cursor is None
        # Resumed in a "later process" (another connector), with prefetch: no gap, no repeat.
        resumed, _ = _connect(fetching_server)
        with resumed:
            rest = [
                v.id for v in resumed.vendors.list(page_size=3, cursor=pages[0].next_cursor, prefetch=True)
            ]
    assert rest == ["0004", "0005", "0006", "0007"]
    assert PREFETCH_THREAD in recording.threads


def test_client_paging_cursor_resumes_mid_listing_with_prefetch() -> None:
    server = seeded(V2, suppliers=10)
    erp, _ = _connect(server)
    with erp:
        listing = erp.vendors.list(page_size=3, prefetch=True)
        pages = listing.pages()
        first = next(pages)
        second = next(pages)
        pages.close()  # stop early: the prefetch of the third page is cancelled
        cursor = second.next_cursor
        assert cursor is not None
        rest = [v.id for v in erp.vendors.list(page_size=3, cursor=cursor, prefetch=True)]
    assert [v.id for v in first.items + second.items] + rest == [f"{n:04d}" for n in range(1, 11)]


def test_max_pages_sends_exactly_that_many_page_requests() -> None:
    server = seeded(V2, suppliers=10)
    erp, _ = _connect(server)
    with erp:
        listed = list(erp.vendors.list(page_size=2, max_pages=3, prefetch=True))
    assert len(listed) == 6
    assert len(server.requests) == 3


def test_a_failure_fetching_the_next_page_arrives_after_the_current_page() -> None:
    server = seeded(V2, suppliers=6)
    calls = 0
    inner = server.handle

    def failing_third(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, content=b"boom") if calls == 3 else inner(request)

    server.handle = failing_third  # type: ignore[method-assign]
    erp, _ = _connect(server, noting=False)
    seen: list[str] = []

    def consume() -> None:
        for vendor in erp.vendors.list(page_size=2, prefetch=True):
            seen.append(vendor.id)

    with erp, pytest.raises(ServerError):
        consume()
    assert seen == ["0001", "0002", "0003", "0004"]  # every record before the failing page


@pytest.mark.anyio
async def test_async_prefetch_server_and_client_paging_and_resume() -> None:
    server = seeded(V2, suppliers=8, server_page=3)
    core = V2Core(ConnectorSettings(base_url=BASE_URL, clock=FakeClock(), max_retries=0))
    async with AsyncConnector(core, httpx.AsyncClient(transport=server.transport())) as erp:
        listing = erp.vendors.list(page_size=5, prefetch=True)
        assert listing.prefetch
        ids = [v.id async for v in listing]
        assert ids == [f"{n:04d}" for n in range(1, 9)]
        pages = [p async for p in erp.vendors.list(page_size=5, prefetch=True).pages()]
        assert [len(p.items) for p in pages] == [3, 2, 3]  # a next-link inside each window
        resumed = [
            v.id async for v in erp.vendors.list(page_size=5, cursor=pages[1].next_cursor, prefetch=True)
        ]
    assert resumed == ["0006", "0007", "0008"]


# -- subclasses that page their own way -------------------------------------------------------


class OwnListPage(Suppliers):
    """Overrides list_page only (and calls the shared one): fetched and prefetched through it."""

    mapper = ThreadNoting()

    def list_page(self, query: ListQuery, state: State | None) -> Flow[tuple[list[Vendor], State | None]]:
        records, next_state = yield from super().list_page(query, state)
        return [r.model_copy(update={"name": r.name.upper()}) for r in records], next_state


class OwnFetchPage(Suppliers):
    """Overrides fetch_page: the shared list_page (without prefetch) goes through it."""

    mapper = ThreadNoting()

    def fetch_page(self, query: ListQuery, state: State | None) -> Flow[FetchedPage]:
        page = yield from super().fetch_page(query, state)
        return FetchedPage(
            [{**item, "Name": f"fetched {item['Name']}"} for item in page.items], page.next_state
        )


@pytest.mark.parametrize("prefetch", [False, True])
def test_a_list_page_override_is_what_both_paths_return(prefetch: bool) -> None:
    class Core(V2Core):
        resources: ClassVar[Any] = {"vendor": OwnListPage}

    server = seeded(V2, suppliers=5)
    core = Core(ConnectorSettings(base_url=BASE_URL, clock=FakeClock(), max_retries=0))
    with Connector(core, httpx.Client(transport=server.transport())) as erp:
        names = [v.name for v in erp.vendors.list(page_size=2, prefetch=prefetch)]
    assert names == [f"SUPPLIER {n}" for n in range(1, 6)]


@pytest.mark.parametrize("prefetch", [False, True])
def test_a_fetch_page_override_is_used_by_both_paths(prefetch: bool) -> None:
    class Core(V2Core):
        resources: ClassVar[Any] = {"vendor": OwnFetchPage}

    server = seeded(V2, suppliers=3)
    core = Core(ConnectorSettings(base_url=BASE_URL, clock=FakeClock(), max_retries=0))
    with Connector(core, httpx.Client(transport=server.transport())) as erp:
        names = [v.name for v in erp.vendors.list(page_size=2, prefetch=prefetch)]
    assert names == [f"fetched Supplier {n}" for n in range(1, 4)]
