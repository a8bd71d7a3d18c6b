"""Proactive limits: the token bucket, the concurrency cap, and sharing between connectors."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from fincon_corekit import SYSTEM, FakeServer

import fincon
from fincon.core.clock import FakeClock
from fincon.core.flow import ConcurrencyLimit
from fincon.core.ratelimit import Limits, RateLimit, TokenBucket, shared_limits
from fincon.errors import RateLimited

Make = Callable[..., fincon.Connector]
MakeAsync = Callable[..., fincon.AsyncConnector]


def _account_url() -> str:
    """A base URL of its own, so shared limits of other tests don't interfere."""
    return f"https://acct-{uuid.uuid4().hex[:10]}.coretest.example"


# -- the bucket -------------------------------------------------------------------------------------


def test_bucket_allows_a_burst_then_paces() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, capacity=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)  # reservations queue up
    clock.advance(10)
    assert bucket.available == 3  # refills up to capacity, no further
    assert bucket.reserve() == 0.0


def test_bucket_refund() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, capacity=1, clock=clock)
    bucket.reserve()
    assert bucket.reserve() == pytest.approx(1.0)
    bucket.refund()
    assert bucket.reserve() == pytest.approx(1.0)
    bucket.refund(100)
    assert bucket.available == 1  # never above capacity


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimit(0)
    with pytest.raises(ValueError):
        RateLimit(1, concurrency=0)
    with pytest.raises(ValueError):
        TokenBucket(rate=0, capacity=1)
    with pytest.raises(ValueError):
        ConcurrencyLimit(0)


def test_limits_from_a_rate_limit() -> None:
    limits = Limits(RateLimit(requests=600, per=60, concurrency=4))
    assert limits.bucket is not None
    assert limits.bucket.rate == 10
    assert limits.bucket.capacity == 10
    assert limits.concurrency is not None
    assert limits.concurrency.limit == 4
    assert Limits(RateLimit(requests=1, per=60)).bucket.capacity == 1  # type: ignore[union-attr]
    assert Limits(RateLimit(requests=5, burst=20)).bucket.capacity == 20  # type: ignore[union-attr]
    unlimited = Limits(None)
    assert unlimited.reserve() == 0.0
    assert unlimited.concurrency is None


def test_shared_limits_by_system_and_account() -> None:
    rate = RateLimit(5)
    account = uuid.uuid4().hex
    a = shared_limits("sys-a", account, rate)
    assert shared_limits("sys-a", account, rate) is a
    assert shared_limits("sys-a", account + "-other", rate) is not a
    assert shared_limits("sys-b", account, rate) is not a


# -- through a connector ----------------------------------------------------------------------------


def test_rate_is_honoured(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make(base_url=_account_url(), rate_limit=RateLimit(requests=4, per=1.0))
    for _ in range(12):
        erp.vendors.get("v001")
    assert len(server.requests) == 12
    # 4 at once (the burst), then one every 0.25s
    assert sum(clock.sleeps) == pytest.approx((12 - 4) / 4)
    assert len(clock.sleeps) == 8
    assert all(s == pytest.approx(0.25) for s in clock.sleeps)


def test_default_rate_limit_of_the_system_applies(
    make: Make, server: FakeServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fincon_corekit import CoreTestConnector

    monkeypatch.setattr(CoreTestConnector, "default_rate_limit", RateLimit(requests=1, per=2.0))
    erp = make(base_url=_account_url())
    for _ in range(3):
        erp.vendors.get("v001")
    assert sum(clock.sleeps) == pytest.approx(4.0)
    unlimited = make(base_url=_account_url(), proactive_limits=False)
    for _ in range(3):
        unlimited.vendors.get("v001")
    assert sum(clock.sleeps) == pytest.approx(4.0)  # no further waits


def test_limits_are_shared_by_connectors_of_one_account(
    make: Make, server: FakeServer, clock: FakeClock
) -> None:
    url = _account_url()
    rate = RateLimit(requests=2, per=1.0)
    a = make(base_url=url, rate_limit=rate)
    b = make(base_url=url, rate_limit=rate)
    assert a.core.limits is b.core.limits
    for erp in (a, b, a, b):
        erp.vendors.get("v001")
    assert sum(clock.sleeps) == pytest.approx(1.0)  # 2 free, then 2 x 0.5s: one allowance for both


def test_limits_are_separate_when_not_shared_or_other_account(
    make: Make, server: FakeServer, clock: FakeClock
) -> None:
    url = _account_url()
    rate = RateLimit(requests=2, per=1.0)
    a = make(base_url=url, rate_limit=rate)
    b = make(base_url=url, rate_limit=rate, share_limits=False)
    c = make(base_url=_account_url(), rate_limit=rate)
    assert a.core.limits is not b.core.limits
    assert a.core.limits is not c.core.limits
    for erp in (a, b, c, a, b, c):
        erp.vendors.get("v001")
    assert clock.sleeps == []


def test_proactive_wait_beyond_the_cap_raises_without_sending(
    make: Make, server: FakeServer, clock: FakeClock
) -> None:
    erp = make(base_url=_account_url(), rate_limit=RateLimit(requests=1, per=100.0), max_retry_wait=10)
    erp.vendors.get("v001")
    start = clock.now()
    with pytest.raises(RateLimited) as caught:
        erp.vendors.get("v002")
    assert len(server.requests) == 1
    assert clock.sleeps == []
    assert caught.value.retry_at == start + timedelta(seconds=100)
    # the refused call did not spend the allowance: once it refills, one call goes at once
    clock.advance(100)
    erp.vendors.get("v003")
    assert clock.sleeps == []
    assert len(server.requests) == 2


# -- the concurrency cap ---------------------------------------------------------------------------


class GateHandler:
    """Holds requests until ``cap`` of them are in flight together: proves the cap is reached, and
    records the most ever in flight (any overshoot of the cap shows up there)."""

    def __init__(self, cap: int) -> None:
        self.barrier = threading.Barrier(cap, timeout=10)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.count = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.in_flight += 1
            self.count += 1
            self.most = max(self.most, self.in_flight)
        try:
            self.barrier.wait()
        finally:
            with self.lock:
                self.in_flight -= 1
        return httpx.Response(200, json={"account": "acct", "user": "u"})


def test_concurrency_cap_with_threads(make: Make) -> None:
    gate = GateHandler(cap=4)
    erp = make(
        base_url=_account_url(),
        transport=httpx.MockTransport(gate),
        rate_limit=RateLimit(requests=10_000, concurrency=4),
    )
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: erp.request("GET", "/v1/me").status_code, range(16)))
    assert results == [200] * 16
    assert gate.count == 16
    assert gate.most == 4


class AsyncGate:
    """The asyncio twin of :class:`GateHandler` (a barrier built on a condition, for Python 3.10)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.in_flight = 0
        self.most = 0
        self.count = 0
        self.arrived = 0
        self.condition = asyncio.Condition()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.count += 1
        self.most = max(self.most, self.in_flight)
        async with self.condition:
            self.arrived += 1
            generation = (self.arrived - 1) // self.cap
            self.condition.notify_all()
            await asyncio.wait_for(
                self.condition.wait_for(lambda: self.arrived >= (generation + 1) * self.cap), timeout=10
            )
        self.in_flight -= 1
        return httpx.Response(200, json={"account": "acct", "user": "u"})


@pytest.mark.anyio
async def test_concurrency_cap_with_tasks(make_async: MakeAsync) -> None:
    gate = AsyncGate(cap=4)
    async with make_async(
        base_url=_account_url(),
        transport=httpx.MockTransport(gate),
        rate_limit=RateLimit(requests=10_000, concurrency=4),
    ) as erp:
        responses = await asyncio.gather(*(erp.request("GET", "/v1/me") for _ in range(16)))
    assert [r.status_code for r in responses] == [200] * 16
    assert gate.count == 16
    assert gate.most == 4


@pytest.mark.anyio
async def test_async_rate_is_honoured(make_async: MakeAsync, server: FakeServer, clock: FakeClock) -> None:
    async with make_async(base_url=_account_url(), rate_limit=RateLimit(requests=5, per=1.0)) as erp:
        for _ in range(10):
            await erp.vendors.get("v001")
    assert sum(clock.sleeps) == pytest.approx(1.0)


def test_concurrency_limit_is_bounded() -> None:
    limit = ConcurrencyLimit(2)
    limit.acquire_sync()
    limit.acquire_sync()
    limit.release()
    limit.release()
    with pytest.raises(ValueError):
        limit.release()  # bounded: a double release is a bug, not extra capacity


def test_shared_limits_with_system_name(make: Make) -> None:
    erp = make(base_url=_account_url(), rate_limit=RateLimit(3))
    assert erp.core.limits is shared_limits(SYSTEM, erp.core.requestor.base_url, RateLimit(3))
