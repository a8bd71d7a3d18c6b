"""Canary secrets, end to end: every auth strategy used through a real connector.

Each strategy gets secrets carrying the marker below and is driven through success and
failure paths (check, listing, a write retried after a lost answer, a 404, refused
credentials). Everything a user or operator could see is collected: reprs of the
connector, its core, settings and strategy; error messages and whole tracebacks; the
audit file, callback events and log records at DEBUG. The marker must appear nowhere.

The suite-wide part lives in ``conftest.py``: any log record from any test that contains
a canary marker fails the run.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import fincon
from fincon.auth import (
    APIKey,
    Basic,
    Bearer,
    NetSuiteTBA,
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    OAuth2JWTBearer,
)
from fincon.core.clock import FakeClock
from fincon.errors import FinconError
from fincon.models import Vendor
from fincon.sandbox import APIKeyAuth
from fincon.testing.reference.emulator import ACCOUNT_ID, ReferenceEmulator

MARK = "CNRY" + "e2e9"  # split so that no source line shows a whole canary


def canary(name: str) -> str:
    return f"{MARK}-{name}-5f1d0c2a9b"


class Evidence:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def see(self, *objects: object) -> None:
        for obj in objects:
            self.texts.extend((repr(obj), str(obj)))

    def error(self, error: BaseException) -> None:
        self.texts.append("".join(traceback.format_exception(error)))
        self.see(error)

    def leaks(self) -> list[str]:
        return [text for text in self.texts if MARK in text]


def _pem_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _emulator(clock: FakeClock) -> ReferenceEmulator:
    emulator = ReferenceEmulator(seed=3, size=150, clock=clock)
    # The sandbox accepts the canary credentials, so success paths carry them too.
    emulator.api_keys = APIKeyAuth({canary("api-key"): ACCOUNT_ID})
    emulator.tokens.clients = {"client-e2e": (canary("client-secret"), ACCOUNT_ID)}
    return emulator


STRATEGIES: dict[str, Callable[[str], Any]] = {
    "api_key": lambda base: APIKey(canary("api-key")),
    "bearer": lambda base: Bearer(canary("api-key")),
    "client_credentials": lambda base: OAuth2ClientCredentials(
        client_id="client-e2e", client_secret=canary("client-secret"), token_url=f"{base}/oauth/token"
    ),
    # The rest are refused by the reference sandbox: their failure paths must not leak either.
    "basic": lambda base: Basic("user-e2e", canary("basic-password")),
    "authorization_code": lambda base: OAuth2AuthorizationCode(
        client_id="client-e2e",
        client_secret=canary("authcode-secret"),
        token_url=f"{base}/oauth/token",
        refresh_token=canary("refresh-token"),
    ),
    "jwt_bearer": lambda base: OAuth2JWTBearer(
        client_id="client-e2e",
        private_key=_pem_key(),
        key_id="kid-1",
        token_url=f"{base}/oauth/token",
        algorithm="ES256",
    ),
    "netsuite_tba": lambda base: NetSuiteTBA(
        account="1234567_SB1",
        consumer_key=canary("consumer-key"),
        consumer_secret=canary("consumer-secret"),
        token_id=canary("token-id"),
        token_secret=canary("token-secret"),
    ),
}
ACCEPTED = {"api_key", "bearer", "client_credentials"}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_no_canary_escapes_through_a_connector(name: str, tmp_path: Path, logs: Any) -> None:
    clock = FakeClock()
    emulator = _emulator(clock)
    audit_file = tmp_path / "audit.jsonl"
    events: list[Any] = []
    strategy = STRATEGIES[name](emulator.base_url)
    evidence = Evidence()
    connector = fincon.connect(
        "reference",
        sandbox=emulator,
        clock=clock,
        auth=strategy,
        audit=[str(audit_file), events.append, "log"],
        audit_reads=True,
        share_limits=False,
    )
    evidence.see(connector, connector.core, connector.core.settings, strategy)
    with connector:
        try:
            evidence.see(connector.check())
            emulator.faults.throttle(retry_after=1, path="/v1/vendors", times=1)
            page = next(iter(connector.vendors.list(page_size=50).pages()))
            evidence.see(page.items[0], page.next_cursor)
            emulator.faults.drop_after(method="POST", times=1)
            created = connector.vendors.create(Vendor(name="Canary Checks Ltd", currency="GBP"))
            evidence.see(created, created.dump(include_raw=True, mode="json"))
            connector.vendors.get("ven_99999999")
        except FinconError as error:
            evidence.error(error)
            expected = "NotFound" if name in ACCEPTED else "AuthError"
            if type(error).__name__ != expected:
                raise AssertionError(f"{name}: expected {expected}, got {type(error).__name__}") from error
        else:
            raise AssertionError("the last call asks for a missing vendor and must fail")
        # A broken credential on the same path: the failure must not quote the secret.
        try:
            fincon.connect("reference", sandbox=emulator, clock=clock, api_key=canary("wrong-key")).check()
        except FinconError as error:
            evidence.error(error)
    audit_text = audit_file.read_text() if audit_file.exists() else ""
    if name in ACCEPTED:
        assert audit_text.count("\n") >= 3, "the write and the reads should have been audited"
    evidence.texts.append(audit_text)
    evidence.texts.extend(str(event.to_dict()) for event in events)
    evidence.texts.extend(logs.lines)
    assert logs.lines, "nothing was logged at DEBUG: the log check proved nothing"
    leaks = evidence.leaks()
    assert not leaks, f"{name}: the canary leaked into {len(leaks)} places, first: {leaks[0][:300]!r}"
