"""Writes are never duplicated (DESIGN section 5), asserted on the requests the server received."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest
from fincon_corekit import IDEMPOTENCY_HEADER, NOKEY_SYSTEM, FakeServer, Fault

import fincon
from fincon.errors import RateLimited, ServerError, TransportError
from fincon.models import Vendor

Make = Callable[..., fincon.Connector]
MakeAsync = Callable[..., fincon.AsyncConnector]

DROPPED = Fault(error=httpx.ReadError, after_processing=True, method="POST")


def _keys(server: FakeServer, method: str = "POST") -> list[str | None]:
    return [r.headers.get(IDEMPOTENCY_HEADER) for r in server.sent(method, "/v1/vendors")]


# -- with idempotency keys --------------------------------------------------------------------------


def test_caller_key_is_reused_after_a_dropped_connection(make: Make, server: FakeServer) -> None:
    erp = make()
    before = len(server.vendors)
    server.inject(DROPPED)
    created = erp.vendors.create(Vendor(name="Pay Me Once"), idempotency_key="invoice-4711")
    assert _keys(server) == ["invoice-4711", "invoice-4711"]
    assert len(server.vendors) == before + 1  # applied once, although sent twice
    assert created.id in server.vendors


def test_generated_key_is_fixed_before_the_first_attempt(make: Make, server: FakeServer) -> None:
    erp = make()
    before = len(server.vendors)
    server.inject(
        Fault(error=httpx.ReadError, after_processing=True, method="POST"),
        Fault(status=503, method="POST"),
        Fault(error=httpx.ReadTimeout, after_processing=True, method="POST"),
    )
    erp.vendors.create(Vendor(name="Generated Key Co"))
    keys = _keys(server)
    assert len(keys) == 4
    assert keys[0] is not None
    assert len(set(keys)) == 1
    uuid.UUID(keys[0])  # a fresh random key
    assert len(server.vendors) == before + 1
    # the bodies of every attempt are identical too
    assert len({r.content for r in server.sent("POST")}) == 1


def test_each_call_gets_its_own_key(make: Make, server: FakeServer) -> None:
    erp = make()
    erp.vendors.create(Vendor(name="One"))
    erp.vendors.create(Vendor(name="Two"))
    first, second = _keys(server)
    assert first != second


def test_updates_get_a_key_and_are_retried_with_it(make: Make, server: FakeServer) -> None:
    erp = make()
    server.inject(Fault(error=httpx.ReadError, after_processing=True, method="PATCH"))
    erp.vendors.update("v001", {"name": "Renamed"})
    keys = _keys(server, "PATCH")
    assert len(keys) == 2
    assert keys[0] is not None
    assert keys[0] == keys[1]


def test_request_escape_hatch_follows_the_write_rule(make: Make, server: FakeServer) -> None:
    erp = make()
    server.inject(DROPPED)
    erp.request("POST", "/v1/vendors", json={"name": "Raw Co"}, idempotency_key="raw-1")
    assert _keys(server) == ["raw-1", "raw-1"]


@pytest.mark.parametrize("header", [IDEMPOTENCY_HEADER, IDEMPOTENCY_HEADER.lower(), "IDEMPOTENCY-KEY"])
def test_a_key_given_as_a_header_is_the_key(make: Make, server: FakeServer, header: str) -> None:
    """request(headers={"Idempotency-Key": k}) must send k, once, on every attempt (never a random key)."""
    erp = make()
    server.inject(DROPPED)
    erp.request("POST", "/v1/vendors", json={"name": "Header Key"}, headers={header: "hdr-key-1"})
    posts = server.sent("POST", "/v1/vendors")
    assert len(posts) == 2
    assert [r.headers.get_list(IDEMPOTENCY_HEADER) for r in posts] == [["hdr-key-1"], ["hdr-key-1"]]


def test_an_idempotency_key_survives_a_401_refresh(make: Make, server: FakeServer) -> None:
    from fincon_corekit import CountingBearer

    server.require_auth = True
    erp = make(auth=CountingBearer())
    erp.vendors.get("v001")
    server.revoke_tokens()
    server.inject(DROPPED)
    erp.vendors.create(Vendor(name="Authed Co"), idempotency_key="auth-key")
    posts = server.sent("POST", "/v1/vendors")
    assert [r.headers[IDEMPOTENCY_HEADER] for r in posts] == ["auth-key"] * 3  # 401, dropped, ok
    assert len({r.headers["Authorization"] for r in posts}) == 2  # refreshed once


# -- without a usable key ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "caller-key-not-supported"])
def test_no_retry_when_the_write_may_have_reached_the_server(
    make: Make, server: FakeServer, key: str | None
) -> None:
    erp = make(system=NOKEY_SYSTEM)
    before = len(server.vendors)
    server.inject(DROPPED)
    with pytest.raises(TransportError) as caught:
        erp.vendors.create(Vendor(name="Maybe Created"), idempotency_key=key)
    assert caught.value.maybe_sent is True
    assert len(server.sent("POST")) == 1
    assert _keys(server) == [None]  # the system has no idempotency header: nothing to send
    assert len(server.vendors) == before + 1  # it was applied: a retry would have duplicated it


def test_no_retry_after_a_500_without_a_key(make: Make, server: FakeServer) -> None:
    erp = make(system=NOKEY_SYSTEM)
    server.inject(Fault(status=500, method="POST"))
    with pytest.raises(ServerError) as caught:
        erp.vendors.create(Vendor(name="Server Broke"))
    assert caught.value.status == 500
    assert len(server.sent("POST")) == 1


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.WriteError, httpx.RemoteProtocolError])
def test_no_retry_after_other_ambiguous_failures(
    make: Make, server: FakeServer, exc: type[Exception]
) -> None:
    erp = make(system=NOKEY_SYSTEM)
    server.inject(Fault(error=exc, method="POST"))
    with pytest.raises(TransportError):
        erp.vendors.create(Vendor(name="Ambiguous"))
    assert len(server.sent("POST")) == 1


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_retry_when_the_write_was_never_sent(make: Make, server: FakeServer, exc: type[Exception]) -> None:
    erp = make(system=NOKEY_SYSTEM)
    before = len(server.vendors)
    server.inject(Fault(error=exc, method="POST"))
    erp.vendors.create(Vendor(name="Not Sent First"))
    assert len(server.sent("POST")) == 2
    assert len(server.vendors) == before + 1


@pytest.mark.parametrize("status", [429, 425])
def test_retry_when_the_server_refused_before_processing(make: Make, server: FakeServer, status: int) -> None:
    erp = make(system=NOKEY_SYSTEM)
    server.inject(Fault(status=status, method="POST", headers={"Retry-After": "1"}))
    erp.vendors.create(Vendor(name="Throttled"))
    assert len(server.sent("POST")) == 2


def test_keyless_patch_is_not_retried_but_delete_is(make: Make, server: FakeServer) -> None:
    erp = make(system=NOKEY_SYSTEM)
    server.inject(Fault(error=httpx.ReadError, after_processing=True, method="PATCH"))
    with pytest.raises(TransportError):
        erp.vendors.update("v001", {"name": "Once"})
    assert len(server.sent("PATCH")) == 1
    server.inject(Fault(error=httpx.ReadError, method="DELETE"))
    erp.vendors.delete("v002")
    assert len(server.sent("DELETE")) == 2


def test_caller_can_declare_a_raw_write_idempotent(make: Make, server: FakeServer) -> None:
    erp = make(system=NOKEY_SYSTEM)
    server.inject(Fault(error=httpx.ReadError, method="POST"))
    erp.request("POST", "/v1/vendors", json={"name": "Declared"}, idempotent=True)
    assert len(server.sent("POST")) == 2


def test_keyless_write_retried_only_when_proven_not_applied(make: Make, server: FakeServer) -> None:
    erp = make(system=NOKEY_SYSTEM)
    # dropped before the server acted: the lookup finds nothing, so the write is sent again
    server.inject(Fault(error=httpx.ReadError, method="POST"))
    erp.native.create_proven("Proven Co", "ext-1")
    assert len(server.sent("POST")) == 2
    assert [v["external_id"] for v in server.vendors.values() if "external_id" in v] == ["ext-1"]
    # dropped after the server acted: the lookup finds the record, so no second POST
    server.inject(Fault(error=httpx.ReadError, after_processing=True, method="POST"))
    with pytest.raises(TransportError):
        erp.native.create_proven("Applied Co", "ext-2")
    assert len(server.sent("POST")) == 3
    assert [v["external_id"] for v in server.vendors.values() if "external_id" in v] == ["ext-1", "ext-2"]


def test_keyless_write_throttled_beyond_the_cap_is_not_sent_again(make: Make, server: FakeServer) -> None:
    erp = make(system=NOKEY_SYSTEM, max_retry_wait=5)
    server.inject(Fault(status=429, method="POST", headers={"Retry-After": "60"}))
    with pytest.raises(RateLimited):
        erp.vendors.create(Vendor(name="Later"))
    assert len(server.sent("POST")) == 1


# -- async ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_write_retried_with_the_same_key(make_async: MakeAsync, server: FakeServer) -> None:
    before = len(server.vendors)
    server.inject(DROPPED, Fault(status=502, method="POST"))
    async with make_async() as erp:
        await erp.vendors.create(Vendor(name="Async Once"))
    keys = _keys(server)
    assert len(keys) == 3
    assert keys[0] is not None
    assert len(set(keys)) == 1
    assert len(server.vendors) == before + 1


@pytest.mark.anyio
async def test_async_keyless_write_not_retried(make_async: MakeAsync, server: FakeServer) -> None:
    server.inject(DROPPED)
    async with make_async(NOKEY_SYSTEM) as erp:
        with pytest.raises(TransportError):
            await erp.vendors.create(Vendor(name="Async Maybe"))
        assert len(server.sent("POST")) == 1
        server.inject(Fault(error=httpx.ConnectError, method="POST"))
        await erp.vendors.create(Vendor(name="Async Not Sent"))
    assert len(server.sent("POST")) == 3
