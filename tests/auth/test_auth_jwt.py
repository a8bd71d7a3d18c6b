"""OAuth2JWTBearer: the client assertion verifies with the public key (checked with
`cryptography` directly, not with the library that signed it) and carries the right claims."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from auth_testkit import API_URL, FakeOAuthServer, call
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from fincon.auth import OAuth2JWTBearer
from fincon.core.clock import FakeClock
from fincon.core.flow import run_sync
from fincon.errors import ConfigError, ValidationError

NETSUITE_TOKEN_URL = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"


def b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def verify(assertion: str, public_key: Any, algorithm: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the signature with cryptography alone; return (header, claims)."""
    header_b64, claims_b64, signature_b64 = assertion.split(".")
    signed = f"{header_b64}.{claims_b64}".encode()
    signature = b64decode(signature_b64)
    if algorithm == "PS256":
        # RFC 7518 section 3.5: MGF1 with SHA-256 and a salt as long as the hash.
        public_key.verify(
            signature, signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )
    elif algorithm == "RS256":
        public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    else:
        # JWS ES256 signatures are r || s, 32 bytes each (RFC 7518 section 3.4), not DER.
        assert len(signature) == 64
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        public_key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    return json.loads(b64decode(header_b64)), json.loads(b64decode(claims_b64))


def fetch_assertion(
    auth: OAuth2JWTBearer, server: FakeOAuthServer, url: str = NETSUITE_TOKEN_URL
) -> dict[str, str]:
    def handler(request: httpx.Request) -> httpx.Response:
        if str(request.url) == url:
            server.token_requests.append(request)
            server.valid = {"jwt-access-123456"}
            return httpx.Response(
                200, json={"access_token": "jwt-access-123456", "token_type": "Bearer", "expires_in": 3600}
            )
        return server.handler(request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        assert run_sync(call(auth), client).status_code == 200
    return dict(parse_qsl(server.token_requests[-1].content.decode()))


@pytest.mark.parametrize("algorithm", ["PS256", "RS256"])
def test_rsa_assertion_verifies_and_has_netsuite_claims(
    clock: FakeClock, rsa_key: rsa.RSAPrivateKey, algorithm: str
) -> None:
    auth = OAuth2JWTBearer(
        "client-id-abc",
        pem(rsa_key),
        "cert-id-42",
        NETSUITE_TOKEN_URL,
        algorithm=algorithm,  # type: ignore[arg-type]
        scope="restlets,rest_webservices",
    )
    auth.bind(clock=clock)
    server = FakeOAuthServer()
    form = fetch_assertion(auth, server)
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    header, claims = verify(form["client_assertion"], rsa_key.public_key(), algorithm)
    assert header == {"alg": algorithm, "kid": "cert-id-42", "typ": "JWT"}
    now = int(clock.now().timestamp())
    assert claims["iss"] == "client-id-abc"
    assert claims["aud"] == NETSUITE_TOKEN_URL
    assert claims["scope"] == "restlets,rest_webservices"
    assert (claims["iat"], claims["exp"]) == (now, now + 300)
    assert len(claims["jti"]) >= 16
    assert "sub" not in claims
    assert "client_secret" not in form


def test_es256_assertion_verifies_with_subject_and_audience(
    clock: FakeClock, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    auth = OAuth2JWTBearer(
        "client-id-abc",
        pem(ec_key).encode(),  # bytes are accepted too
        "key-7",
        NETSUITE_TOKEN_URL,
        algorithm="ES256",
        audience="https://issuer.example.com",
        lifetime=120,
        subject="client-id-abc",
    )
    auth.bind(clock=clock)
    server = FakeOAuthServer()
    form = fetch_assertion(auth, server)
    header, claims = verify(form["client_assertion"], ec_key.public_key(), "ES256")
    assert header["alg"] == "ES256"
    assert claims["aud"] == "https://issuer.example.com"
    assert claims["sub"] == "client-id-abc"
    assert claims["exp"] - claims["iat"] == 120
    assert "scope" not in claims
    assert "scope" not in form


def test_a_tampered_assertion_fails_verification(clock: FakeClock, rsa_key: rsa.RSAPrivateKey) -> None:
    # The check above must be able to fail: flip a claim and it does.
    auth = OAuth2JWTBearer("client-id-abc", pem(rsa_key), "cert-id-42", NETSUITE_TOKEN_URL)
    auth.bind(clock=clock)
    header, claims, signature = auth.assertion().split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"iss": "someone-else"}).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidSignature):
        verify(f"{header}.{forged}.{signature}", rsa_key.public_key(), "PS256")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidSignature):
        verify(f"{header}.{claims}.{signature}", other.public_key(), "PS256")


def test_each_fetch_signs_a_new_assertion(clock: FakeClock, rsa_key: rsa.RSAPrivateKey) -> None:
    auth = OAuth2JWTBearer("client-id-abc", pem(rsa_key), "cert-id-42", NETSUITE_TOKEN_URL)
    auth.bind(clock=clock)
    first = verify(auth.assertion(), rsa_key.public_key(), "PS256")[1]
    clock.advance(10)
    second = verify(auth.assertion(), rsa_key.public_key(), "PS256")[1]
    assert first["jti"] != second["jti"]
    assert second["iat"] == first["iat"] + 10


def test_a_401_fetches_a_new_token_with_a_new_assertion(clock: FakeClock, rsa_key: rsa.RSAPrivateKey) -> None:
    auth = OAuth2JWTBearer("client-id-abc", pem(rsa_key), "cert-id-42", NETSUITE_TOKEN_URL)
    auth.bind(clock=clock)
    server = FakeOAuthServer()
    fetch_assertion(auth, server)
    server.revoke_all()
    fetch_assertion(auth, server)
    assertions = [dict(parse_qsl(r.content.decode()))["client_assertion"] for r in server.token_requests]
    assert len(assertions) == 2
    assert assertions[0] != assertions[1]
    assert server.api_requests[-1].url == httpx.URL(API_URL)


@pytest.mark.parametrize(
    ("make_key", "algorithm", "message"),
    [
        (lambda: "not a key", "PS256", "private_key"),
        (lambda: pem(ec.generate_private_key(ec.SECP256R1())), "PS256", "RSA"),
        (lambda: pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)), "ES256", "EC"),
        (lambda: pem(ec.generate_private_key(ec.SECP384R1())), "ES256", "P-256"),
        # A deliberately weak key: it must be refused.
        (lambda: pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "PS256", "2048"),  # noqa: S505
    ],
)
def test_unsuitable_keys_are_config_errors_that_do_not_quote_the_key(
    make_key: Any, algorithm: str, message: str
) -> None:
    key = make_key()
    with pytest.raises(ConfigError, match=message) as info:
        OAuth2JWTBearer("client-id-abc", key, "kid", NETSUITE_TOKEN_URL, algorithm=algorithm)
    body = [line for line in key.splitlines() if not line.startswith("-----")]
    assert not any(line and line in str(info.value) for line in body)
    assert info.value.__context__ is None


def test_a_public_key_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    public = (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(ConfigError, match="public key"):
        OAuth2JWTBearer("client-id-abc", public, "kid", NETSUITE_TOKEN_URL)


def test_invalid_settings(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValidationError) as lifetime:
        OAuth2JWTBearer("client-id-abc", pem(rsa_key), "kid", NETSUITE_TOKEN_URL, lifetime=7200)
    assert lifetime.value.field == "lifetime"
    with pytest.raises(ValidationError) as key_id:
        OAuth2JWTBearer("client-id-abc", pem(rsa_key), "", NETSUITE_TOKEN_URL)
    assert key_id.value.field == "key_id"
    with pytest.raises(ConfigError, match="algorithm"):
        OAuth2JWTBearer("client-id-abc", pem(rsa_key), "kid", NETSUITE_TOKEN_URL, algorithm="HS256")  # type: ignore[arg-type]


def test_repr_and_secret_values(rsa_key: rsa.RSAPrivateKey) -> None:
    key = pem(rsa_key)
    auth = OAuth2JWTBearer("client-id-abc", key, "cert-id-42", NETSUITE_TOKEN_URL)
    assert repr(auth) == (
        f"OAuth2JWTBearer(client_id='client-id-abc', key_id='cert-id-42', algorithm='PS256', "
        f"token_url='{NETSUITE_TOKEN_URL}')"
    )
    assert key.strip() in list(auth.secret_values())
