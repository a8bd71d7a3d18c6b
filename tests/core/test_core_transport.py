"""The per-call pipeline: auth and the 401 rule, vendor errors, hooks, audit, timeouts."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from fincon_corekit import CLIENT_SECRET, IDEMPOTENCY_HEADER, SYSTEM, CountingBearer, FakeServer, Fault

import fincon
from fincon.core.audit import AuditEvent
from fincon.core.clock import FakeClock
from fincon.core.transport import Call
from fincon.errors import AuthError, RemoteValidationError, ServerError
from fincon.models import Bill, Money, Vendor

Make = Callable[..., fincon.Connector]
MakeAsync = Callable[..., fincon.AsyncConnector]


# -- auth: one token, a 401 refreshes once and retries once -----------------------------------------


def test_token_fetched_once_and_sent_with_every_request(make: Make, server: FakeServer) -> None:
    server.require_auth = True
    auth = CountingBearer()
    erp = make(auth=auth)
    list(erp.vendors.list(page_size=2))
    erp.vendors.get("v001")
    assert server.token_requests == 1
    api = server.api_requests()
    assert len(api) == 4
    assert len({r.headers["Authorization"] for r in api}) == 1
    assert auth.refreshes == 0


def test_401_refreshes_once_and_retries_once(make: Make, server: FakeServer) -> None:
    server.require_auth = True
    auth = CountingBearer()
    erp = make(auth=auth)
    erp.vendors.get("v001")
    server.revoke_tokens()  # the server forgets the token (rotated, revoked, expired early)
    vendor = erp.vendors.get("v002")
    assert vendor.id == "v002"
    assert auth.refreshes == 1
    assert server.token_requests == 2
    gets = [r for r in server.api_requests() if r.url.path == "/v1/vendors/v002"]
    assert len(gets) == 2
    assert gets[0].headers["Authorization"] != gets[1].headers["Authorization"]


def test_a_second_401_is_an_auth_error(make: Make, server: FakeServer, clock: FakeClock) -> None:
    server.require_auth = True
    auth = CountingBearer()
    erp = make(auth=auth)
    erp.vendors.get("v001")
    server.reject_all_tokens = True
    with pytest.raises(AuthError) as caught:
        erp.vendors.get("v002")
    assert caught.value.status == 401
    assert caught.value.code == "invalid_token"
    assert caught.value.retryable is False
    assert auth.refreshes == 1
    assert server.token_requests == 2  # exactly one refresh
    assert len([r for r in server.api_requests() if r.url.path == "/v1/vendors/v002"]) == 2
    assert clock.sleeps == []  # an auth failure is not retried with backoff
    assert CLIENT_SECRET not in str(caught.value)
    assert CLIENT_SECRET not in repr(caught.value)


def test_each_call_may_refresh_once(make: Make, server: FakeServer) -> None:
    server.require_auth = True
    auth = CountingBearer()
    erp = make(auth=auth)
    erp.vendors.get("v004")
    for vid in ("v001", "v002", "v003"):
        server.revoke_tokens()
        erp.vendors.get(vid)
    assert auth.refreshes == 3
    assert server.token_requests == 4


def test_request_escape_hatch_uses_auth_and_retries(make: Make, server: FakeServer) -> None:
    server.require_auth = True
    erp = make(auth=CountingBearer())
    server.inject(Fault(status=503, path="/v1/me"))
    response = erp.request("GET", "/v1/me")
    assert response.status_code == 200
    me = [r for r in server.requests if r.url.path == "/v1/me"]
    assert len(me) == 2
    assert all(r.headers["Authorization"].startswith("Bearer access-") for r in me)
    server.revoke_tokens()
    assert erp.request("GET", "/v1/me").status_code == 200
    assert server.token_requests == 2


def test_check_authenticates(make: Make, server: FakeServer) -> None:
    server.require_auth = True
    erp = make(auth=CountingBearer(client_secret="wrong-secret-value-123"))
    with pytest.raises(AuthError):
        erp.check()
    assert server.api_requests() == []


@pytest.mark.anyio
async def test_async_401_refresh(make_async: MakeAsync, server: FakeServer) -> None:
    server.require_auth = True
    auth = CountingBearer()
    async with make_async(auth=auth) as erp:
        await erp.vendors.get("v001")
        server.revoke_tokens()
        await erp.vendors.get("v002")
        server.reject_all_tokens = True
        with pytest.raises(AuthError):
            await erp.vendors.get("v003")
    assert auth.refreshes == 2
    assert server.token_requests == 3


# -- errors ----------------------------------------------------------------------------------------


def test_vendor_error_is_parsed_into_the_error(make: Make, server: FakeServer) -> None:
    erp = make()
    with pytest.raises(RemoteValidationError) as caught:
        erp.vendors.create(Vendor(name="reject me"))
    error = caught.value
    assert error.status == 422
    assert error.code == "name_invalid"
    assert error.message == "name is not allowed"
    assert error.details == {"code": "name_invalid", "message": "name is not allowed", "field": "name"}
    assert error.system == SYSTEM
    assert error.request_id is not None
    assert error.request_id.startswith("req_")
    assert error.retryable is False
    assert str(error).startswith(f"[{SYSTEM} 422 name_invalid] name is not allowed")
    assert error.request_id in str(error)


def test_status_only_errors_still_carry_everything(make: Make, server: FakeServer) -> None:
    erp = make(max_retries=1)
    server.inject(*[Fault(status=503, body=b"upstream down", headers={"x-request-id": "abc-1"})] * 2)
    with pytest.raises(ServerError) as caught:
        erp.vendors.get("v001")
    assert (caught.value.status, caught.value.request_id, caught.value.retryable) == (503, "abc-1", True)
    assert caught.value.system == SYSTEM


def test_malformed_json_is_a_typed_server_error(make: Make, server: FakeServer) -> None:
    erp = make()
    server.inject(Fault(status=200, body=b'{"id": "v001", "name": ', headers={"x-request-id": "bad-1"}))
    with pytest.raises(ServerError) as caught:
        erp.vendors.get("v001")
    assert not isinstance(caught.value, ValueError)
    assert caught.value.code == "malformed_response"
    assert caught.value.request_id == "bad-1"
    assert caught.value.system == SYSTEM


def test_list_page_without_the_records_is_a_server_error(make: Make, server: FakeServer) -> None:
    erp = make()
    server.inject(Fault(status=200, body=b'{"items": []}'))
    with pytest.raises(ServerError, match="no list at data"):
        list(erp.vendors.list())


def test_unmappable_record_names_it(make: Make, server: FakeServer) -> None:
    erp = make()
    server.inject(Fault(status=200, body=b'{"id": "v9", "currency": "USD"}'))
    with pytest.raises(ServerError) as caught:
        erp.vendors.get("v9")
    assert caught.value.code == "unmappable_record"
    assert "v9" in caught.value.message


def test_json_numbers_arrive_as_decimal(make: Make, server: FakeServer) -> None:
    erp = make()
    server.inject(
        Fault(
            status=200,
            body=b'{"id": "v1", "name": "N", "credit_limit": 0.1, "tiers": [1.10, 2], "big": 1e3}',
        )
    )
    vendor = erp.vendors.get("v1")
    assert vendor.raw["credit_limit"] == Decimal("0.1")
    assert type(vendor.raw["credit_limit"]) is Decimal
    assert vendor.raw["tiers"] == [Decimal("1.10"), 2]
    assert str(vendor.raw["tiers"][0]) == "1.10"
    assert vendor.raw["big"] == Decimal("1E+3")
    assert not any(isinstance(v, float) for v in (*vendor.raw.values(), *vendor.raw["tiers"]))


def test_error_messages_are_redacted(make: Make, server: FakeServer) -> None:
    erp = make(auth=CountingBearer())
    server.inject(
        Fault(
            status=400,
            path="/v1/vendors",
            body={"error": {"code": "bad", "message": f"echo: secret={CLIENT_SECRET}"}},
        )
    )
    with pytest.raises(RemoteValidationError) as caught:
        erp.vendors.get("v001")
    assert CLIENT_SECRET not in str(caught.value)


# -- event hooks -----------------------------------------------------------------------------------


def test_event_hooks_see_every_attempt(make: Make, server: FakeServer) -> None:
    seen_requests: list[httpx.Request] = []
    seen_responses: list[int] = []
    erp = make(
        auth=CountingBearer(),
        event_hooks={
            "request": [seen_requests.append],
            "response": [lambda r: seen_responses.append(r.status_code)],
        },
    )
    server.inject(Fault(status=503, path="/v1/vendors"))
    erp.vendors.get("v001")
    assert [r.url.path for r in seen_requests] == ["/v1/vendors/v001"] * 2
    assert all("authorization" in r.headers for r in seen_requests)  # hooks run after auth
    assert seen_responses == [503, 200]


def test_unknown_event_hook_kind_is_a_config_error(make: Make) -> None:
    with pytest.raises(fincon.ConfigError, match="event_hooks"):
        make(event_hooks={"reponse": [print]})


# -- audit -----------------------------------------------------------------------------------------


def test_writes_are_audited(make: Make, server: FakeServer, clock: FakeClock) -> None:
    events: list[AuditEvent] = []
    erp = make(audit=[events.append], actor="alice@example.com")
    server.inject(Fault(status=503, method="POST"))
    created = erp.vendors.create(Vendor(name="Audited Co"), idempotency_key="aud-1")
    assert len(events) == 1
    event = events[0]
    assert event.action == "create"
    assert event.resource == "vendor"
    assert event.system == SYSTEM
    assert event.result == "success"
    assert event.actor == "alice@example.com"
    assert event.idempotency_key == "aud-1"
    assert event.request_id is not None
    assert event.request_id.startswith("req_")
    assert event.duration_ms == pytest.approx(sum(clock.sleeps) * 1000, abs=0.001)
    assert event.duration_ms > 0  # the retry wait is part of the call
    assert event.timestamp == clock.now()

    erp.vendors.update(created.id, {"name": "Audited Company"})
    erp.vendors.delete(created.id)
    assert [(e.action, e.record_id, e.result) for e in events[1:]] == [
        ("update", created.id, "success"),
        ("delete", created.id, "success"),
    ]
    assert events[1].idempotency_key is not None  # the generated key is recorded
    assert events[1].idempotency_key == server.sent("PATCH")[-1].headers[IDEMPOTENCY_HEADER]


def test_request_id_in_audit_is_the_servers(make: Make, server: FakeServer) -> None:
    events: list[AuditEvent] = []
    erp = make(audit=[events.append])
    server.inject(
        Fault(status=201, method="POST", body={"id": "v77", "name": "X"}, headers={"x-request-id": "rq-9"})
    )
    erp.vendors.create(Vendor(name="X"))
    assert events[0].request_id == "rq-9"


def test_failed_writes_are_audited(make: Make, server: FakeServer) -> None:
    events: list[AuditEvent] = []
    erp = make(audit=[events.append])
    with pytest.raises(RemoteValidationError) as caught:
        erp.vendors.create(Vendor(name="reject me"))
    assert len(events) == 1
    assert events[0].result == "failure"
    assert events[0].action == "create"
    assert events[0].request_id == caught.value.request_id is not None
    assert events[0].error is not None
    assert "RemoteValidationError" in events[0].error


def test_money_writes_carry_the_amount(make: Make, server: FakeServer) -> None:
    events: list[AuditEvent] = []
    erp = make(audit=[events.append])
    erp.bills.create(Bill(number="B-9", total=Money(Decimal("99.95"), "EUR")))
    assert (events[0].amount, events[0].currency) == (Decimal("99.95"), "EUR")
    assert type(events[0].amount) is Decimal


def test_reads_are_not_audited_unless_asked(make: Make, server: FakeServer) -> None:
    events: list[AuditEvent] = []
    erp = make(audit=[events.append])
    erp.vendors.get("v001")
    list(erp.vendors.list())
    list(erp.customers.list())
    erp.request("GET", "/v1/me")
    assert events == []

    read_events: list[AuditEvent] = []
    reader = make(audit=[read_events.append], audit_reads=True)
    reader.vendors.get("v001")
    list(reader.vendors.list(page_size=5))
    assert [(e.action, e.resource, e.record_id) for e in read_events] == [
        ("read", "vendor", "v001"),
        ("read", "vendor", None),
    ]


def test_raw_writes_are_audited_as_requests(make: Make, server: FakeServer) -> None:
    events: list[AuditEvent] = []
    erp = make(audit=[events.append])
    erp.request("POST", "/v1/vendors", json={"name": "Raw"})
    assert [(e.action, e.result) for e in events] == [("request", "success")]


def test_a_failing_audit_sink_does_not_fail_the_write(make: Make, server: FakeServer) -> None:
    def broken(event: AuditEvent) -> None:
        raise RuntimeError("disk full")

    good: list[AuditEvent] = []
    erp = make(audit=[broken, good.append])
    erp.vendors.create(Vendor(name="Still Created"))
    assert len(good) == 1


@pytest.mark.anyio
async def test_async_writes_are_audited(make_async: MakeAsync, server: FakeServer) -> None:
    events: list[AuditEvent] = []
    async with make_async(audit=[events.append]) as erp:
        await erp.vendors.get("v001")
        await erp.vendors.create(Vendor(name="Async Audited"), idempotency_key="aa-1")
    assert [(e.action, e.idempotency_key, e.result) for e in events] == [("create", "aa-1", "success")]


# -- timeouts --------------------------------------------------------------------------------------


def test_timeouts_reach_the_transport(make: Make, server: FakeServer) -> None:
    erp = make(timeout=5)
    erp.vendors.get("v001")
    assert server.requests[-1].extensions["timeout"] == {"connect": 5, "read": 5, "write": 5, "pool": 5}
    erp.request("GET", "/v1/me", timeout=1.5)
    assert server.requests[-1].extensions["timeout"]["read"] == 1.5


def test_call_level_headers_and_params(make: Make, server: FakeServer) -> None:
    erp = make()
    flow = erp.core.requestor.call(Call("GET", "/v1/me", params={"q": "1"}, headers={"X-Trace": "t-1"}))
    response = erp.run(flow)
    assert response.status_code == 200
    sent = server.requests[-1]
    assert sent.url.params["q"] == "1"
    assert sent.headers["X-Trace"] == "t-1"
    assert sent.headers["User-Agent"] == "fincon"
