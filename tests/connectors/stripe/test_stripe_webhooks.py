"""Webhook signature verification: valid, tampered, stale, several v1, wrong secret, replay."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from stripe_testkit import fixtures

import fincon
from fincon.connectors.stripe.webhooks import (
    ReplayGuard,
    SignatureVerificationError,
    construct_event,
    sign_payload,
)
from fincon.core.clock import FakeClock
from fincon.models import Invoice

SECRET = "whsec_test_fincon_0123456789"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=NOW)


def _body(obj_name: str = "invoice") -> bytes:
    event = dict(
        fixtures()["event"],
        type=f"{obj_name}.updated",
        data={"object": fixtures()[obj_name], "previous_attributes": {"status": "draft"}},
    )
    return json.dumps(event).encode()


def _verify(body: bytes, header: str, clock: FakeClock, secret: str = SECRET, **options: object) -> object:
    return construct_event(
        body,
        header,
        secret,
        clock=clock,
        replay_guard=options.pop("guard", ReplayGuard(clock=clock)),
        **options,
    )  # type: ignore[arg-type]


def _now(clock: FakeClock) -> int:
    return int(clock.now().timestamp())


def test_a_valid_delivery_yields_a_typed_event_with_a_canonical_record(clock: FakeClock) -> None:
    body = _body()
    event = _verify(body, sign_payload(body, SECRET, _now(clock)), clock)
    assert event.type == "invoice.updated"
    assert event.resource == "invoice"
    assert isinstance(event.record, Invoice)
    assert event.record.id == fixtures()["invoice"]["id"]
    assert event.previous_attributes == {"status": "draft"}  # type: ignore[attr-defined]


def test_an_object_without_canonical_home_has_no_record(clock: FakeClock) -> None:
    body = json.dumps(fixtures()["event"]).encode()  # a plan.created event
    event = _verify(body, sign_payload(body, SECRET, _now(clock)), clock)
    assert event.record is None
    assert event.object["object"] == "plan"


def test_a_tampered_body_is_refused(clock: FakeClock) -> None:
    body = _body()
    header = sign_payload(body, SECRET, _now(clock))
    with pytest.raises(SignatureVerificationError) as caught:
        _verify(body.replace(b'"amount_due": 1000', b'"amount_due": 9000'), header, clock)
    assert caught.value.code == "bad_signature"


def test_a_stale_or_future_timestamp_is_refused(clock: FakeClock) -> None:
    body = _body()
    for when in (_now(clock) - 301, _now(clock) + 301):
        with pytest.raises(SignatureVerificationError) as caught:
            _verify(body, sign_payload(body, SECRET, when), clock)
        assert caught.value.code == "stale"
    _verify(body, sign_payload(body, SECRET, _now(clock) - 299), clock)


def test_any_of_several_v1_signatures_may_match(clock: FakeClock) -> None:
    body = _body()
    good = sign_payload(body, SECRET, _now(clock))
    rolled = sign_payload(body, "whsec_old_secret", _now(clock)).split(",")[1]
    header = f"{good.split(',')[0]},{rolled},{good.split(',')[1]},v0=deadbeef"
    assert _verify(body, header, clock).id  # type: ignore[attr-defined]


def test_a_wrong_secret_and_a_header_without_v1_are_refused(clock: FakeClock) -> None:
    body = _body()
    with pytest.raises(SignatureVerificationError) as caught:
        _verify(body, sign_payload(body, SECRET, _now(clock)), clock, secret="whsec_someone_else")
    assert caught.value.code == "bad_signature"
    with pytest.raises(SignatureVerificationError) as caught:
        _verify(body, f"t={_now(clock)},v0=abc", clock)
    assert caught.value.code == "no_signatures"
    with pytest.raises(SignatureVerificationError):
        _verify(body, "garbage", clock)


def test_a_replayed_delivery_is_refused_within_the_window(clock: FakeClock) -> None:
    guard = ReplayGuard(clock=clock)
    body = _body()
    header = sign_payload(body, SECRET, _now(clock))
    _verify(body, header, clock, guard=guard)
    with pytest.raises(SignatureVerificationError) as caught:
        _verify(body, header, clock, guard=guard)
    assert caught.value.code == "replayed"
    # Stripe's own redelivery is signed afresh: accepted.
    clock.advance(5)
    _verify(body, sign_payload(body, SECRET, _now(clock)), clock, guard=guard)


def test_native_webhooks_on_a_connector_and_the_secret_never_shows(clock: FakeClock) -> None:
    body = _body("customer")
    with fincon.connect("stripe", sandbox=True, clock=clock) as stripe:
        event = stripe.native.webhooks.construct_event(body, sign_payload(body, SECRET, _now(clock)), SECRET)
        assert event.resource == "customer"
        with pytest.raises(SignatureVerificationError) as caught:
            stripe.native.webhooks.construct_event(body, sign_payload(body, SECRET, _now(clock)), SECRET)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(event)
