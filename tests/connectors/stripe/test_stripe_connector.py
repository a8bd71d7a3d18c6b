"""The Stripe connector on the wire: headers, form bodies, idempotency, errors, retries, native."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

import fincon
from fincon.connectors.stripe._form import decode_form, encode_form
from fincon.connectors.stripe.sandbox import StripeEmulator
from fincon.core.clock import FakeClock
from fincon.errors import (
    AuthError,
    Conflict,
    NotFound,
    RateLimited,
    RemoteValidationError,
    ServerError,
    ValidationError,
)
from fincon.models import Address, Customer, Invoice, LineItem, Money, Ref

KEY = "sk_test_wire_0123456789abcdef"


def _mock(handler: Callable[[httpx.Request], httpx.Response], **settings: Any) -> fincon.Connector:
    return fincon.connect(
        "stripe",
        api_key=KEY,
        transport=httpx.MockTransport(handler),
        clock=FakeClock(),
        share_limits=False,
        **settings,
    )


def _error(status: int, error: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": error}, headers={"Request-Id": "req_abc", **headers})


def test_form_encoding_nests_keys_and_round_trips() -> None:
    data = {
        "metadata": {"a": "1"},
        "items": [{"price": "p_1", "quantity": 2}],
        "expand": ["customer"],
        "ok": True,
    }
    text = encode_form(data)
    assert dict(parse_qsl(text))["items[0][price]"] == "p_1"
    assert decode_form(text) == {
        "metadata": {"a": "1"},
        "items": [{"price": "p_1", "quantity": "2"}],
        "expand": ["customer"],
        "ok": "true",
    }
    with pytest.raises(TypeError):
        encode_form({"amount": 1.5})


def test_headers_key_version_account_and_one_idempotency_key_across_retries() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return _error(500, {"type": "api_error", "message": "boom"})
        return httpx.Response(200, json={"id": "cus_1", "object": "customer", "name": "Acme", "metadata": {}})

    with _mock(handler, stripe_account="acct_123", api_version="2024-04-10") as stripe:
        stripe.customers.create(
            Customer(name="Acme", external_id="crm-1", addresses=[Address(city="Austin", country="US")])
        )
    assert len(seen) == 2
    first, second = seen
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert first.headers["Stripe-Version"] == "2024-04-10"
    assert first.headers["Stripe-Account"] == "acct_123"
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers["Content-Type"] == "application/x-www-form-urlencoded"
    body = dict(parse_qsl(first.content.decode()))
    assert body == {
        "name": "Acme",
        "address[city]": "Austin",
        "address[country]": "US",
        "metadata[external_id]": "crm-1",
    }


@pytest.mark.parametrize(
    ("status", "error", "headers", "expected", "retryable"),
    [
        (
            402,
            {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card was declined.",
            },
            {},
            RemoteValidationError,
            False,
        ),
        (
            400,
            {"type": "invalid_request_error", "param": "email", "message": "Invalid email"},
            {},
            RemoteValidationError,
            False,
        ),
        (
            400,
            {"type": "idempotency_error", "message": "Keys for idempotent requests..."},
            {},
            Conflict,
            False,
        ),
        (401, {"type": "invalid_request_error", "message": "Invalid API Key provided"}, {}, AuthError, False),
        (
            429,
            {"type": "invalid_request_error", "code": "rate_limit", "message": "slow down"},
            {},
            RateLimited,
            True,
        ),
        (
            404,
            {"type": "invalid_request_error", "code": "resource_missing", "message": "No such"},
            {},
            NotFound,
            False,
        ),
        (500, {"type": "api_error", "message": "oops"}, {"Stripe-Should-Retry": "false"}, ServerError, False),
        (
            400,
            {"type": "invalid_request_error", "message": "transient"},
            {"Stripe-Should-Retry": "true"},
            RemoteValidationError,
            True,
        ),
        (
            409,
            {"type": "invalid_request_error", "code": "lock_timeout", "message": "locked"},
            {},
            Conflict,
            True,
        ),
    ],
)
def test_stripe_errors_become_typed_fincon_errors(
    status: int, error: dict[str, Any], headers: dict[str, str], expected: type, retryable: bool
) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _error(status, error, **headers)

    with _mock(handler, max_retries=2) as stripe, pytest.raises(expected) as caught:
        stripe.customers.get("cus_1")
    assert type(caught.value) is expected or isinstance(caught.value, expected)
    assert caught.value.retryable is retryable
    assert caught.value.request_id == "req_abc"
    assert caught.value.details["type"] == error["type"]
    assert len(calls) == (3 if retryable else 1)  # retried exactly when Stripe says so
    if "param" in error:
        assert caught.value.details["param"] == "email"
    assert KEY not in str(caught.value)


def test_lock_timeout_on_a_post_is_retried_with_the_same_key() -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            return _error(409, {"type": "invalid_request_error", "code": "lock_timeout", "message": "locked"})
        return httpx.Response(200, json={"id": "cus_1", "object": "customer", "name": "A", "metadata": {}})

    with _mock(handler) as stripe:
        stripe.customers.update("cus_1", {"name": "A"}, idempotency_key="k-1")
    assert keys == ["k-1", "k-1"]


def test_sandbox_customer_lifecycle_search_and_idempotent_replay() -> None:
    with fincon.connect("stripe", sandbox=StripeEmulator(size=30), clock=FakeClock()) as stripe:
        created = stripe.customers.create(
            Customer(name="Replay Ltd", email="ap@replay.example"), idempotency_key="c-1"
        )
        again = stripe.customers.create(
            Customer(name="Replay Ltd", email="ap@replay.example"), idempotency_key="c-1"
        )
        assert again.id == created.id
        with pytest.raises(Conflict):
            stripe.customers.create(Customer(name="Other Ltd"), idempotency_key="c-1")
        updated = stripe.customers.update(created.id, {"email": "billing@replay.example", "phone": None})
        assert updated.email == "billing@replay.example"
        assert updated.phone is None
        found = list(stripe.native.search("customers", "email:'billing@replay.example'"))
        assert [record.id for record in found] == [created.id]
        everyone = list(stripe.native.search("customers", "-email:'nobody@none.example'", limit=3))
        assert len(everyone) > 3  # several pages of next_page
        stripe.customers.delete(created.id)
        assert stripe.customers.get(created.id).status == "inactive"  # Stripe's deleted stub
        with pytest.raises(ValidationError, match="created_gte"):
            list(stripe.customers.list(updated_since=datetime(2025, 1, 1, tzinfo=timezone.utc)))


def test_sandbox_invoice_draft_finalize_void_with_exact_kwd_amounts() -> None:
    with fincon.connect("stripe", sandbox=StripeEmulator(size=10), clock=FakeClock()) as stripe:
        draft = stripe.invoices.create(
            Invoice(
                customer=Ref(id="cus_0000000002"),
                currency="KWD",
                due_date=date(2026, 4, 30),
                total=Money(Decimal("37.530"), "KWD"),
                lines=[
                    LineItem(
                        description="Hosting", quantity=Decimal(3), unit_price=Money(Decimal("12.510"), "KWD")
                    ),
                ],
            )
        )
        assert draft.status == "draft"
        assert draft.total == Money(Decimal("37.530"), "KWD")
        assert draft.lines[0].unit_price == Money(Decimal("12.510"), "KWD")
        opened = stripe.native.finalize_invoice(draft.id)
        assert opened.status == "open"
        assert opened.number
        voided = stripe.native.void_invoice(draft.id)
        assert voided.status == "void"
        with pytest.raises(RemoteValidationError):
            stripe.native.void_invoice(draft.id)
        with pytest.raises(ValidationError, match="add up"):
            stripe.invoices.create(
                Invoice(
                    customer=Ref(id="cus_0000000002"),
                    currency="USD",
                    total=Money(Decimal("10.00"), "USD"),
                    lines=[LineItem(amount=Money(Decimal("9.99"), "USD"))],
                )
            )


def test_invoice_lines_beyond_the_ten_embedded_are_fetched() -> None:
    emulator = StripeEmulator(size=5)
    with fincon.connect("stripe", sandbox=emulator, clock=FakeClock()) as stripe:
        lines = [LineItem(description=f"Line {n}", amount=Money(Decimal(n), "USD")) for n in range(1, 13)]
        draft = stripe.invoices.create(
            Invoice(customer=Ref(id="cus_0000000001"), currency="USD", lines=lines)
        )
        assert len(draft.lines) == 12
        assert draft.total == Money(Decimal("78.00"), "USD")
        listed = [invoice for invoice in stripe.invoices.list() if invoice.id == draft.id]
        assert [len(invoice.lines) for invoice in listed] == [12]
        assert listed[0].raw["lines"]["has_more"] is False  # raw holds the completed lines


def test_balance_transactions_payouts_and_balances() -> None:
    with fincon.connect("stripe", sandbox=StripeEmulator(size=50), clock=FakeClock()) as stripe:
        since = datetime(2025, 1, 1, tzinfo=timezone.utc)
        recent = list(stripe.bank_transactions.list(updated_since=since))
        assert recent
        assert all(record.updated_at >= since for record in recent)
        for record in recent:
            assert record.amount.amount * (1 if record.direction == "credit" else -1) >= 0
        page = stripe.native.payouts_page(limit=10)
        assert len(page.items) == 10
        assert all(record.amount.amount < 0 for record in page.items)
        assert stripe.native.get_payout(page.items[0].id).id == page.items[0].id
        assert stripe.balances.get("available_jpy").amount.currency == "JPY"
        payments = list(stripe.payments.list())
        assert any(payment.status == "refunded" or payment.amount.amount >= 0 for payment in payments)


def test_basic_auth_with_the_key_as_user_is_accepted_by_the_sandbox() -> None:
    emulator = StripeEmulator(size=3)
    from fincon.sandbox import SandboxTransport

    with httpx.Client(transport=SandboxTransport(emulator), base_url=emulator.base_url) as client:
        ok = client.get("/v1/customers", auth=(emulator.api_key, ""))
        bad = client.get("/v1/customers", auth=("sk_test_wrong", ""))
    assert ok.status_code == 200
    assert ok.json()["object"] == "list"
    assert ok.headers["Request-Id"]
    assert bad.status_code == 401
    assert bad.json()["error"]["type"] == "invalid_request_error"
    assert "sk_test_wrong" not in bad.text
