"""Auth in the reference emulator: API keys, OAuth2 client credentials, expiry, rate limits."""

from __future__ import annotations

import base64

import httpx
import pytest

from fincon.core.clock import FakeClock
from fincon.sandbox import (
    APIKeyAuth,
    ClientCredentialsIssuer,
    SandboxTransport,
    basic_credentials,
    bearer_token,
)
from fincon.testing.reference import ReferenceEmulator


def plain_client(emulator: ReferenceEmulator) -> httpx.Client:
    return httpx.Client(transport=SandboxTransport(emulator), base_url="https://reference.test")


def get_token(client: httpx.Client, emulator: ReferenceEmulator) -> str:
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == int(emulator.tokens.ttl)
    assert response.headers["Cache-Control"] == "no-store"
    token: str = body["access_token"]
    return token


def test_credentials_are_what_the_emulator_accepts(reference: ReferenceEmulator) -> None:
    credentials = reference.credentials()
    assert set(credentials) == {"api_key", "client_id", "client_secret"}
    assert credentials["api_key"] == reference.api_key
    # Deterministic from the seed, different between seeds.
    assert ReferenceEmulator(seed=3).credentials() == credentials
    assert ReferenceEmulator(seed=4).credentials()["api_key"] != credentials["api_key"]


def test_api_key_authenticates(client: httpx.Client) -> None:
    me = client.get("/v1/me")
    assert me.status_code == 200
    assert me.json() == {
        "object": "account",
        "id": "acct_reference",
        "name": "Reference Sandbox Ltd",
        "auth_method": "api_key",
    }
    assert me.headers["Request-Id"].startswith("req_")


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer sk_test_wrong", "Basic dXNlcjpwYXNz", "Bearer ", "sk_test_ref_without_scheme"],
)
def test_bad_credentials_get_401_with_a_json_error(
    reference: ReferenceEmulator, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    with plain_client(reference) as client:
        response = client.get("/v1/vendors", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="reference"')
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == "invalid_api_key"
    assert reference.api_key not in response.text


def test_oauth_token_works_until_it_expires(reference: ReferenceEmulator, clock: FakeClock) -> None:
    with plain_client(reference) as client:
        token = get_token(client, reference)
        assert token.startswith("tok_")
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["auth_method"] == "oauth2"
        clock.advance(reference.tokens.ttl - 1)
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        clock.advance(1)
        expired = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert expired.status_code == 401
        assert expired.json()["error"]["code"] == "token_expired"
        assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
        fresh = get_token(client, reference)
        assert fresh != token
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_expire_tokens_forces_the_next_call_to_401(reference: ReferenceEmulator) -> None:
    with plain_client(reference) as client:
        token = get_token(client, reference)
        assert reference.expire_tokens() == 1
        response = client.get("/v1/vendors", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "token_expired"
        assert reference.expire_tokens() == 0
        # API keys do not expire.
        assert (
            client.get("/v1/me", headers={"Authorization": f"Bearer {reference.api_key}"}).status_code == 200
        )


def test_token_ttl_is_configurable(clock: FakeClock) -> None:
    emulator = ReferenceEmulator(clock=clock, token_ttl=60)
    with plain_client(emulator) as client:
        token = get_token(client, emulator)
        clock.advance(61)
        assert client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_unknown_token_is_invalid_not_expired(reference: ReferenceEmulator) -> None:
    with plain_client(reference) as client:
        response = client.get("/v1/me", headers={"Authorization": "Bearer tok_0000"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"},
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        ({"grant_type": "password", "username": "u", "password": "p"}, 400, "unsupported_grant_type"),
        ({"client_id": "x"}, 400, "invalid_request"),
    ],
)
def test_token_endpoint_errors_follow_rfc_6749(
    reference: ReferenceEmulator, form: dict[str, str], status: int, error: str
) -> None:
    with plain_client(reference) as client:
        response = client.post("/oauth/token", data=form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "error_description" in response.json()


def test_wrong_secret_for_a_known_client(reference: ReferenceEmulator) -> None:
    with plain_client(reference) as client:
        response = client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": reference.client_id,
                "client_secret": "nope",
            },
        )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_token_endpoint_accepts_http_basic_client_auth(reference: ReferenceEmulator) -> None:
    with plain_client(reference) as client:
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(reference.client_id, reference.client_secret),
        )
    assert response.status_code == 200


def test_rate_limit_answers_429_with_retry_after_on_the_emulator_clock(clock: FakeClock) -> None:
    emulator = ReferenceEmulator(clock=clock, rate_limit=2)
    with plain_client(emulator) as client:
        client.headers["Authorization"] = f"Bearer {emulator.api_key}"
        assert [client.get("/v1/me").status_code for _ in range(2)] == [200, 200]
        limited = client.get("/v1/me")
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "1"
        assert limited.json()["error"]["type"] == "rate_limit_error"
        clock.advance(0.5)  # one token back at 2 per second
        assert client.get("/v1/me").status_code == 200
        assert client.get("/v1/me").status_code == 429
        clock.advance(10)  # the bucket refills only up to its burst
        assert [client.get("/v1/me").status_code for _ in range(3)] == [200, 200, 429]


def test_slow_rate_limit_reports_the_whole_wait(clock: FakeClock) -> None:
    emulator = ReferenceEmulator(clock=clock, rate_limit=0.1)  # one call per 10 s
    with plain_client(emulator) as client:
        client.headers["Authorization"] = f"Bearer {emulator.api_key}"
        assert client.get("/v1/me").status_code == 200
        clock.advance(3)
        limited = client.get("/v1/me")
        assert limited.headers["Retry-After"] == "7"


def test_auth_helpers_parse_headers() -> None:
    request = httpx.Request("GET", "https://x.test", headers={"Authorization": "bearer abc"})
    assert bearer_token(request) == "abc"
    basic = base64.b64encode(b"user:pa:ss").decode()
    assert basic_credentials(
        httpx.Request("GET", "https://x.test", headers={"Authorization": f"Basic {basic}"})
    ) == (
        "user",
        "pa:ss",
    )
    assert (
        basic_credentials(httpx.Request("GET", "https://x.test", headers={"Authorization": "Basic %%%"}))
        is None
    )
    keys = APIKeyAuth({"k1": "acct"}, header="X-API-Key", scheme=None)
    assert (
        keys.authenticate(httpx.Request("GET", "https://x.test", headers={"X-API-Key": "k1"})).account
        == "acct"
    )
    assert (
        keys.authenticate(httpx.Request("GET", "https://x.test", headers={"X-API-Key": "k2"})).problem
        == "invalid"
    )
    assert keys.authenticate(httpx.Request("GET", "https://x.test")).problem == "missing"


def test_issuer_rejects_a_non_positive_ttl() -> None:
    with pytest.raises(ValueError, match="ttl"):
        ClientCredentialsIssuer({}, ttl=0)
