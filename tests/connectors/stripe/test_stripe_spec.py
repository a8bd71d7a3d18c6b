"""Every request the connector sends, and every answer of the emulator, against Stripe's spec."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
from stripe_testkit import SPEC

import fincon
from fincon.connectors.stripe.sandbox import StripeEmulator
from fincon.core.clock import FakeClock
from fincon.errors import FinconError
from fincon.models import Address, Customer, Invoice, LineItem, Money, Payment, Ref
from fincon.sandbox import SandboxTransport
from fincon.testing.specs import OpenAPIContract, SpecCheckingTransport, require_spec


@pytest.fixture(scope="module")
def contract() -> OpenAPIContract:
    return OpenAPIContract(require_spec(SPEC))


def _checked(contract: OpenAPIContract, size: int = 40) -> tuple[Any, SpecCheckingTransport, StripeEmulator]:
    emulator = StripeEmulator(size=size, clock=FakeClock())
    checking = SpecCheckingTransport(SandboxTransport(emulator), contract, raise_at_once=False)
    connector = fincon.connect(
        "stripe",
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        transport=checking,
        clock=emulator.clock,
        share_limits=False,
    )
    return connector, checking, emulator


def test_a_whole_workflow_validates_both_ways(contract: OpenAPIContract) -> None:
    connector, checking, _ = _checked(contract)
    with connector as stripe:
        stripe.check()
        list(stripe.customers.list(page_size=7, max_pages=3))
        list(
            stripe.customers.list(
                filters={"email": "x@example.com", "created_gte": datetime(2024, 6, 1, tzinfo=timezone.utc)}
            )
        )
        customer = stripe.customers.create(
            Customer(
                name="Spec Ltd",
                email="ap@spec.example",
                phone="+1-555-0100",
                external_id="crm-7",
                addresses=[
                    Address(line1="1 Main St", city="Austin", postal_code="78701", country="US", region="TX"),
                    Address(type="shipping", line1="2 Dock Rd", city="Austin", country="US"),
                ],
            )
        )
        stripe.customers.get(customer.id)
        stripe.customers.update(customer.id, {"name": "Spec Ltd 2", "phone": None, "external_id": "crm-8"})
        list(stripe.native.search("customers", "email:'ap@spec.example'"))
        stripe.customers.delete(customer.id)
        stripe.customers.get(customer.id)  # the deleted stub
        invoices = list(stripe.invoices.list(page_size=25, max_pages=2, filters={"status": "open"}))
        stripe.invoices.get(invoices[0].id)
        draft = stripe.invoices.create(
            Invoice(
                customer=Ref(id="cus_0000000003"),
                currency="JPY",
                due_date=date(2026, 5, 1),
                memo="spec",
                lines=[
                    LineItem(
                        description="Yen line", quantity=Decimal(2), unit_price=Money(Decimal("1500"), "JPY")
                    ),
                    LineItem(description="Flat", amount=Money(Decimal("700"), "JPY")),
                ],
            )
        )
        stripe.native.finalize_invoice(draft.id)
        stripe.native.void_invoice(draft.id)
        list(stripe.payments.list(page_size=20, max_pages=2))
        stripe.payments.get("pi_0000000001")
        list(
            stripe.bank_transactions.list(
                page_size=30, updated_since=datetime(2025, 6, 1, tzinfo=timezone.utc)
            )
        )
        stripe.bank_transactions.get("txn_0000000004")
        list(stripe.balances.list())
        page = stripe.native.payouts_page(limit=5)
        stripe.native.get_payout(page.items[0].id)
        with pytest.raises(FinconError):
            stripe.customers.get("cus_missing")
    checking.assert_clean()
    assert checking.requests_checked >= 25
    assert checking.responses_checked == checking.requests_checked


def test_seeded_objects_of_every_kind_validate(contract: OpenAPIContract) -> None:
    emulator = StripeEmulator(size=300, seed=11)
    with httpx.Client(
        transport=SpecCheckingTransport(SandboxTransport(emulator), contract),
        base_url=emulator.base_url,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    ) as client:
        for path in (
            "/v1/customers",
            "/v1/invoices",
            "/v1/payment_intents",
            "/v1/balance_transactions",
            "/v1/payouts",
        ):
            after = None
            for _ in range(3):
                params: dict[str, Any] = {"limit": 100}
                if after:
                    params["starting_after"] = after
                if path == "/v1/payment_intents":
                    params["expand[]"] = "data.latest_charge"
                body = client.get(path, params=params).json()
                after = body["data"][-1]["id"]
        assert client.get("/v1/balance").status_code == 200
        assert client.get("/v1/invoices/in_0000000001/lines", params={"limit": 2}).status_code == 200
    assert emulator.seed_source == "fixtures3.json"


def test_error_answers_validate_as_stripe_errors(contract: OpenAPIContract) -> None:
    emulator = StripeEmulator(size=3)
    checking = SpecCheckingTransport(SandboxTransport(emulator), contract, check_requests=False)
    with httpx.Client(transport=checking, base_url=emulator.base_url) as client:
        assert client.get("/v1/customers").status_code == 401
        headers = {"Authorization": f"Bearer {emulator.api_key}"}
        assert client.get("/v1/customers/cus_nope", headers=headers).status_code == 404
        assert client.get("/v1/customers", params={"limit": 500}, headers=headers).status_code == 400
    assert checking.responses_checked == 3


def test_new_routes_validate_both_ways(contract: OpenAPIContract) -> None:
    """ending_before, invoice and PaymentIntent search, PaymentIntent create and confirm,
    draft invoice update and delete, and a connected account's requests."""
    connector, checking, emulator = _checked(contract)
    with connector as stripe:
        stripe.native.search_page("invoices", "status:'open' AND total>1000", limit=5)
        stripe.native.search_page("payment_intents", "customer:'cus_0000000002' OR amount<=5000", limit=5)
        stripe.native.search_page("invoices", "-currency:'usd'", limit=2, page="MTA=")
        created = stripe.payments.create(
            Payment(amount=Money(Decimal("19.99"), "USD"), customer=Ref(id="cus_0000000001"), method="card"),
            idempotency_key="spec-pay-1",
        )
        stripe.native.confirm_payment(str(created.id), payment_method="pm_card_visa")
        draft = stripe.invoices.create(
            Invoice(
                customer=Ref(id="cus_0000000003"),
                currency="USD",
                lines=[LineItem(description="Spec line", amount=Money(Decimal("10.00"), "USD"))],
            )
        )
        stripe.invoices.update(
            str(draft.id), {"memo": "spec", "due_date": date(2026, 6, 30), "external_id": "e-1"}
        )
        stripe.invoices.delete(str(draft.id))
    with fincon.connect(
        "stripe",
        api_key=emulator.api_key,
        base_url=emulator.base_url,
        transport=checking,
        clock=emulator.clock,
        share_limits=False,
        stripe_account="acct_1SpecConnected01",
    ) as shop:
        shop.check()
        list(shop.customers.list(page_size=5, max_pages=2))
    with httpx.Client(
        transport=checking,
        base_url=emulator.base_url,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    ) as client:
        assert (
            client.get("/v1/invoices", params={"limit": 3, "ending_before": "in_0000000010"}).status_code
            == 200
        )
        assert client.get("/v1/payment_intents", params={"ending_before": "pi_0000000004"}).status_code == 200
    checking.assert_clean()
    assert checking.requests_checked >= 17
    assert checking.responses_checked == checking.requests_checked
