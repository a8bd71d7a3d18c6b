"""Secrets are validated, registered for redaction on arrival, and forgotten once long replaced."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from fincon.auth import APIKey, OAuth2ClientCredentials, validate_secret
from fincon.auth._secrets import Retired, scrub
from fincon.core.clock import FakeClock
from fincon.core.flow import run_sync
from fincon.core.redaction import redact
from fincon.errors import ValidationError


def test_constructor_secrets_are_registered_at_once() -> None:
    APIKey("registered-key-4711")
    OAuth2ClientCredentials("client-1", SecretStr("registered-secret-4712"), "https://a.example.com/t")
    assert redact("key=registered-key-4711 secret=registered-secret-4712") == "key=*** secret=***"


def test_validate_secret_wraps_and_names_the_field() -> None:
    wrapped = validate_secret("value-123456", "api_token", owner="Custom")
    assert isinstance(wrapped, SecretStr)
    assert wrapped.get_secret_value() == "value-123456"
    assert "value-123456" not in repr(wrapped)
    with pytest.raises(ValidationError, match="Custom: api_token") as info:
        validate_secret("bad\x00value", "api_token", owner="Custom")
    assert info.value.field == "api_token"
    assert "bad" not in str(info.value)
    with pytest.raises(ValidationError, match="non-ASCII"):
        validate_secret("tökén-123456", "api_token", owner="Custom", header_safe=True)


def test_scrub_masks_given_and_registered_secrets_and_shortens() -> None:
    validate_secret("globally-known-4713", "x", owner="T")
    text = scrub("given-1 and globally-known-4713\nand more", ["given-1"])
    assert text == "*** and *** and more"
    assert len(scrub("x" * 500, [])) == 200


def test_retired_values_are_forgotten_after_two_more_renewals() -> None:
    retired = Retired(keep=2)
    for n in range(4):
        validate_secret(f"old-token-{n:04d}", "t", owner="T")
    retired.retire("old-token-0000")
    retired.retire("old-token-0001")
    assert redact("old-token-0000") == "***"  # still masked: requests may be in flight
    retired.retire("old-token-0002")
    assert redact("old-token-0000") == "old-token-0000"
    assert redact("old-token-0001 old-token-0002 old-token-0003") == "*** *** ***"


def test_renewed_tokens_retire_the_old_ones(clock: FakeClock) -> None:
    issued = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal issued
        issued += 1
        return httpx.Response(
            200,
            json={"access_token": f"renewed-token-{issued:04d}", "token_type": "Bearer", "expires_in": 600},
        )

    auth = OAuth2ClientCredentials("client-1", "renew-secret-4714", "https://a.example.com/t")
    auth.bind(clock=clock)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        for _ in range(4):
            run_sync(auth.auth_flow(httpx.Request("GET", "https://api.example.com/")), client)
            clock.advance(600)
    assert issued == 4
    assert redact("renewed-token-0001") == "renewed-token-0001"
    assert redact("renewed-token-0002 renewed-token-0003 renewed-token-0004") == "*** *** ***"
    assert redact("renew-secret-4714") == "***"
