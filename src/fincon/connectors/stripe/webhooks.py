"""Stripe webhooks: verify the ``Stripe-Signature`` header and map the event's object.

The header is ``t=<unix time>,v1=<hex>[,v1=<hex>...]`` (several ``v1`` while a secret is
being rolled); each ``v1`` is HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint secret.
:func:`construct_event` checks it over the raw bytes in constant time, refuses timestamps
outside ``tolerance`` seconds, and refuses a delivery seen before within that window
(replay): seen signatures are remembered in a bounded TTL cache. Stripe's own redeliveries
carry a fresh timestamp and signature, so they are accepted; de-duplicate processing by
``event.id`` in your handler.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from cachetools import TTLCache
from pydantic import SecretStr

from fincon.connectors.stripe._amounts import from_timestamp
from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.errors import AuthError

__all__ = [
    "DEFAULT_TOLERANCE",
    "ReplayGuard",
    "SignatureVerificationError",
    "StripeEvent",
    "Webhooks",
    "construct_event",
    "sign_payload",
]

DEFAULT_TOLERANCE = 300
SCHEME = "v1"

# Stripe object name -> (canonical resource, mapper name in mapping.MAPPERS or "payout").
_MAPPED_OBJECTS = {
    "customer": "customer",
    "invoice": "invoice",
    "payment_intent": "payment",
    "balance_transaction": "bank_transaction",
    "payout": "payout",
}


class SignatureVerificationError(AuthError):
    """A webhook whose signature, timestamp or body cannot be trusted. ``code`` says why:
    ``malformed_header``, ``no_signatures``, ``bad_signature``, ``stale``, ``replayed``, ``bad_payload``."""


@dataclass(frozen=True)
class StripeEvent:
    """A verified Stripe event.

    ``object`` is ``data.object`` as sent (numbers as ``Decimal`` or int, never float);
    ``record`` is it mapped to a canonical record where one exists (customer, invoice,
    payment, bank transaction, payout), else None; ``mapping_error`` says why a mappable
    object could not be mapped.
    """

    id: str
    type: str
    created: datetime | None
    livemode: bool
    api_version: str | None
    object: Mapping[str, Any]
    previous_attributes: Mapping[str, Any] | None
    record: Any = None
    resource: str | None = None
    mapping_error: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


class ReplayGuard:
    """Remembers verified deliveries for ``ttl`` seconds in bounded memory (thread-safe)."""

    def __init__(self, *, ttl: float = 3600.0, maxsize: int = 100_000, clock: Clock = SYSTEM_CLOCK) -> None:
        self.ttl = ttl
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=maxsize, ttl=ttl, timer=clock.monotonic)
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within the window (and remembers it)."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = True
            return True


def sign_payload(payload: bytes | str, secret: str | SecretStr, timestamp: int) -> str:
    """A ``Stripe-Signature`` header for ``payload`` (tests, local replays of fixtures)."""
    return f"t={timestamp},{SCHEME}={_signature(_bytes(payload), _secret(secret), timestamp)}"


def _bytes(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


def _secret(secret: str | SecretStr) -> bytes:
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not value:
        raise SignatureVerificationError("the webhook secret is empty", system="stripe", code="no_secret")
    return value.encode("utf-8")


def _signature(payload: bytes, secret: bytes, timestamp: int | str) -> str:
    return hmac.new(secret, str(timestamp).encode("ascii") + b"." + payload, hashlib.sha256).hexdigest()


def _fail(message: str, code: str) -> SignatureVerificationError:
    return SignatureVerificationError(message, system="stripe", code=code, retryable=False)


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            if not value.isascii() or not value.isdigit() or len(value) > 12:
                raise _fail("the Stripe-Signature timestamp is not a Unix time", "malformed_header")
            timestamp = int(value)
        elif name == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise _fail("the Stripe-Signature header has no timestamp", "malformed_header")
    if not signatures:
        raise _fail("the Stripe-Signature header has no v1 signature", "no_signatures")
    return timestamp, signatures


_DEFAULT_GUARD = ReplayGuard()


def construct_event(
    payload: bytes | str,
    sig_header: str,
    secret: str | SecretStr,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    clock: Clock | None = None,
    replay_guard: ReplayGuard | None = None,
) -> StripeEvent:
    """Verify a webhook delivery and return the typed event.

    ``payload`` must be the raw request body, byte for byte. Raises
    :class:`SignatureVerificationError` when the header is malformed, no ``v1`` signature
    matches, the timestamp is more than ``tolerance`` seconds away, or the same delivery was
    already accepted (``replay_guard``: by default one shared per process; pass your own,
    or ``tolerance=0`` to turn the time and replay checks off).
    """
    raw = _bytes(payload)
    key = _secret(secret)
    if not isinstance(sig_header, str) or not sig_header:
        raise _fail("no Stripe-Signature header", "malformed_header")
    timestamp, signatures = _parse_header(sig_header)
    expected = _signature(raw, key, timestamp)
    # Compare with every candidate: which one matched must not show in the timing.
    matched = [
        hmac.compare_digest(expected.encode(), given.encode("ascii", "replace")) for given in signatures
    ]
    if not any(matched):
        raise _fail("no signature matches the payload for this secret", "bad_signature")
    now = (clock or SYSTEM_CLOCK).now().timestamp()
    if tolerance > 0:
        if abs(now - timestamp) > tolerance:
            raise _fail(f"the signature's timestamp is outside the {tolerance}s tolerance", "stale")
        guard = replay_guard or _DEFAULT_GUARD
        if tolerance > guard.ttl:
            raise ValueError(
                f"tolerance {tolerance}s is longer than the replay guard remembers ({guard.ttl:g}s)"
            )
        if not guard.first_time(f"{timestamp}.{expected}"):
            raise _fail("this webhook delivery was already accepted (replay)", "replayed")
    return _event(raw)


def _event(raw: bytes) -> StripeEvent:
    try:
        body = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise _fail("the webhook body is not valid JSON", "bad_payload") from None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise _fail("the webhook body is not a Stripe event", "bad_payload")
    data = body["data"]
    obj = data.get("object") if isinstance(data.get("object"), dict) else {}
    resource, record, problem = _map(obj)
    return StripeEvent(
        id=str(body.get("id", "")),
        type=str(body.get("type", "")),
        created=from_timestamp(body.get("created")),
        livemode=bool(body.get("livemode")),
        api_version=body.get("api_version"),
        object=obj,
        previous_attributes=data.get("previous_attributes"),
        record=record,
        resource=resource,
        mapping_error=problem,
        raw=body,
    )


def _map(obj: Mapping[str, Any]) -> tuple[str | None, Any, str | None]:
    from fincon.connectors.stripe.mapping import MAPPERS, PayoutMapper

    name = _MAPPED_OBJECTS.get(str(obj.get("object")))
    if name is None:
        return None, None, None
    mapper = PayoutMapper() if name == "payout" else MAPPERS[name]
    resource = "bank_transaction" if name == "payout" else name
    try:
        return resource, mapper.to_record(obj), None
    except Exception as exc:  # a newer or partial object: the event is still delivered
        return resource, None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


class Webhooks:
    """``connector.native.webhooks``: :func:`construct_event` on the connector's clock, with
    a replay guard of its own."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self.replay_guard = ReplayGuard(clock=clock)

    def construct_event(
        self,
        payload: bytes | str,
        sig_header: str,
        secret: str | SecretStr,
        tolerance: int = DEFAULT_TOLERANCE,
    ) -> StripeEvent:
        """Verify and parse one delivery (see :func:`construct_event`)."""
        return construct_event(
            payload, sig_header, secret, tolerance, clock=self.clock, replay_guard=self.replay_guard
        )
