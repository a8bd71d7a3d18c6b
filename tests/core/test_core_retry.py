"""Retries (DESIGN section 5): what is retried, how long we wait, Retry-After, the cap, max attempts."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from fincon_corekit import SYSTEM, FakeServer, Fault
from hypothesis import given, settings
from hypothesis import strategies as st
from tenacity import RetryCallState

import fincon
from fincon.core.clock import FakeClock
from fincon.core.flow import Flow, Sleep
from fincon.core.retry import FullJitter, RetryEngine, RetryPolicy, is_safe_to_retry
from fincon.errors import FinconError, RateLimited, ServerError, TransportError

Make = Callable[..., fincon.Connector]


class MaxRandom(random.Random):
    """Always picks the top of the range, and records every range asked for."""

    def __init__(self) -> None:
        super().__init__(0)
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return b


# -- which failures are retried ------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(
    make: Make, server: FakeServer, clock: FakeClock, status: int
) -> None:
    erp = make()
    server.inject(Fault(status=status))
    assert erp.vendors.get("v001").id == "v001"
    assert len(server.requests) == 2
    assert len(clock.sleeps) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, fincon.RemoteValidationError),
        (401, fincon.AuthError),
        (403, fincon.PermissionDenied),
        (404, fincon.NotFound),
        (409, fincon.Conflict),
        (422, fincon.RemoteValidationError),
    ],
)
def test_client_errors_are_not_retried(
    make: Make, server: FakeServer, clock: FakeClock, status: int, error: type[FinconError]
) -> None:
    erp = make()
    server.inject(Fault(status=status))
    with pytest.raises(error) as caught:
        erp.vendors.get("v001")
    assert caught.value.status == status
    assert caught.value.retryable is False
    assert len(server.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.ReadError,
        httpx.RemoteProtocolError,
        httpx.WriteError,
        httpx.PoolTimeout,
    ],
)
def test_connection_errors_and_timeouts_are_retried(
    make: Make, server: FakeServer, exc: type[Exception]
) -> None:
    erp = make()
    server.inject(Fault(error=exc), Fault(error=exc))
    assert erp.vendors.get("v002").id == "v002"
    assert len(server.requests) == 3


def test_max_attempts_honoured(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make(max_retries=3)
    server.inject(*[Fault(status=503) for _ in range(10)])
    with pytest.raises(ServerError) as caught:
        erp.vendors.get("v001")
    assert caught.value.status == 503
    assert caught.value.retryable is True
    assert len(server.requests) == 4  # the first attempt and three retries
    assert len(clock.sleeps) == 3


def test_max_retries_zero_disables_retries(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make(max_retries=0)
    server.inject(Fault(status=503))
    with pytest.raises(ServerError):
        erp.vendors.get("v001")
    assert len(server.requests) == 1
    assert clock.sleeps == []


def test_transport_error_after_retries_is_typed(make: Make, server: FakeServer) -> None:
    erp = make(max_retries=1)
    server.inject(Fault(error=httpx.ConnectError), Fault(error=httpx.ConnectError))
    with pytest.raises(TransportError) as caught:
        erp.vendors.get("v001")
    assert caught.value.maybe_sent is False
    assert caught.value.system == SYSTEM
    assert caught.value.code == "ConnectError"


# -- backoff: full jitter -------------------------------------------------------------------------


def test_full_jitter_backoff_ranges(make: Make, server: FakeServer, clock: FakeClock) -> None:
    rng = MaxRandom()
    erp = make(retry=RetryPolicy(max_attempts=5, initial=0.5, max_backoff=3.0, rng=rng))
    server.inject(*[Fault(status=502) for _ in range(4)])
    erp.vendors.get("v001")
    # a random wait in [0, min(max_backoff, initial * 2**(n-1))] before retry n
    assert rng.ranges == [(0, 0.5), (0, 1.0), (0, 2.0), (0, 3.0)]
    assert clock.sleeps == [0.5, 1.0, 2.0, 3.0]


def _state(attempt: int, error: BaseException | None = None) -> RetryCallState:
    state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.attempt_number = attempt
    if error is not None:
        state.set_exception((type(error), error, None))
    return state


@settings(deadline=None)
@given(
    initial=st.floats(0.01, 5),
    maximum=st.floats(0.01, 60),
    attempt=st.integers(1, 30),
    seed=st.integers(0, 2**32),
)
def test_full_jitter_stays_in_bounds(initial: float, maximum: float, attempt: int, seed: int) -> None:
    wait = FullJitter(initial, maximum, random.Random(seed))(_state(attempt))
    assert 0 <= wait <= min(maximum, initial * 2 ** (attempt - 1))


def test_full_jitter_spreads_over_the_whole_range() -> None:
    jitter = FullJitter(1.0, 100.0, random.Random(7))
    waits = [jitter(_state(3)) for _ in range(2000)]  # ceiling 4s
    assert max(waits) <= 4.0
    assert min(waits) < 0.2
    assert max(waits) > 3.8


def test_jitter_on_top_of_retry_after_is_small() -> None:
    error = RateLimited("slow down", retry_after=20.0)
    waits = [FullJitter(0.5, 5.0, random.Random(seed))(_state(1, error)) for seed in range(200)]
    assert all(20.0 <= w <= 21.0 for w in waits)


# -- Retry-After ---------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make()
    server.inject(Fault(status=429, headers={"Retry-After": "7"}))
    erp.vendors.get("v001")
    assert len(clock.sleeps) == 1
    assert 7.0 <= clock.sleeps[0] <= 7.7


def test_retry_after_http_date_is_honoured(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make()
    when = clock.now() + timedelta(seconds=12)
    server.inject(Fault(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    erp.vendors.get("v001")
    assert len(clock.sleeps) == 1
    assert 12.0 <= clock.sleeps[0] <= 13.0


def test_retry_after_in_the_past_means_now(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make()
    when = clock.now() - timedelta(hours=1)
    server.inject(Fault(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    erp.vendors.get("v001")
    assert clock.sleeps == [0.0]


def test_garbage_retry_after_falls_back_to_backoff(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make(retry=RetryPolicy(max_attempts=3, initial=0.5, rng=MaxRandom()))
    server.inject(Fault(status=503, headers={"Retry-After": "soon, maybe"}))
    erp.vendors.get("v001")
    assert clock.sleeps == [0.5]


def test_retry_after_beyond_the_cap_raises_rate_limited_without_sleeping(
    make: Make, server: FakeServer, clock: FakeClock
) -> None:
    erp = make(max_retry_wait=10)
    start = clock.now()
    server.inject(Fault(status=429, headers={"Retry-After": "30", "x-request-id": "req-throttled"}))
    with pytest.raises(RateLimited) as caught:
        erp.vendors.get("v001")
    assert clock.sleeps == []
    assert caught.value.retry_at == start + timedelta(seconds=30)
    assert caught.value.status == 429
    assert caught.value.system == SYSTEM
    assert caught.value.request_id == "req-throttled"
    assert len(server.requests) == 1


def test_retry_after_date_beyond_the_cap(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make(max_retry_wait=60)
    when = clock.now() + timedelta(minutes=10)
    server.inject(Fault(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    with pytest.raises(RateLimited) as caught:
        erp.vendors.get("v001")
    assert caught.value.retry_at == when
    assert clock.sleeps == []


def test_retry_after_exactly_the_cap_is_waited(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make(max_retry_wait=10)
    server.inject(Fault(status=429, headers={"Retry-After": "10"}))
    erp.vendors.get("v001")
    assert clock.sleeps == [10.0]  # the jitter never pushes a permitted wait over the cap


def test_own_backoff_is_capped_not_refused(make: Make, server: FakeServer, clock: FakeClock) -> None:
    erp = make(
        retry=RetryPolicy(max_attempts=3, initial=8.0, max_backoff=30.0, max_wait=5.0, rng=MaxRandom())
    )
    server.inject(Fault(status=503), Fault(status=503))
    assert erp.vendors.get("v001").id == "v001"
    assert clock.sleeps == [5.0, 5.0]


# -- the write rule, in isolation -------------------------------------------------------------------


def _transport_error(*, maybe_sent: bool, retryable: bool = True) -> TransportError:
    return TransportError("x", maybe_sent=maybe_sent, retryable=retryable)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (_transport_error(maybe_sent=False), False, True),
        (_transport_error(maybe_sent=True), False, False),
        (_transport_error(maybe_sent=True), True, True),
        (_transport_error(maybe_sent=False, retryable=False), True, False),
        (ServerError("x", status=500), False, False),
        (ServerError("x", status=503), False, False),
        (ServerError("x", status=503), True, True),
        (RateLimited("x", status=429), False, True),
        (ServerError("x", status=425, retryable=True), False, True),
        (fincon.NotFound("x", status=404), True, False),
    ],
)
def test_is_safe_to_retry(error: FinconError, idempotent: bool, expected: bool) -> None:
    assert is_safe_to_retry(error, idempotent=idempotent) is expected


def test_proven_not_applied_allows_a_retry() -> None:
    error = _transport_error(maybe_sent=True)
    assert is_safe_to_retry(error, idempotent=False, proven_not_applied=True) is True


def test_retry_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(initial=-1)


# -- the engine, driven by hand -------------------------------------------------------------------


def _drive(flow: Flow[Any]) -> tuple[Any, list[float]]:
    """Run a flow that only sleeps; return its result and the sleeps."""
    sleeps: list[float] = []
    value = None
    while True:
        try:
            effect = flow.send(value)
        except StopIteration as stop:
            return stop.value, sleeps
        assert isinstance(effect, Sleep)
        sleeps.append(effect.seconds)


def test_engine_first_attempt_success_costs_nothing() -> None:
    engine = RetryEngine(RetryPolicy(), FakeClock())
    calls = []

    def attempt() -> Flow[str]:
        calls.append(1)
        yield from ()
        return "ok"

    assert _drive(engine.run(attempt, lambda e: True)) == ("ok", [])
    assert calls == [1]


def test_engine_consults_decide_for_each_failure() -> None:
    engine = RetryEngine(RetryPolicy(max_attempts=5, rng=MaxRandom()), FakeClock())
    outcomes: list[FinconError | str] = [ServerError("a"), ServerError("b"), "done"]
    decided: list[str] = []
    retried: list[tuple[str, float]] = []

    def attempt() -> Flow[str]:
        yield from ()
        outcome = outcomes.pop(0)
        if isinstance(outcome, FinconError):
            raise outcome
        return outcome

    def decide(error: FinconError) -> bool:
        decided.append(error.message)
        return True

    result, sleeps = _drive(engine.run(attempt, decide, on_retry=lambda e, w: retried.append((e.message, w))))
    assert result == "done"
    assert list(dict.fromkeys(decided)) == ["a", "b"]  # asked about each failure (maybe twice: pure)
    assert sleeps == [0.5, 1.0]
    assert retried == [("a", 0.5), ("b", 1.0)]


def test_engine_stops_when_decide_refuses() -> None:
    engine = RetryEngine(RetryPolicy(max_attempts=5), FakeClock())
    attempts = []

    def attempt() -> Flow[str]:
        attempts.append(1)
        yield from ()
        raise ServerError("nope", status=500)

    with pytest.raises(ServerError):
        _drive(engine.run(attempt, lambda e: len(attempts) < 3))
    assert len(attempts) == 3


def test_engine_lets_foreign_exceptions_through() -> None:
    engine = RetryEngine(RetryPolicy(max_attempts=5), FakeClock())

    def attempt() -> Flow[str]:
        yield from ()
        raise KeyError("bug")

    with pytest.raises(KeyError):
        _drive(engine.run(attempt, lambda e: True))


@settings(deadline=None, max_examples=50)
@given(st.lists(st.sampled_from(["fail", "ok"]), min_size=1, max_size=8), st.integers(1, 6))
def test_engine_never_exceeds_max_attempts(script: list[str], max_attempts: int) -> None:
    engine = RetryEngine(RetryPolicy(max_attempts=max_attempts, rng=random.Random(1)), FakeClock())
    outcomes = list(script)
    attempts = []

    def attempt() -> Flow[str]:
        attempts.append(1)
        yield from ()
        if not outcomes or outcomes.pop(0) == "fail":
            raise ServerError("x", status=503)
        return "ok"

    try:
        result, sleeps = _drive(engine.run(attempt, lambda e: True))
    except ServerError:
        assert len(attempts) == max_attempts
    else:
        assert result == "ok"
        assert len(sleeps) == len(attempts) - 1
    assert 1 <= len(attempts) <= max_attempts


# -- async ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_retries_honour_retry_after_and_the_cap(
    make_async: Callable[..., fincon.AsyncConnector], server: FakeServer, clock: FakeClock
) -> None:
    server.inject(Fault(status=429, headers={"Retry-After": "3"}), Fault(error=httpx.ReadTimeout))
    async with make_async(max_retry_wait=10) as erp:
        assert (await erp.vendors.get("v001")).id == "v001"
        assert len(server.requests) == 3
        assert 3.0 <= clock.sleeps[0] <= 3.3
        start = clock.now()
        slept = len(clock.sleeps)
        server.inject(Fault(status=503, headers={"Retry-After": "45"}))
        with pytest.raises(RateLimited) as caught:
            await erp.vendors.get("v001")
        assert caught.value.retry_at == start + timedelta(seconds=45)
        assert len(clock.sleeps) == slept
        server.inject(Fault(status=404))
        with pytest.raises(fincon.NotFound):
            await erp.vendors.get("v001")
        assert len(server.requests) == 5
