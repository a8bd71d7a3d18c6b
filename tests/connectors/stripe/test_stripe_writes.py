"""Creating payments (PaymentIntents), and updating or deleting draft invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import fincon
from fincon.connectors.stripe.mapping import PaymentMapper, payment_intent_create_params
from fincon.connectors.stripe.sandbox import StripeEmulator
from fincon.core.clock import FakeClock
from fincon.errors import Conflict, NotFound, RemoteValidationError, Unsupported, ValidationError
from fincon.models import Allocation, Invoice, LineItem, Money, Payment, Ref


@pytest.fixture
def emulator() -> StripeEmulator:
    return StripeEmulator(size=20, seed=5, clock=FakeClock())


def connect(emulator: StripeEmulator, **settings: object) -> fincon.Connector:
    return fincon.connect("stripe", sandbox=emulator, clock=emulator.clock, share_limits=False, **settings)


def a_payment(**changes: object) -> Payment:
    fields: dict[str, object] = {
        "amount": Money(Decimal("42.50"), "EUR"),
        "customer": Ref(id="cus_0000000002"),
        "method": "card",
        "reference": "Order 7731",
        "external_id": "erp-pay-7731",
    }
    fields.update(changes)
    return Payment.model_validate(fields)


# -- payments ----------------------------------------------------------------------------------------


def test_create_a_payment_and_confirm_it(emulator: StripeEmulator) -> None:
    with connect(emulator) as stripe:
        assert "create" in stripe.capabilities["payment"]
        created = stripe.payments.create(a_payment(), idempotency_key="pay-7731")
        assert created.amount == Money(Decimal("42.50"), "EUR")
        assert created.status == "pending"
        assert (created.customer and created.customer.id) == "cus_0000000002"
        assert (created.method, created.reference, created.external_id) == (
            "card",
            "Order 7731",
            "erp-pay-7731",
        )
        stored = emulator.payment_intents.get(str(created.id))
        assert stored is not None
        assert stored.data["amount"] == 4250
        assert stored.data["currency"] == "eur"
        assert stripe.payments.get(str(created.id)) == created
        paid = stripe.native.confirm_payment(str(created.id), payment_method="pm_card_visa")
        assert (paid.status, paid.amount) == ("completed", Money(Decimal("42.50"), "EUR"))
        assert paid.reference
        assert paid.reference.startswith("ch_")
        assert stripe.payments.get(str(created.id)) == paid
        declined = stripe.payments.create(a_payment(external_id="erp-pay-2"))
        with pytest.raises(RemoteValidationError, match="declined") as caught:
            stripe.native.confirm_payment(str(declined.id), payment_method="pm_card_chargeDeclined")
        assert caught.value.details["code"] == "card_declined"


def test_a_lost_answer_is_retried_with_the_same_key_and_creates_one_intent(emulator: StripeEmulator) -> None:
    with connect(emulator) as stripe:
        before = len(emulator.payment_intents)
        emulator.faults.drop_after(method="POST", path="/v1/payment_intents", times=1)
        created = stripe.payments.create(a_payment())  # no key given: one is fixed before the first try
        assert "drop_after" in emulator.faults.kinds()
        assert len(emulator.payment_intents) == before + 1, "the retry created a second PaymentIntent"
        assert stripe.payments.get(str(created.id)).amount == Money(Decimal("42.50"), "EUR")
        again = stripe.payments.create(a_payment(), idempotency_key="same-key")
        replay = stripe.payments.create(a_payment(), idempotency_key="same-key")
        assert replay.id == again.id
        assert len(emulator.payment_intents) == before + 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"allocations": [Allocation(document=Ref(id="in_1"), amount=Money(Decimal("1"), "EUR"))]},
            "allocations",
        ),
        ({"date": date(2026, 1, 5)}, "date"),
        ({"status": "completed"}, "status"),
        ({"amount": Money(Decimal("0.001"), "EUR")}, "amount"),
        ({"amount": Money(Decimal("0"), "EUR")}, "amount"),
        ({"method": "check"}, "method"),
    ],
)
def test_what_stripe_decides_itself_is_refused_before_sending(
    emulator: StripeEmulator, changes: dict[str, object], field: str
) -> None:
    with connect(emulator) as stripe:
        sent = emulator.requests_handled
        with pytest.raises(ValidationError, match=field):
            stripe.payments.create(a_payment(**changes))
        assert emulator.requests_handled == sent


def test_payment_create_params_round_trip_through_the_mapper() -> None:
    record = a_payment(amount=Money(Decimal("5.120"), "KWD"), method="sepa_direct_debit")
    params = payment_intent_create_params(record)
    assert params["amount"] == 5120
    assert params["payment_method_types"] == ["sepa_debit"]
    intent = {
        **params,
        "id": "pi_1",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "created": 0,
    }
    back = PaymentMapper().to_record(intent)
    assert (back.amount, back.method, back.reference, back.external_id) == (
        record.amount,
        record.method,
        record.reference,
        record.external_id,
    )


def test_emulator_refuses_kwd_amounts_stripe_cannot_charge(emulator: StripeEmulator) -> None:
    with connect(emulator) as stripe, pytest.raises(RemoteValidationError, match="end in 0"):
        stripe.payments.create(a_payment(amount=Money(Decimal("5.124"), "KWD")))


# -- draft invoices --------------------------------------------------------------------------------------


def a_draft(stripe: fincon.Connector) -> Invoice:
    return stripe.invoices.create(
        Invoice(
            customer=Ref(id="cus_0000000004"),
            currency="USD",
            memo="Draft for review",
            lines=[LineItem(description="Consulting", amount=Money(Decimal("250.00"), "USD"))],
        ),
        idempotency_key="draft-1",
    )


def test_update_a_draft_invoice(emulator: StripeEmulator) -> None:
    with connect(emulator) as stripe:
        draft = a_draft(stripe)
        assert draft.status == "draft"
        assert draft.due_date is None
        updated = stripe.invoices.update(
            str(draft.id), {"memo": "Reviewed", "due_date": date(2026, 2, 28), "external_id": "erp-inv-9"}
        )
        assert (updated.memo, updated.due_date, updated.external_id) == (
            "Reviewed",
            date(2026, 2, 28),
            "erp-inv-9",
        )
        assert updated.total == draft.total == Money(Decimal("250.00"), "USD")
        assert stripe.invoices.get(str(draft.id)) == updated
        back = stripe.invoices.update(str(draft.id), {"due_date": None, "memo": None})
        assert (back.due_date, back.memo) == (None, None)
        with pytest.raises(Unsupported, match="total"):
            stripe.invoices.update(str(draft.id), {"total": Money(Decimal("1.00"), "USD")})


def test_delete_a_draft_invoice(emulator: StripeEmulator) -> None:
    with connect(emulator) as stripe:
        draft = a_draft(stripe)
        stripe.invoices.delete(str(draft.id))
        with pytest.raises(NotFound):
            stripe.invoices.get(str(draft.id))
        with pytest.raises(NotFound):
            stripe.invoices.delete(str(draft.id))


def test_finalized_invoices_are_refused_with_a_clear_error(emulator: StripeEmulator) -> None:
    with connect(emulator) as stripe:
        draft = a_draft(stripe)
        stripe.native.finalize_invoice(str(draft.id))
        before = emulator.invoices.get(str(draft.id))
        with pytest.raises(Conflict, match="not a draft") as caught:
            stripe.invoices.update(str(draft.id), {"memo": "too late"})
        assert caught.value.code == "invoice_not_draft"
        assert caught.value.details["status"] == "open"
        with pytest.raises(Conflict, match="void it"):
            stripe.invoices.delete(str(draft.id))
        assert emulator.invoices.get(str(draft.id)) == before, "a refused change reached the invoice"


def test_emulator_keeps_finalized_amounts_and_drafts_only_deletions(emulator: StripeEmulator) -> None:
    with connect(emulator) as stripe:
        draft = a_draft(stripe)
        stripe.native.finalize_invoice(str(draft.id))
        with pytest.raises(RemoteValidationError, match="draft"):
            stripe.request(
                "POST",
                f"/v1/invoices/{draft.id}",
                content="due_date=1800000000",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        described = stripe.request(
            "POST",
            f"/v1/invoices/{draft.id}",
            content="description=Still+editable",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert described.json()["description"] == "Still editable"  # as in Stripe, outside fincon's update
        with pytest.raises(RemoteValidationError, match="only delete draft"):
            stripe.request("DELETE", f"/v1/invoices/{draft.id}")
