"""Entra ID credentials: certificate client assertions, checked independently, and canary secrets.

A throwaway RSA key and self-signed certificate are made per test module. The client
assertion is decoded and its signature verified here with ``cryptography`` alone; the
emulator's token endpoint verifies it too (a wrong key or a replayed assertion is refused).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import traceback
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

import fincon
from fincon.connectors.dynamics.sandbox import DynamicsEmulator
from fincon.core.clock import FakeClock
from fincon.errors import FinconError
from fincon.models import Vendor
from fincon.sandbox import SandboxTransport

MARK = "CNRY" + "dyn7"  # split so that no source line shows a whole canary


def _key_and_certificate() -> tuple[rsa.RSAPrivateKey, str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fincon-dynamics-test")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key, key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def credentials() -> tuple[rsa.RSAPrivateKey, str, str]:
    return _key_and_certificate()


class TokenRequests(httpx.BaseTransport):
    def __init__(self, emulator: DynamicsEmulator) -> None:
        self.inner = SandboxTransport(emulator)
        self.forms: list[dict[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/v2.0/token"):
            form = parse_qs(request.content.decode())
            self.forms.append({name: values[0] for name, values in form.items()})
        return self.inner.handle_request(request)


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _connect(emulator: DynamicsEmulator, transport: httpx.BaseTransport, **auth: Any) -> fincon.Connector:
    settings = {k: v for k, v in emulator.credentials().items() if k != "client_secret"}
    return fincon.connect(
        "dynamics",
        **settings,
        **auth,
        base_url=emulator.base_url,
        transport=transport,
        clock=emulator.clock,
        share_limits=False,
    )


def _der(cert_pem: str) -> bytes:
    return x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(serialization.Encoding.DER)


def test_certificate_assertion_ps256_with_x5t_s256(credentials: tuple[Any, str, str]) -> None:
    key, key_pem, cert_pem = credentials
    emulator = DynamicsEmulator(size=5, clock=FakeClock())
    emulator.register_certificate(cert_pem)
    transport = TokenRequests(emulator)
    with _connect(emulator, transport, certificate=key_pem + cert_pem) as bc:
        assert bc.check().account == emulator.company_id
    (form,) = transport.forms
    assert form["grant_type"] == "client_credentials"
    assert form["client_id"] == emulator.client_id
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert form["scope"] == "https://api.businesscentral.dynamics.com/.default"
    assert "client_secret" not in form
    head, claims, signature = form["client_assertion"].split(".")
    header = json.loads(_b64(head))
    assert header["alg"] == "PS256"
    assert header["x5t#S256"] == _b64url(hashlib.sha256(_der(cert_pem)).digest())
    payload = json.loads(_b64(claims))
    assert payload["aud"] == emulator.token_url
    assert payload["iss"] == payload["sub"] == emulator.client_id
    now = int(emulator.clock.now().timestamp())
    assert payload["nbf"] <= now < payload["exp"] <= now + 3600
    assert payload["jti"]
    # The signature, checked with cryptography alone (not the library that made it).
    key.public_key().verify(
        _b64(signature),
        f"{head}.{claims}".encode(),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


def test_certificate_assertion_rs256_with_a_sha1_thumbprint(credentials: tuple[Any, str, str]) -> None:
    key, key_pem, cert_pem = credentials
    emulator = DynamicsEmulator(size=5, clock=FakeClock())
    emulator.register_certificate(cert_pem)
    transport = TokenRequests(emulator)
    thumbprint = hashlib.sha1(_der(cert_pem)).hexdigest().upper()  # noqa: S324 - what the portal shows
    with _connect(emulator, transport, certificate=key_pem, certificate_thumbprint=thumbprint) as bc:
        list(bc.vendors.list(max_pages=1))
    head, claims, signature = transport.forms[0]["client_assertion"].split(".")
    header = json.loads(_b64(head))
    assert header["alg"] == "RS256"
    assert _b64(header["x5t"]).hex().upper() == thumbprint
    key.public_key().verify(_b64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())


def test_tokens_are_renewed_with_a_fresh_assertion(credentials: tuple[Any, str, str]) -> None:
    _key, key_pem, cert_pem = credentials
    emulator = DynamicsEmulator(size=30, clock=FakeClock(), token_ttl=600)
    emulator.register_certificate(cert_pem)
    transport = TokenRequests(emulator)
    with _connect(emulator, transport, certificate=key_pem + cert_pem) as bc:
        pages = bc.vendors.list(page_size=10).pages()
        next(pages)
        emulator.expire_tokens()
        assert sum(len(page.items) for page in pages) == 20
    assert len(transport.forms) == 2
    jtis = {json.loads(_b64(form["client_assertion"].split(".")[1]))["jti"] for form in transport.forms}
    assert len(jtis) == 2  # a new assertion each time: the sandbox refuses a replayed jti


def test_the_sandbox_refuses_an_assertion_from_an_unregistered_key(credentials: tuple[Any, str, str]) -> None:
    _key, _key_pem, cert_pem = credentials
    _other_key, other_key_pem, other_cert_pem = _key_and_certificate()
    emulator = DynamicsEmulator(size=5, clock=FakeClock())
    emulator.register_certificate(cert_pem)
    transport = TokenRequests(emulator)
    with (
        _connect(emulator, transport, certificate=other_key_pem + other_cert_pem) as bc,
        pytest.raises(fincon.AuthError) as raised,
    ):
        bc.check()
    assert "AADSTS700027" in str(raised.value)
    # The right thumbprint with the wrong key: the signature check refuses it.
    forged = other_key_pem + cert_pem
    with _connect(emulator, transport, certificate=forged) as bc, pytest.raises(fincon.AuthError) as raised:
        bc.check()
    assert "AADSTS7000274" in str(raised.value)


def test_the_sandbox_refuses_a_replayed_assertion(credentials: tuple[Any, str, str]) -> None:
    _key, key_pem, cert_pem = credentials
    emulator = DynamicsEmulator(size=5, clock=FakeClock())
    emulator.register_certificate(cert_pem)
    transport = TokenRequests(emulator)
    with _connect(emulator, transport, certificate=key_pem + cert_pem) as bc:
        bc.check()
    replay = httpx.Client(transport=SandboxTransport(emulator)).post(
        emulator.token_url, data=transport.forms[0]
    )
    assert replay.status_code == 401
    assert "AADSTS700025" in replay.json()["error_description"]


# -- canary secrets --------------------------------------------------------------------------


def _seen(texts: list[str], *objects: object) -> None:
    for obj in objects:
        texts.extend((repr(obj), str(obj)))
        if isinstance(obj, BaseException):
            texts.append("".join(traceback.format_exception(obj)))


def _exercise(bc: fincon.Connector, emulator: DynamicsEmulator, texts: list[str]) -> None:
    _seen(texts, bc, bc.core, bc.core.settings, bc.core.requestor.auth)
    _seen(texts, bc.check())
    emulator.faults.throttle(retry_after=1, path="*/vendors", times=1)
    _seen(texts, next(iter(bc.vendors.list(page_size=5).pages())).items)
    emulator.faults.drop_after(method="POST", times=1)
    _seen(texts, bc.vendors.create(Vendor(name="Canary Checks Ltd", email="ap@canary.example")))
    emulator.expire_tokens()
    try:
        bc.vendors.get("00007e4d-0000-4000-8000-000000009999")
    except FinconError as error:
        _seen(texts, error)
    else:
        raise AssertionError("a missing vendor must raise NotFound")


@pytest.mark.parametrize("credential", ["client_secret", "certificate"])
def test_no_canary_escapes(credential: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for name in ("fincon", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    emulator = DynamicsEmulator(size=10, clock=FakeClock())
    if credential == "client_secret":
        secret = f"{MARK}-client-secret-5f1d0c2a9b"
        emulator.tokens.clients[emulator.client_id] = (secret, emulator.tenant_id)
        auth: dict[str, Any] = {"client_secret": secret}
        needles = [secret]
    else:
        _key, key_pem, cert_pem = _key_and_certificate()
        emulator.register_certificate(cert_pem)
        auth = {"certificate": key_pem + cert_pem}
        body = "".join(key_pem.strip().splitlines()[1:-1])
        needles = [body[16:48], body[-48:-16]]  # any part of the private key
    events: list[Any] = []
    audit_file = tmp_path / "audit.jsonl"
    texts: list[str] = []
    transport = SandboxTransport(emulator)
    settings = {k: v for k, v in emulator.credentials().items() if k != "client_secret"}
    with fincon.connect(
        "dynamics",
        **settings,
        **auth,
        base_url=emulator.base_url,
        transport=transport,
        clock=emulator.clock,
        audit=[str(audit_file), events.append, "log"],
        audit_reads=True,
        share_limits=False,
    ) as bc:
        _exercise(bc, emulator, texts)
    # Wrong credentials on the same path: the refusal must not quote them.
    wrong = {"client_secret": f"{MARK}-wrong-secret"} if credential == "client_secret" else auth
    if credential == "certificate":
        emulator.assertions.certificates.clear()
    try:
        with fincon.connect(
            "dynamics",
            **settings,
            **wrong,
            base_url=emulator.base_url,
            transport=transport,
            clock=emulator.clock,
        ) as refused:
            refused.check()
    except fincon.AuthError as error:
        _seen(texts, error)
    else:
        raise AssertionError("wrong credentials must raise AuthError")
    texts.append(audit_file.read_text())
    texts.extend(str(event.to_dict()) for event in events)
    log_lines = [f"{record.name} {record.levelname} {record.getMessage()}" for record in caplog.records]
    texts.extend(log_lines)
    assert len(events) >= 4, "the writes and reads should have been audited"
    assert any("DEBUG" in line for line in log_lines), "nothing was logged at DEBUG: the check proved nothing"
    for needle in [*needles, MARK]:
        leaks = [text for text in texts if needle in text]
        assert not leaks, f"{credential}: {needle[:8]}... leaked into {len(leaks)} places: {leaks[0][:300]!r}"
