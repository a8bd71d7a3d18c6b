"""Sans-I/O flows: one implementation driven sync and async; httpx failures made typed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import httpx
import pytest

from fincon.core.clock import SYSTEM_CLOCK, Clock, FakeClock
from fincon.core.flow import Acquire, DualLock, Flow, Send, Sleep, run_async, run_sync, transport_error
from fincon.errors import TransportError


def _recording_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def sample_flow(lock: DualLock, log: list[str]) -> Flow[str]:
    response = yield Send(httpx.Request("GET", "https://api.example.com/ping"))
    log.append(f"status {response.status_code}")
    yield Sleep(2.5)
    yield Acquire(lock)
    try:
        log.append(f"locked {lock.locked()}")
    finally:
        lock.release()
    try:
        yield Send(httpx.Request("GET", "https://api.example.com/drop"))
    except TransportError as error:
        log.append(f"caught {error.code} maybe_sent={error.maybe_sent}")
    return "done"


def _handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/drop":
        raise httpx.ReadError("dropped", request=request)
    return httpx.Response(204)


def test_run_sync_performs_every_effect() -> None:
    clock, lock, log = FakeClock(), DualLock(), []
    with _recording_client(_handler) as client:
        assert run_sync(sample_flow(lock, log), client, clock=clock, system="s") == "done"
    assert log == ["status 204", "locked True", "caught ReadError maybe_sent=True"]
    assert clock.sleeps == [2.5]
    assert not lock.locked()


@pytest.mark.anyio
async def test_run_async_performs_the_same_effects() -> None:
    clock, lock, log = FakeClock(), DualLock(), []
    async with httpx.AsyncClient(transport=httpx.MockTransport(_handler)) as client:
        assert await run_async(sample_flow(lock, log), client, clock=clock, system="s") == "done"
    assert log == ["status 204", "locked True", "caught ReadError maybe_sent=True"]
    assert clock.sleeps == [2.5]


def test_unknown_effect_is_refused() -> None:
    def bad() -> Flow[None]:
        yield "not an effect"  # type: ignore[misc]

    with _recording_client(_handler) as client, pytest.raises(TypeError, match="unknown effect"):
        run_sync(bad(), client)


def test_a_failing_flow_is_closed_and_releases_its_lock() -> None:
    lock = DualLock()
    released: list[bool] = []

    def failing() -> Flow[None]:
        yield Acquire(lock)
        try:
            raise KeyError("bug")
        finally:
            lock.release()
            released.append(True)

    with _recording_client(_handler) as client, pytest.raises(KeyError):
        run_sync(failing(), client)
    assert released == [True]
    assert not lock.locked()


@pytest.mark.anyio
async def test_cancelled_async_flow_runs_its_finally() -> None:
    lock = DualLock()
    started = asyncio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.Event().wait()  # never answers
        raise AssertionError

    def flow() -> Flow[None]:
        yield Acquire(lock)
        try:
            yield Send(httpx.Request("GET", "https://api.example.com/slow"))
        finally:
            lock.release()

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as client:
        task = asyncio.ensure_future(run_async(flow(), client))
        await started.wait()
        assert lock.locked()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not lock.locked()


@pytest.mark.parametrize(
    ("exc", "maybe_sent", "retryable"),
    [
        (httpx.ConnectError, False, True),
        (httpx.ConnectTimeout, False, True),
        (httpx.PoolTimeout, False, True),
        (httpx.ReadError, True, True),
        (httpx.ReadTimeout, True, True),
        (httpx.WriteError, True, True),
        (httpx.WriteTimeout, True, True),
        (httpx.RemoteProtocolError, True, True),
        (httpx.UnsupportedProtocol, False, False),
        (httpx.ProxyError, False, False),
    ],
)
def test_transport_error_mapping(exc: type[httpx.HTTPError], maybe_sent: bool, retryable: bool) -> None:
    request = httpx.Request("GET", "https://api.example.com/")
    error = transport_error(exc("boom", request=request), "sys")  # type: ignore[call-arg]
    assert isinstance(error, TransportError)
    assert (error.maybe_sent, error.retryable, error.system, error.code) == (
        maybe_sent,
        retryable,
        "sys",
        exc.__name__,
    )
    assert ("not sent" in error.message) is (not maybe_sent and retryable)


def test_transport_errors_from_the_client_are_thrown_into_the_flow() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def flow() -> Flow[None]:
        yield Send(httpx.Request("GET", "https://api.example.com/"))

    with _recording_client(refused) as client, pytest.raises(TransportError) as caught:
        run_sync(flow(), client, system="s")
    assert caught.value.maybe_sent is False
    assert caught.value.system == "s"


# -- the lock, across threads and tasks ----------------------------------------------------------------


def test_dual_lock_excludes_threads() -> None:
    lock = DualLock()
    inside = 0
    most = 0
    counter = threading.Lock()

    def work(_: int) -> None:
        nonlocal inside, most
        lock.acquire_sync()
        try:
            with counter:
                inside += 1
                most = max(most, inside)
            with counter:
                inside -= 1
        finally:
            lock.release()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(200)))
    assert most == 1


@pytest.mark.anyio
async def test_dual_lock_excludes_tasks_without_blocking_the_loop() -> None:
    lock = DualLock()
    lock.acquire_sync()  # held by "another thread"
    acquired = asyncio.Event()

    async def waiter() -> None:
        await lock.acquire_async()
        acquired.set()

    task = asyncio.ensure_future(waiter())
    for _ in range(5):
        await asyncio.sleep(0)  # the loop keeps running while the lock is held
    assert not acquired.is_set()
    lock.release()
    await asyncio.wait_for(task, timeout=5)
    assert acquired.is_set()
    assert lock.locked()
    lock.release()


# -- clocks --------------------------------------------------------------------------------------------


def test_fake_clock() -> None:
    clock = FakeClock(start=datetime(2030, 5, 1, tzinfo=timezone.utc))
    assert isinstance(clock, Clock)
    start = clock.monotonic()
    clock.sleep(1.5)
    clock.advance(2)
    clock.sleep(-1)  # a negative sleep is recorded, but time does not go back
    assert clock.monotonic() - start == 3.5
    assert clock.now() == datetime(2030, 5, 1, 0, 0, 3, 500000, tzinfo=timezone.utc)
    assert clock.sleeps == [1.5, -1]


def test_system_clock_is_aware() -> None:
    assert isinstance(SYSTEM_CLOCK, Clock)
    assert SYSTEM_CLOCK.now().tzinfo is not None
