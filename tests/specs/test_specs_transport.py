"""SpecCheckingTransport: every exchange through a wrapped transport is held to the contract."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fincon.testing.specs import (
    Contract,
    ODataContract,
    OpenAPIContract,
    SpecCheckingTransport,
    SpecViolation,
)

API = "https://api.stripe.com"


def stripe_emulator(customer: dict[str, Any], *, drift: bool = False) -> httpx.MockTransport:
    """A tiny stand-in for a sandbox: answers GET and POST /v1/customers...; ``drift`` breaks it."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = dict(customer, balance="0") if drift else customer
        return httpx.Response(200, json=body)

    transport = httpx.MockTransport(handle)
    transport.seen = seen  # type: ignore[attr-defined]
    return transport


def test_contracts_satisfy_the_transport_protocol(
    stripe: OpenAPIContract, business_partner: ODataContract
) -> None:
    assert isinstance(stripe, Contract)
    assert isinstance(business_partner, Contract)


def test_a_clean_conversation_is_counted(stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]) -> None:
    checking = SpecCheckingTransport(stripe_emulator(stripe_fixtures["customer"]), stripe)
    with httpx.Client(transport=checking, base_url=API) as client:
        assert client.get("/v1/customers/cus_1").json()["object"] == "customer"
        client.post("/v1/customers", data={"email": "a@example.com", "metadata[erp_id]": "V-1"})
    assert (checking.requests_checked, checking.responses_checked, checking.checked) == (2, 2, 4)
    assert checking.violations == []
    checking.assert_clean()


def test_a_drifting_emulator_is_caught_at_once(
    stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]
) -> None:
    checking = SpecCheckingTransport(stripe_emulator(stripe_fixtures["customer"], drift=True), stripe)
    with httpx.Client(transport=checking, base_url=API) as client, pytest.raises(SpecViolation) as caught:
        client.get("/v1/customers/cus_1")
    assert caught.value.location == "/body/balance"
    assert checking.responses_checked == 1


def test_a_bad_request_is_not_sent(stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]) -> None:
    emulator = stripe_emulator(stripe_fixtures["customer"])
    checking = SpecCheckingTransport(emulator, stripe)
    with (
        httpx.Client(transport=checking, base_url=API) as client,
        pytest.raises(SpecViolation, match="balance"),
    ):
        client.post("/v1/customers", data={"balance": "lots"})
    assert emulator.seen == []  # type: ignore[attr-defined]


def test_collecting_lets_the_workflow_finish_then_fails_it(
    stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]
) -> None:
    checking = SpecCheckingTransport(
        stripe_emulator(stripe_fixtures["customer"], drift=True), stripe, raise_at_once=False
    )
    with httpx.Client(transport=checking, base_url=API) as client:
        for _ in range(3):
            assert client.get("/v1/customers/cus_1").status_code == 200
    assert len(checking.violations) == 3
    with pytest.raises(SpecViolation, match=r"and 2 more violating exchanges"):
        checking.assert_clean()


def test_responses_only(stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]) -> None:
    checking = SpecCheckingTransport(
        stripe_emulator(stripe_fixtures["customer"]), stripe, check_requests=False
    )
    with httpx.Client(transport=checking, base_url=API) as client:
        client.get("/v1/customers/cus_1", params={"undocumented": "1"})
    assert (checking.requests_checked, checking.responses_checked) == (0, 1)


@pytest.mark.anyio
async def test_async_clients_are_checked_too(
    stripe: OpenAPIContract, stripe_fixtures: dict[str, Any]
) -> None:
    checking = SpecCheckingTransport(stripe_emulator(stripe_fixtures["customer"], drift=True), stripe)
    async with httpx.AsyncClient(transport=checking, base_url=API) as client:
        with pytest.raises(SpecViolation, match="balance"):
            await client.get("/v1/customers/cus_1")
        with pytest.raises(SpecViolation, match="no path of the spec"):
            await client.get("/v1/nowhere")
    assert checking.checked == 3


def test_odata_exchanges(business_partner: ODataContract) -> None:
    root = "https://s4.example/sap/opu/odata/sap/API_BUSINESS_PARTNER"

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"d": {"results": [{"Supplier": "17300001", "SupplierName": "S1"}]}})

    checking = SpecCheckingTransport(httpx.MockTransport(handle), business_partner)
    with httpx.Client(transport=checking) as client:
        client.get(f"{root}/A_Supplier", params={"$top": "1", "$select": "Supplier,SupplierName"})
        with pytest.raises(SpecViolation, match="has no property 'Name'"):
            client.get(f"{root}/A_Supplier", params={"$filter": "Name eq 'x'"})
    assert checking.checked == 3
