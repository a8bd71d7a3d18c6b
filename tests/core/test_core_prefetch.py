"""Prefetching listings: the next page travels while the current one is mapped and consumed.

The guarantees under test: the same records in the same order as without prefetch, at most
two pages held, errors raised at the page they belong to, exact cursors (a resumed listing
never loses or repeats a record), ``max_pages`` honoured without an extra request, and no
thread, task or flow left behind when a listing is abandoned early.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fincon_corekit import SYSTEM, Customers, FakeServer, Vendors, connector_with

import fincon
from fincon.core.clock import SYSTEM_CLOCK
from fincon.core.flow import Flow, Send, Sleep, run_sync
from fincon.core.prefetch import PrefetchCancelled, ThreadPrefetch, stoppable
from fincon.core.registry import SystemSpec, register_system, unregister_system
from fincon.core.resources import FetchedPage, ListQuery
from fincon.errors import NotFound, PaginationError, ServerError, ValidationError
from fincon.models import Vendor

Make = Callable[..., fincon.Connector]
MODES = ["cursor", "next_link", "offset_has_more", "offset_total", "page_token"]


def prefetch_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("fincon-prefetch")]


class Gate:
    """Wraps the fake server: numbers the vendor listing requests and can hold or fail one."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.lock = threading.Lock()
        self.listed = 0
        self.arrived: dict[int, threading.Event] = {}
        self.hold: dict[int, threading.Event] = {}
        self.fail: dict[int, int] = {}
        #: Async clients only: requests held (without blocking the loop) until the event is set.
        self.async_hold: dict[int, asyncio.Event] = {}

    def arrival(self, number: int) -> threading.Event:
        with self.lock:
            return self.arrived.setdefault(number, threading.Event())

    def __call__(self, request: httpx.Request) -> Any:
        number = 0
        if request.method == "GET" and request.url.path == "/v1/vendors":
            with self.lock:
                self.listed += 1
                number = self.listed
            self.arrival(number).set()
            held = self.hold.get(number)
            if held is not None:
                held.wait(5)
            if number in self.async_hold:
                return self._later(self.async_hold[number], request)
            if number in self.fail:
                status = self.fail[number]
                return httpx.Response(status, json={"error": {"code": "nope", "message": f"page {number}"}})
        return self.server(request)

    async def _later(self, event: asyncio.Event, request: httpx.Request) -> httpx.Response:
        await event.wait()
        return self.server(request)  # type: ignore[no-any-return]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@pytest.fixture
def gate(server: FakeServer) -> Gate:
    return Gate(server)


def all_ids(server: FakeServer) -> list[str]:
    return sorted(server.vendors)


# -- records, order and the switch -----------------------------------------------------------------


def test_prefetch_is_off_unless_asked_for(make: Make) -> None:
    erp = make()
    assert Vendors.prefetch is False
    assert erp.vendors.list().prefetch is False
    assert erp.vendors.list(prefetch=True).prefetch is True
    with pytest.raises(ValidationError, match="prefetch"):
        erp.vendors.list(prefetch="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize(("delay", "expected"), [(0.0, False), (0.05, True)])
def test_auto_prefetches_only_once_a_page_has_kept_the_listing_waiting(
    make: Make, server: FakeServer, delay: float, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not expected:  # a busy machine may stall any fetch for a while: "quick" is well below this
        monkeypatch.setattr("fincon.core.resources.PREFETCH_AFTER_WAIT", 1.0)
    threads: list[str] = []

    def slow(request: httpx.Request) -> Any:
        if request.url.path == "/v1/vendors":
            threads.append(threading.current_thread().name)
            time.sleep(delay)  # the server's time: waiting, not the client's CPU
        return server(request)

    erp = make(transport=httpx.MockTransport(slow), clock=SYSTEM_CLOCK)
    listing = erp.vendors.list(page_size=1, prefetch="auto")
    assert listing.prefetch == "auto"
    assert [vendor.id for vendor in listing] == all_ids(server)
    assert len(threads) == 5
    # Pages 1 and 2 are the caller's own: one slow page (a cold start) is not a slow server.
    assert threads[:2] == [threading.current_thread().name] * 2
    in_background = [name.startswith("fincon-prefetch") for name in threads[2:]]
    assert in_background == [expected] * 3
    assert prefetch_threads() == []


def test_auto_stays_in_the_callers_thread_after_one_slow_page(make: Make, server: FakeServer) -> None:
    threads: list[str] = []

    def cold_start(request: httpx.Request) -> Any:
        if request.url.path == "/v1/vendors":
            threads.append(threading.current_thread().name)
            if len(threads) == 1:
                time.sleep(0.05)
        return server(request)

    erp = make(transport=httpx.MockTransport(cold_start), clock=SYSTEM_CLOCK)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("fincon.core.resources.PREFETCH_AFTER_WAIT", 0.04)  # quick pages stay far below
        assert [vendor.id for vendor in erp.vendors.list(page_size=1, prefetch="auto")] == all_ids(server)
    assert threads == [threading.current_thread().name] * 5


def test_prefetch_settings_decide_per_page_wait() -> None:
    from fincon.core.resources import PREFETCH_AFTER_WAIT, ListPlan

    def plan(prefetch: Any) -> ListPlan[Any]:
        handler = Vendors.__new__(Vendors)
        return ListPlan(
            "s", handler, updated_since=None, filters=None, page_size=None, cursor=None, max_pages=None,
            prefetch=prefetch,
        )  # fmt: skip

    quick, slow = PREFETCH_AFTER_WAIT / 10, PREFETCH_AFTER_WAIT
    assert [plan(True).prefetches_after(w) for w in (quick, slow, None)] == [True, True, True]
    assert [plan(False).prefetches_after(w) for w in (quick, slow, None)] == [False, False, False]
    assert [plan("auto").prefetches_after(w) for w in (quick, slow, None)] == [False, True, True]
    with pytest.raises(ValidationError, match="prefetch"):
        plan("sometimes")


@pytest.mark.parametrize(("cpus", "expected"), [({0}, "auto"), ({0, 1}, True), ({3, 5, 7}, True)])
def test_prefetch_with_a_spare_cpu_counts_the_cpus_this_process_may_use(
    monkeypatch: pytest.MonkeyPatch, cpus: set[int], expected: Any
) -> None:
    from fincon.core.resources import prefetch_with_a_spare_cpu

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: cpus, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)  # the machine's count is not the process's
    assert prefetch_with_a_spare_cpu() == expected


@pytest.mark.parametrize(("count", "expected"), [(None, "auto"), (1, "auto"), (2, True)])
def test_prefetch_with_a_spare_cpu_falls_back_to_the_cpu_count(
    monkeypatch: pytest.MonkeyPatch, count: int | None, expected: Any
) -> None:
    from fincon.core.resources import prefetch_with_a_spare_cpu

    monkeypatch.delattr("os.sched_getaffinity", raising=False)  # macOS and Windows have none
    monkeypatch.setattr("os.cpu_count", lambda: count)
    assert prefetch_with_a_spare_cpu() == expected


@pytest.mark.anyio
@pytest.mark.parametrize(("delay", "expected"), [(0.0, False), (0.05, True)])
async def test_async_auto_prefetches_once_a_page_has_kept_the_listing_waiting(
    make_async: Callable[..., fincon.AsyncConnector],
    server: FakeServer,
    delay: float,
    expected: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not expected:
        monkeypatch.setattr("fincon.core.resources.PREFETCH_AFTER_WAIT", 1.0)
    consumer = asyncio.current_task()
    by_consumer: list[bool] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/vendors":
            by_consumer.append(asyncio.current_task() is consumer)
            await asyncio.sleep(delay)
        return server(request)  # type: ignore[no-any-return]

    async with make_async(transport=httpx.MockTransport(slow), clock=SYSTEM_CLOCK) as erp:
        listing = erp.vendors.list(page_size=1, prefetch="auto")
        assert [vendor.id async for vendor in listing] == all_ids(server)
    assert by_consumer[:2] == [True, True]  # two pages measured before deciding
    assert [not mine for mine in by_consumer[2:]] == [expected] * 3


@pytest.mark.parametrize("mode", MODES)
def test_same_records_in_the_same_order_in_every_paging_mode(make: Make, mode: str) -> None:
    server = FakeServer(vendors=9, pagination=mode)
    name = f"coretest_prefetch_{mode}"
    register_system(SystemSpec(name=name, connector=connector_with(mode, name)), replace=True)
    try:
        erp = make(system=name, transport=server.transport())
        plain = [vendor.id for vendor in erp.vendors.list(page_size=2, prefetch=False)]
        ahead = [vendor.id for vendor in erp.vendors.list(page_size=2, prefetch=True)]
    finally:
        unregister_system(name)
    assert ahead == plain == all_ids(server)


def test_the_next_page_is_requested_before_the_current_one_is_consumed(make: Make, gate: Gate) -> None:
    erp = make(transport=gate.transport())
    gate.hold[2] = threading.Event()  # page 2 stays in flight until released
    pages = erp.vendors.list(page_size=2, prefetch=True).pages()
    first = next(pages)
    assert [vendor.id for vendor in first.items] == ["v001", "v002"]
    assert gate.arrival(2).wait(5), "page 2 was not requested while page 1 was being consumed"
    gate.hold[2].set()
    time.sleep(0.05)
    assert gate.listed == 2, "a third page was fetched while the consumer held page 1: more than two pages"
    second = next(pages)
    assert [vendor.id for vendor in second.items] == ["v003", "v004"]
    assert gate.arrival(3).wait(5)
    assert [vendor.id for page in pages for vendor in page.items] == ["v005"]
    assert gate.listed == 3


def test_handlers_that_only_list_pages_are_prefetched_whole(make: Make, server: FakeServer) -> None:
    server.seed_customers(5)
    erp = make()
    listing = erp.customers.list(page_size=2, prefetch=True)
    assert [customer.id for customer in listing] == ["c001", "c002", "c003", "c004", "c005"]


def test_a_rest_subclass_that_overrides_list_page_keeps_its_paging(
    registered: None, server: FakeServer
) -> None:
    class EvenVendors(Vendors):
        def list_page(self, query: ListQuery, state: Any) -> Flow[tuple[list[Vendor], Any]]:
            records, following = yield from super().list_page(query, state)
            return [record for record in records if int(str(record.id)[1:]) % 2 == 0], following

    class Evens(connector_with("cursor", "coretest_evens")):  # type: ignore[misc]
        resources = {**connector_with("cursor").resources, "vendor": EvenVendors}

    register_system(SystemSpec(name="coretest_evens", connector=Evens), replace=True)
    try:
        with fincon.connect("coretest_evens", transport=server.transport()) as erp:
            ids = [vendor.id for vendor in erp.vendors.list(page_size=2, prefetch=True)]
    finally:
        unregister_system("coretest_evens")
    assert ids == ["v002", "v004"]


def test_default_fetch_page_falls_back_to_list_page(registered: None) -> None:
    handler = Customers.__new__(Customers)
    page = FetchedPage(["already", "mapped"], None, mapped=True)
    assert handler.map_page(ListQuery(), page) == ["already", "mapped"]
    with pytest.raises(NotImplementedError):
        handler.map_page(ListQuery(), FetchedPage([{"id": "raw"}], None))


# -- closing early -----------------------------------------------------------------------------------


def test_break_joins_the_prefetch_and_sends_nothing_more(make: Make, gate: Gate) -> None:
    erp = make(transport=gate.transport())
    gate.hold[2] = threading.Event()
    threading.Timer(0.2, gate.hold[2].set).start()  # the in-flight page ends a little later
    seen = []
    for vendor in erp.vendors.list(page_size=2, prefetch=True):
        seen.append(vendor.id)
        assert gate.arrival(2).wait(5)
        break
    assert seen == ["v001"]
    assert prefetch_threads() == [], "a prefetch thread outlived the loop it served"
    time.sleep(0.05)
    assert gate.listed == 2, "the abandoned listing went on fetching"


def test_an_abandoned_iterator_is_cleaned_up_when_collected(make: Make, gate: Gate) -> None:
    erp = make(transport=gate.transport())
    iterator = iter(erp.vendors.list(page_size=2, prefetch=True))
    assert next(iterator).id == "v001"
    assert gate.arrival(2).wait(5)
    del iterator
    gc.collect()
    assert prefetch_threads() == []
    assert gate.listed == 2


def test_close_stops_a_listing_between_pages(make: Make, gate: Gate) -> None:
    erp = make(transport=gate.transport())
    with erp.vendors.list(page_size=2, prefetch=True) as listing:
        pages = listing.pages()
        first = next(pages)
        listing.close()
        assert prefetch_threads() == []
        assert list(pages) == [], "a closed listing yielded more pages"
    assert first.next_cursor is not None


@pytest.mark.parametrize("prefetch", [False, True])
def test_close_stops_a_listing_with_or_without_prefetch(make: Make, gate: Gate, prefetch: bool) -> None:
    erp = make(transport=gate.transport())
    listing = erp.vendors.list(page_size=2, prefetch=prefetch)
    pages = listing.pages()
    assert [vendor.id for vendor in next(pages).items] == ["v001", "v002"]
    listing.close()
    assert list(pages) == [], "a closed listing yielded more pages"
    assert listing.next_cursor is not None, "the cursor to resume from was lost"


@pytest.mark.anyio
@pytest.mark.parametrize("prefetch", [False, True])
async def test_aclose_stops_an_async_listing_with_or_without_prefetch(
    async_erp: Callable[..., Any], prefetch: bool
) -> None:
    async with async_erp() as erp:
        listing = erp.vendors.list(page_size=2, prefetch=prefetch)
        pages = listing.pages()
        first = await pages.__anext__()
        assert [vendor.id for vendor in first.items] == ["v001", "v002"]
        await listing.aclose()
        assert [page async for page in pages] == [], "a closed listing yielded more pages"
        assert listing.next_cursor is not None


def test_a_fetch_cancelled_mid_retry_neither_backs_off_nor_retries(
    make: Make, gate: Gate, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    erp = make(transport=gate.transport(), breaker_threshold=1)
    gate.fail[2] = 503
    gate.hold[2] = threading.Event()
    real_cancel = ThreadPrefetch.cancel

    def cancel_then_answer(self: ThreadPrefetch[Any]) -> None:
        # Page 2 fails (503) only once the listing has asked its fetch to stop, whatever the
        # machine's load (a timer could fire first on a busy CI box): no retry may follow.
        self._stop.set()
        gate.hold[2].set()
        real_cancel(self)

    monkeypatch.setattr(ThreadPrefetch, "cancel", cancel_then_answer)
    for _vendor in erp.vendors.list(page_size=2, prefetch=True):
        assert gate.arrival(2).wait(5)
        break
    assert prefetch_threads() == []
    assert gate.listed == 2, "the cancelled fetch was retried"
    assert clock.sleeps == [], "the cancelled fetch slept its back-off"
    # The abandoned attempt left no verdict that blocks the connector.
    assert [vendor.id for vendor in erp.vendors.list(page_size=5)] == all_ids(gate.server)


def test_a_break_during_a_retry_after_does_not_wait_it_out(make: Make, server: FakeServer) -> None:
    # The real clock: the prefetch of page 2 is told to wait 30 s, and the consumer stops meanwhile.
    listed = 0
    throttled = threading.Event()

    def handler(request: httpx.Request) -> Any:
        nonlocal listed
        if request.method == "GET" and request.url.path == "/v1/vendors":
            listed += 1
            if listed == 2:
                throttled.set()
                return httpx.Response(
                    429, headers={"Retry-After": "30"}, json={"error": {"code": "slow", "message": "later"}}
                )
        return server(request)

    erp = make(transport=httpx.MockTransport(handler), clock=SYSTEM_CLOCK, max_retry_wait=60)
    started = time.monotonic()
    for _vendor in erp.vendors.list(page_size=2, prefetch=True):
        assert throttled.wait(5)
        time.sleep(0.2)  # the prefetch is now sitting in its 30 s back-off
        break
    assert time.monotonic() - started < 5, "closing the listing waited out the Retry-After"
    assert prefetch_threads() == []
    assert listed == 2, "the stopped fetch was retried"


# -- errors, cursors, max_pages ----------------------------------------------------------------------


def test_an_error_on_page_two_is_raised_after_page_one(make: Make, gate: Gate) -> None:
    erp = make(transport=gate.transport(), max_retries=0)
    gate.fail[2] = 404
    seen: list[str | None] = []

    def consume() -> None:
        seen.extend(vendor.id for vendor in erp.vendors.list(page_size=2, prefetch=True))

    with pytest.raises(NotFound, match="page 2"):
        consume()
    assert seen == ["v001", "v002"], "records of page 1 were lost or page 2's error came too early"
    assert prefetch_threads() == []


def test_retries_and_audit_work_inside_the_prefetch(make: Make, gate: Gate, clock: Any) -> None:
    events: list[Any] = []
    erp = make(transport=gate.transport(), audit=events.append, audit_reads=True)
    gate.fail[2] = 503  # page 2 fails once in the background, then is retried
    ids = [vendor.id for vendor in erp.vendors.list(page_size=2, prefetch=True)]
    assert ids == all_ids(gate.server)
    assert gate.listed == 4
    assert clock.sleeps, "the retry did not back off"
    reads = [event for event in events if event.action == "read"]
    assert [event.result for event in reads] == ["success"] * 3


def test_the_prefetch_runs_in_the_consumers_context(make: Make, server: FakeServer) -> None:
    # Tracing and log correlation live in context variables: a prefetched request must carry
    # the listing's, as an asyncio task would.
    listing_id: contextvars.ContextVar[str] = contextvars.ContextVar("listing_id", default="none")
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> Any:
        if request.url.path == "/v1/vendors":
            seen.append((threading.current_thread().name, listing_id.get()))
        return server(request)

    erp = make(transport=httpx.MockTransport(handler))
    token = listing_id.set("sync-42")
    try:
        ids = [vendor.id for vendor in erp.vendors.list(page_size=2, prefetch=True)]
    finally:
        listing_id.reset(token)
    assert ids == all_ids(server)
    background = [value for thread, value in seen if thread.startswith("fincon-prefetch")]
    assert background, "no page was prefetched in the background"
    assert set(background) == {"sync-42"}, "a prefetched request lost the consumer's context"


def test_cursor_resume_after_a_break_neither_loses_nor_repeats(make: Make, server: FakeServer) -> None:
    server.vendors.clear()
    for index in range(1, 12):
        server.vendors[f"v{index:03d}"] = {"id": f"v{index:03d}", "name": f"Vendor {index}"}
    erp = make()
    listing = erp.vendors.list(page_size=3, prefetch=True)
    first: list[str] = []
    for index, page in enumerate(listing.pages()):
        first.extend(vendor.id for vendor in page.items if vendor.id)
        if index == 1:
            break
    assert listing.next_cursor is not None
    rest = [vendor.id for vendor in make().vendors.list(cursor=listing.next_cursor, prefetch=True)]
    assert first + rest == all_ids(server)
    assert len(set(first + rest)) == 11


def test_max_pages_sends_no_extra_request(make: Make, gate: Gate) -> None:
    erp = make(transport=gate.transport())
    listing = erp.vendors.list(page_size=2, max_pages=2, prefetch=True)
    assert [vendor.id for vendor in listing] == ["v001", "v002", "v003", "v004"]
    assert gate.listed == 2
    rest = [vendor.id for vendor in erp.vendors.list(cursor=listing.next_cursor, prefetch=True)]
    assert rest == ["v005"]


def test_a_cursor_cycle_stops_at_the_page_that_repeats(make: Make, server: FakeServer) -> None:
    name = "coretest_tokens"
    register_system(SystemSpec(name=name, connector=connector_with("page_token", name)), replace=True)
    server.pagination = "page_token"
    server.token_graph = {None: "A", "A": "B", "B": "A"}
    try:
        erp = make(system=name)
        pages: list[Any] = []

        def consume() -> None:
            for page in erp.vendors.list(prefetch=True).pages():
                pages.append(page)

        with pytest.raises(PaginationError, match="cycle"):
            consume()
    finally:
        unregister_system("coretest_tokens")
    assert len(pages) == 2
    assert prefetch_threads() == []


# -- the building blocks -----------------------------------------------------------------------------


def _three_sleeps(log: list[str]) -> Flow[str]:
    try:
        for index in range(3):
            yield Sleep(0)
            log.append(f"slept {index}")
        return "done"
    finally:
        log.append("closed")


def test_stoppable_runs_to_the_end_unless_stopped(clock: Any) -> None:
    log: list[str] = []
    stop = threading.Event()
    assert run_sync(stoppable(_three_sleeps(log), stop), httpx.Client(), clock=clock) == "done"
    assert log == ["slept 0", "slept 1", "slept 2", "closed"]

    log.clear()
    flow = stoppable(_three_sleeps(log), stop)
    assert isinstance(next(flow), Sleep)
    stop.set()
    with pytest.raises(PrefetchCancelled):
        flow.send(None)
    assert log == ["slept 0", "closed"], "a stopped flow went on, or its finally did not run"


def test_stoppable_passes_transport_errors_through(clock: Any) -> None:
    def flow() -> Flow[str]:
        try:
            yield Send(httpx.Request("GET", "https://api.example/"))
        except ValueError:
            return "recovered"
        return "not reached"

    wrapped = stoppable(flow(), threading.Event())
    assert isinstance(next(wrapped), Send)
    with pytest.raises(StopIteration) as stopped:
        wrapped.throw(ValueError("lost"))
    assert stopped.value.value == "recovered"


def test_thread_prefetch_hands_back_errors_and_refuses_two_at_once(clock: Any) -> None:
    def failing() -> Flow[None]:
        yield Sleep(0)
        raise ServerError("background failure", system=SYSTEM)

    def run(flow: Flow[Any]) -> Any:
        return run_sync(flow, httpx.Client(), clock=clock)

    prefetch: ThreadPrefetch[Any] = ThreadPrefetch(run)
    prefetch.start(failing())
    with pytest.raises(RuntimeError):
        prefetch.start(failing())
    with pytest.raises(ServerError, match="background failure"):
        prefetch.result()
    with pytest.raises(RuntimeError):
        prefetch.result()
    prefetch.cancel()  # nothing under way: harmless


def _blocked_fetch(release: threading.Event) -> Flow[str]:
    """A fetch that stays under way (its thread alive) until ``release`` is set."""
    assert release.wait(5)
    yield Sleep(0)
    return "fetched"


def test_sharing_gil_lets_go_while_the_fetch_runs_and_passes_items_through(
    clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    let_go: list[int] = []
    handed_out: list[int] = []
    monkeypatch.setattr("fincon.core.prefetch.HANDOFF_EVERY", 0.0)  # every look at the clock lets go
    monkeypatch.setattr("fincon.core.prefetch._let_go_of_gil", lambda: let_go.append(len(handed_out)))
    release = threading.Event()
    prefetch: ThreadPrefetch[str] = ThreadPrefetch(lambda flow: run_sync(flow, httpx.Client(), clock=clock))
    prefetch.start(_blocked_fetch(release))
    items = prefetch.sharing_gil(iter(range(100)))
    for item in items:
        handed_out.append(item)
        if item == 39:
            break
    # A look every 8 items while the fetch runs: the GIL was let go after the 8th, 16th, ... item.
    assert let_go == [8, 16, 24, 32]
    release.set()
    assert prefetch.result() == "fetched"
    handed_out.extend(items)  # the fetch has ended: the rest comes straight through
    assert handed_out == list(range(100))
    assert let_go == [8, 16, 24, 32], "the GIL was let go after the fetch had ended"


def test_sharing_gil_leaves_a_short_switch_interval_to_the_interpreter(
    clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    let_go: list[None] = []
    monkeypatch.setattr("fincon.core.prefetch.HANDOFF_EVERY", 0.001)
    monkeypatch.setattr("fincon.core.prefetch._let_go_of_gil", lambda: let_go.append(None))
    monkeypatch.setattr("fincon.core.prefetch.sys.getswitchinterval", lambda: 0.0005)  # the application's
    release = threading.Event()
    prefetch: ThreadPrefetch[str] = ThreadPrefetch(lambda flow: run_sync(flow, httpx.Client(), clock=clock))
    prefetch.start(_blocked_fetch(release))
    try:
        handed_out = []
        for item in prefetch.sharing_gil(range(200)):
            handed_out.append(item)
            time.sleep(0.00002)  # 200 items: far more than 1 ms of the consumer's work
        assert handed_out == list(range(200))
        assert let_go == []
    finally:
        release.set()
        prefetch.result()


def test_sharing_gil_without_a_fetch_under_way_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    let_go: list[None] = []
    monkeypatch.setattr("fincon.core.prefetch.HANDOFF_EVERY", 0.0)
    monkeypatch.setattr("fincon.core.prefetch._let_go_of_gil", lambda: let_go.append(None))
    prefetch: ThreadPrefetch[Any] = ThreadPrefetch(lambda flow: None)
    assert list(prefetch.sharing_gil([3, 1, 2] * 10)) == [3, 1, 2] * 10  # a list, not only an iterator
    assert let_go == []


@pytest.mark.parametrize("how", ["records", "pages"])
def test_a_prefetching_listing_lets_the_fetch_take_the_gil_while_it_maps(
    make: Make, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    gate = Gate(FakeServer(vendors=24))  # three pages of 8
    let_go: list[None] = []
    monkeypatch.setattr("fincon.core.prefetch.HANDOFF_EVERY", 0.0)
    monkeypatch.setattr("fincon.core.prefetch._let_go_of_gil", lambda: let_go.append(None))

    def in_flight_a_while(number: int) -> None:
        gate.arrival(number).wait(5)
        time.sleep(0.3)  # far longer than mapping a page of 8
        gate.hold[number].set()

    for number in (2, 3):
        gate.hold[number] = threading.Event()
        threading.Thread(target=in_flight_a_while, args=(number,), daemon=True).start()
    erp = make(transport=gate.transport())
    listing = erp.vendors.list(page_size=8, prefetch=True)
    if how == "records":
        ids = [vendor.id for vendor in listing]
    else:
        ids = [vendor.id for page in listing.pages() for vendor in page.items]
    assert ids == all_ids(gate.server)
    # Pages 1 and 2 were each mapped while the next page was held in flight: a look after the
    # 8th record of each, while the fetch was under way, let go of the GIL.
    assert len(let_go) == 2, let_go
    assert prefetch_threads() == []


# -- async ---------------------------------------------------------------------------------------------


@pytest.fixture
def async_erp(make_async: Callable[..., fincon.AsyncConnector], gate: Gate) -> Callable[..., Any]:
    def make(**settings: Any) -> fincon.AsyncConnector:
        return make_async(transport=gate.transport(), **settings)

    return make


def pending_tasks() -> set[asyncio.Task[Any]]:
    """Fetches still running: tasks driving a connector flow."""
    return {
        task
        for task in asyncio.all_tasks()
        if not task.done() and getattr(task.get_coro(), "__qualname__", "") == "AsyncConnector.run"
    }


@pytest.mark.anyio
async def test_async_prefetch_yields_the_same_records(async_erp: Callable[..., Any], gate: Gate) -> None:
    async with async_erp() as erp:
        plain = [vendor.id async for vendor in erp.vendors.list(page_size=2)]
        ahead = [vendor.id async for vendor in erp.vendors.list(page_size=2, prefetch=True)]
    assert ahead == plain == all_ids(gate.server)


@pytest.mark.anyio
async def test_async_next_page_is_on_its_way_when_a_page_is_handed_over(
    async_erp: Callable[..., Any], gate: Gate
) -> None:
    async with async_erp() as erp:
        pages = erp.vendors.list(page_size=2, prefetch=True).pages()
        first = await pages.__anext__()
        assert [vendor.id for vendor in first.items] == ["v001", "v002"]
        assert gate.arrival(2).is_set(), "page 2 was not requested before page 1 was handed over"
        assert gate.listed == 2
        await pages.aclose()
        assert pending_tasks() == set()


@pytest.mark.anyio
async def test_async_error_on_page_two_and_early_close(async_erp: Callable[..., Any], gate: Gate) -> None:
    gate.fail[2] = 404
    async with async_erp(max_retries=0) as erp:
        seen: list[str | None] = []

        async def consume() -> None:
            async for vendor in erp.vendors.list(page_size=2, prefetch=True):
                seen.append(vendor.id)

        with pytest.raises(NotFound, match="page 2"):
            await consume()
        assert seen == ["v001", "v002"]
        gate.async_hold[4] = asyncio.Event()  # never set: page 2 of this listing stays in flight
        async with erp.vendors.list(page_size=2, prefetch=True) as listing:
            async for _vendor in listing:
                assert len(pending_tasks()) == 1
                break
        assert pending_tasks() == set(), "a prefetch task outlived its listing"
        gate.async_hold[6] = asyncio.Event()
        async for _vendor in erp.vendors.list(page_size=2, prefetch=True):
            assert len(pending_tasks()) == 1
            break
        for _ in range(5):  # the abandoned generator is closed by the loop's finalizer
            gc.collect()
            await asyncio.sleep(0)
        assert pending_tasks() == set(), "an abandoned listing left its prefetch task running"


@pytest.mark.anyio
async def test_async_resume_and_max_pages(async_erp: Callable[..., Any], gate: Gate) -> None:
    async with async_erp() as erp:
        listing = erp.vendors.list(page_size=2, max_pages=2, prefetch=True)
        first = [vendor.id async for vendor in listing]
        assert gate.listed == 2
        rest = [vendor.id async for vendor in erp.vendors.list(cursor=listing.next_cursor, prefetch=True)]
    assert first + rest == all_ids(gate.server)


def test_task_prefetch_without_a_running_loop_defers_the_fetch(clock: Any) -> None:
    from fincon.core.prefetch import TaskPrefetch

    log: list[str] = []

    async def run(flow: Flow[Any]) -> Any:
        return run_sync(flow, httpx.Client(), clock=clock)

    prefetch: TaskPrefetch[Any] = TaskPrefetch(run)
    prefetch.start(_three_sleeps(log))  # no loop here: nothing runs yet
    assert log == []

    async def collect() -> Any:
        return await prefetch.result()

    assert asyncio.run(collect()) == "done"
    assert log[-1] == "closed"


@pytest.mark.anyio
async def test_the_send_tracer_keeps_a_callers_own_tracer() -> None:
    from fincon.core.prefetch import _tracer

    seen: list[str] = []

    async def own(name: str, info: dict[str, Any]) -> None:
        seen.append(name)

    tracing, sending = asyncio.Event(), asyncio.Event()
    trace = _tracer(tracing, sending, own)
    await trace("connection.connect_tcp.started", {})
    assert tracing.is_set()
    assert not sending.is_set()
    await trace("http11.send_request_body.complete", {})
    assert sending.is_set()
    assert seen == ["connection.connect_tcp.started", "http11.send_request_body.complete"]
