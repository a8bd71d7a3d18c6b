"""Fault injection through SandboxTransport, with plain httpx clients (sync and async)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import httpx
import pytest

from fincon.core.clock import FakeClock
from fincon.sandbox import FaultPlan, SandboxTransport, ThrottleFault
from fincon.testing.reference import ReferenceEmulator


def test_no_rules_no_faults(client: httpx.Client, plan: FaultPlan) -> None:
    assert client.get("/v1/vendors").status_code == 200
    assert plan.injected == []


def test_throttle_sends_429_with_retry_after_seconds_once(client: httpx.Client, plan: FaultPlan) -> None:
    plan.throttle(retry_after=7, path="/v1/vendors")
    throttled = client.get("/v1/vendors")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["type"] == "rate_limit_error"
    assert client.get("/v1/vendors").status_code == 200  # times defaults to 1
    assert plan.kinds() == ["throttle"]
    assert plan.injected[0].path == "/v1/vendors"
    assert plan.injected[0].method == "GET"


def test_throttle_with_an_http_date_on_the_emulator_clock(
    client: httpx.Client, plan: FaultPlan, clock: FakeClock
) -> None:
    plan.throttle(retry_after=90, http_date=True)
    response = client.get("/v1/vendors")
    assert parsedate_to_datetime(response.headers["Retry-After"]) == clock.now() + timedelta(seconds=90)
    fixed = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
    plan.throttle(retry_after=fixed)
    assert client.get("/v1/vendors").headers["Retry-After"] == "Fri, 01 May 2026 12:00:00 GMT"


def test_fractional_retry_after_rounds_up() -> None:
    assert ThrottleFault(retry_after=0.2).retry_after_header(FakeClock()) == "1"
    assert ThrottleFault(retry_after=0).retry_after_header(FakeClock()) == "0"


def test_server_error_burst(client: httpx.Client, plan: FaultPlan) -> None:
    plan.server_error(status=503, burst=3)
    statuses = [client.get("/v1/me").status_code for _ in range(5)]
    assert statuses == [503, 503, 503, 200, 200]
    assert plan.kinds() == ["server_error"] * 3


def test_server_error_status_must_be_5xx(plan: FaultPlan) -> None:
    with pytest.raises(ValueError, match="5xx"):
        plan.server_error(status=429)


def test_timeout_raises_read_timeout_without_waiting(
    client: httpx.Client, plan: FaultPlan, reference: ReferenceEmulator, clock: FakeClock
) -> None:
    plan.timeout(method="POST")
    before = reference.vendors.count()
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/vendors", json={"name": "Acme"})
    assert reference.vendors.count() == before  # not applied
    assert clock.sleeps == []
    plan.timeout(method="POST", applied=True)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/v1/vendors", json={"name": "Acme"})
    assert reference.vendors.count() == before + 1


def test_drop_before_never_reaches_the_emulator(
    client: httpx.Client, plan: FaultPlan, reference: ReferenceEmulator
) -> None:
    plan.drop_before(method="POST")
    with pytest.raises(httpx.ConnectError):
        client.post("/v1/vendors", json={"name": "Acme"})
    assert reference.vendors.count() == reference.size
    assert reference.requests_handled == 0


@pytest.mark.parametrize(
    ("error", "exception"), [("protocol", httpx.RemoteProtocolError), ("read", httpx.ReadError)]
)
def test_drop_after_applies_the_write_then_loses_the_answer(
    client: httpx.Client,
    plan: FaultPlan,
    reference: ReferenceEmulator,
    error: str,
    exception: type[Exception],
) -> None:
    plan.drop_after(method="POST", error=error)  # type: ignore[arg-type]
    with pytest.raises(exception):
        client.post("/v1/vendors", json={"name": "Acme"}, headers={"Idempotency-Key": "k1"})
    assert reference.vendors.count() == reference.size + 1
    # The retry with the same key replays the stored answer: still one record.
    retry = client.post("/v1/vendors", json={"name": "Acme"}, headers={"Idempotency-Key": "k1"})
    assert retry.status_code == 200
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert reference.vendors.count() == reference.size + 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("invalid_json", "application/json"),
        ("truncated_json", "application/json"),
        ("xxe", "application/xml"),
        ("billion_laughs", "application/xml"),
    ],
)
def test_malformed_bodies(client: httpx.Client, plan: FaultPlan, body: str, content_type: str) -> None:
    plan.malformed(body=body)  # type: ignore[arg-type]
    response = client.get("/v1/vendors")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert int(response.headers["Content-Length"]) == len(response.content)
    if content_type == "application/json":
        with pytest.raises(json.JSONDecodeError):
            response.json()
    elif body == "xxe":
        assert b'SYSTEM "file:///etc/passwd"' in response.content
    else:
        assert response.content.count(b"<!ENTITY") == 10
        assert b"&lol9;" in response.content


def test_malformed_custom_bytes(client: httpx.Client, plan: FaultPlan) -> None:
    plan.malformed(body=b"\xff\xfe not utf-8", content_type="application/json")
    response = client.get("/v1/vendors")
    assert response.content == b"\xff\xfe not utf-8"


def test_matching_by_method_path_predicate_and_after(client: httpx.Client, plan: FaultPlan) -> None:
    plan.server_error(method="POST", path="/v1/bills*", times=None)
    plan.throttle(when=lambda request: request.url.params.get("limit") == "3", times=None)
    plan.server_error(status=502, path="/v1/me", after=2)
    assert client.get("/v1/bills").status_code == 200
    assert client.post("/v1/bills", json={}).status_code == 500
    assert client.get("/v1/vendors", params={"limit": "3"}).status_code == 429
    assert client.get("/v1/vendors", params={"limit": "4"}).status_code == 200
    assert [client.get("/v1/me").status_code for _ in range(4)] == [200, 200, 502, 200]


def test_probability_is_deterministic_from_the_seed(reference: ReferenceEmulator) -> None:
    def run(seed: int) -> list[int]:
        emulator = ReferenceEmulator(size=5, faults=FaultPlan(seed))
        emulator.faults.server_error(probability=0.3, times=None)
        with httpx.Client(
            transport=SandboxTransport(emulator),
            base_url="https://reference.test",
            headers={"Authorization": f"Bearer {emulator.api_key}"},
        ) as client:
            return [client.get("/v1/me").status_code for _ in range(200)]

    first = run(11)
    assert first == run(11)
    assert first != run(12)
    assert 35 <= first.count(500) <= 85


def test_storm_injects_each_kind_at_roughly_its_rate() -> None:
    plan = FaultPlan.storm(
        seed=5, throttle=0.1, server_error=0.1, drop_before=0.05, drop_after=0.05, timeout=0.05
    )
    emulator = ReferenceEmulator(size=5, faults=plan)
    outcomes: dict[str, int] = {}
    with httpx.Client(
        transport=SandboxTransport(emulator),
        base_url="https://reference.test",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    ) as client:
        for _ in range(2000):
            try:
                outcome = str(client.get("/v1/me").status_code)
            except httpx.HTTPError as error:
                outcome = type(error).__name__
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    kinds = plan.kinds()
    assert len(kinds) == 2000 - outcomes["200"]
    assert outcomes["429"] == kinds.count("throttle")
    assert outcomes["ConnectError"] == kinds.count("drop_before")
    assert outcomes["RemoteProtocolError"] == kinds.count("drop_after")
    assert outcomes["ReadTimeout"] == kinds.count("timeout")
    assert sum(outcomes.get(status, 0) for status in ("500", "502", "503", "504")) == kinds.count(
        "server_error"
    )
    assert {"500", "502", "503", "504"} <= set(outcomes)
    # Rules are tried in order, so later ones see only what earlier ones let through.
    assert 150 <= kinds.count("throttle") <= 250
    assert 120 <= kinds.count("server_error") <= 240
    assert 50 <= kinds.count("timeout") <= 110


def test_suspended_and_clear(client: httpx.Client, plan: FaultPlan) -> None:
    plan.server_error(times=None)
    with plan.suspended():
        assert client.get("/v1/me").status_code == 200
    assert client.get("/v1/me").status_code == 500
    plan.clear()
    assert client.get("/v1/me").status_code == 200
    assert plan.injected == []


def test_rule_validation(plan: FaultPlan) -> None:
    with pytest.raises(ValueError, match="probability"):
        plan.throttle(probability=1.5)
    with pytest.raises(ValueError, match="burst"):
        plan.server_error(burst=0)


# The same faults through httpx.AsyncClient ------------------------------------------------


@pytest.fixture
async def async_client(reference: ReferenceEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=SandboxTransport(reference),
        base_url="https://reference.test",
        headers={"Authorization": f"Bearer {reference.api_key}"},
    ) as client:
        yield client


@pytest.mark.anyio
async def test_async_client_sees_every_fault(
    async_client: httpx.AsyncClient, plan: FaultPlan, reference: ReferenceEmulator
) -> None:
    plan.throttle(retry_after=3)
    plan.server_error(status=504, after=1)
    response = await async_client.get("/v1/vendors")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")
    assert (await async_client.get("/v1/vendors")).status_code == 200
    assert (await async_client.get("/v1/vendors")).status_code == 504
    plan.timeout()
    with pytest.raises(httpx.ReadTimeout):
        await async_client.get("/v1/vendors")
    plan.drop_before()
    with pytest.raises(httpx.ConnectError):
        await async_client.get("/v1/vendors")
    plan.drop_after(method="POST")
    with pytest.raises(httpx.RemoteProtocolError):
        await async_client.post("/v1/vendors", json={"name": "Async Co"})
    assert reference.vendors.count() == reference.size + 1
    plan.malformed(body="truncated_json")
    with pytest.raises(json.JSONDecodeError):
        (await async_client.get("/v1/vendors")).json()
    assert plan.kinds() == ["throttle", "server_error", "timeout", "drop_before", "drop_after", "malformed"]
