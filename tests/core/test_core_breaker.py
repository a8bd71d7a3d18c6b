"""The circuit breaker: opens after repeated failed calls, fails fast, lets one trial through, closes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fincon_corekit import SYSTEM, FakeServer, Fault

import fincon
from fincon.core.breaker import CircuitBreaker
from fincon.core.clock import FakeClock
from fincon.core.flow import Send
from fincon.core.transport import Call
from fincon.errors import CircuitOpen, ServerError

Make = Callable[..., fincon.Connector]
MakeAsync = Callable[..., fincon.AsyncConnector]


def _down(server: FakeServer, count: int = 50) -> None:
    server.inject(*[Fault(status=503, path="/v1/vendors") for _ in range(count)])


# -- the state machine ------------------------------------------------------------------------------


def test_breaker_states() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=clock)
    assert breaker.state == "closed"
    assert breaker.before_call() is False
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen) as caught:
        breaker.before_call("sys")
    assert caught.value.system == "sys"
    assert caught.value.retry_at == clock.now() + timedelta(seconds=10)
    clock.advance(10)
    assert breaker.state == "half-open"
    assert breaker.before_call() is True  # the trial
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # only one trial at a time
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.before_call() is False


def test_success_resets_the_count() -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_failed_trial_reopens_for_a_full_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(10)
    assert breaker.before_call() is True
    breaker.record_failure()
    assert breaker.state == "open"
    clock.advance(9.9)
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.advance(0.1)
    assert breaker.before_call() is True


def test_neutral_trial_closes_and_released_trial_frees_the_slot() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=1, cooldown=5, clock=clock)
    breaker.record_failure()
    clock.advance(5)
    assert breaker.before_call() is True
    breaker.release_trial()
    assert breaker.before_call() is True  # another trial may go
    breaker.record_neutral()  # e.g. a 404: the system answered
    assert breaker.state == "closed"


def test_breaker_validation() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(threshold=0)
    with pytest.raises(ValueError):
        CircuitBreaker(cooldown=-1)


# -- through a connector ----------------------------------------------------------------------------


def test_breaker_opens_fails_fast_and_recovers(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make(breaker_threshold=3, breaker_cooldown=30, max_retries=0)
    _down(server, 4)
    for _ in range(3):
        with pytest.raises(ServerError):
            erp.vendors.get("v001")
    assert len(server.requests) == 3

    with pytest.raises(CircuitOpen) as caught:
        erp.vendors.get("v001")
    assert len(server.requests) == 3  # failed fast: nothing sent
    assert caught.value.system == SYSTEM
    assert caught.value.retry_at == clock.now() + timedelta(seconds=30)
    with pytest.raises(CircuitOpen):
        erp.vendors.create({"name": "Not Now"})  # writes too
    assert len(server.requests) == 3

    clock.advance(29)
    with pytest.raises(CircuitOpen):
        erp.vendors.get("v001")
    clock.advance(1)
    with pytest.raises(ServerError):  # the half-open trial goes out, and fails
        erp.vendors.get("v001")
    assert len(server.requests) == 4
    with pytest.raises(CircuitOpen):  # open again, for a full cool-down
        erp.vendors.get("v001")
    assert len(server.requests) == 4

    clock.advance(30)
    assert erp.vendors.get("v001").id == "v001"  # trial succeeds: closed
    assert erp.vendors.get("v002").id == "v002"
    assert erp.core.breaker.state == "closed"
    assert len(server.requests) == 6


def test_breaker_counts_calls_not_attempts(make: Make, server: FakeServer) -> None:
    erp = make(breaker_threshold=2, max_retries=2)
    _down(server, 3)
    with pytest.raises(ServerError):
        erp.vendors.get("v001")  # three attempts, one failed call
    assert len(server.requests) == 3
    assert erp.core.breaker.state == "closed"
    erp.vendors.get("v001")


def test_client_errors_do_not_open_the_circuit(make: Make, server: FakeServer) -> None:
    erp = make(breaker_threshold=2, max_retries=0)
    for _ in range(3):
        with pytest.raises(fincon.NotFound):
            erp.vendors.get("nope")
    assert erp.core.breaker.state == "closed"


def test_connection_failures_open_the_circuit(make: Make, server: FakeServer) -> None:
    import httpx

    erp = make(breaker_threshold=2, max_retries=0)
    server.inject(Fault(error=httpx.ConnectError), Fault(error=httpx.ReadTimeout))
    for _ in range(2):
        with pytest.raises(fincon.TransportError):
            erp.vendors.get("v001")
    with pytest.raises(CircuitOpen):
        erp.vendors.get("v001")


def test_an_abandoned_trial_does_not_keep_the_circuit_open(
    make: Make, server: FakeServer, clock: FakeClock
) -> None:
    erp = make(breaker_threshold=1, breaker_cooldown=5, max_retries=0)
    _down(server, 1)
    with pytest.raises(ServerError):
        erp.vendors.get("v001")
    clock.advance(5)
    flow = erp.core.requestor.call(Call("GET", "/v1/vendors/v001"))
    assert isinstance(next(flow), Send)  # the trial is about to go out ...
    flow.close()  # ... and is cancelled (a task cancelled, a generator dropped)
    assert erp.vendors.get("v001").id == "v001"  # another trial goes through, and closes the circuit
    assert erp.core.breaker.state == "closed"


@pytest.mark.anyio
async def test_async_breaker(make_async: MakeAsync, server: FakeServer, clock: FakeClock) -> None:
    _down(server, 2)
    async with make_async(breaker_threshold=2, breaker_cooldown=10, max_retries=0) as erp:
        for _ in range(2):
            with pytest.raises(ServerError):
                await erp.vendors.get("v001")
        with pytest.raises(CircuitOpen):
            await erp.vendors.get("v001")
        assert len(server.requests) == 2
        clock.advance(10)
        assert (await erp.vendors.get("v001")).id == "v001"
