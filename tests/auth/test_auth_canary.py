"""Canary secrets: every strategy is built with secrets that share a marker, driven through
its success and failure paths, and the marker must appear in no repr, str, exception text
(chained exceptions included, even suppressed ones) or log record (captured at DEBUG)."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fincon.auth import (
    APIKey,
    Basic,
    Bearer,
    FileTokenStore,
    NetSuiteTBA,
    OAuth2AuthorizationCode,
    OAuth2ClientCredentials,
    OAuth2JWTBearer,
    Session,
    SessionAuth,
    Token,
    authorization_request,
    exchange_code,
    parse_callback,
    validate_secret,
)
from fincon.core.clock import FakeClock
from fincon.core.flow import Flow, Send, run_sync

MARK = "CNRY" + "q7Zx"  # split so this file's source lines never show a whole secret
TOKEN_URL = "https://auth.example.com/oauth/token"
API = "https://api.example.com/v1/items?page=1"


def secret(name: str) -> str:
    return f"{MARK}-{name}-0123456789"


class Evidence:
    """Everything a user could see: reprs, strs, exceptions and their chains."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def see(self, *objects: object) -> None:
        for obj in objects:
            self.texts.extend([repr(obj), str(obj)])

    def error(self, error: BaseException) -> None:
        self.texts.append("".join(traceback.format_exception(error)))
        seen: set[int] = set()
        current: BaseException | None = error
        # Walk __cause__ and __context__ even when suppressed: error trackers may show them.
        stack = [current]
        while stack:
            current = stack.pop()
            if current is None or id(current) in seen:
                continue
            seen.add(id(current))
            self.texts.extend([str(current), repr(current), repr(getattr(current, "details", None))])
            self.texts.extend(repr(arg) for arg in current.args)
            stack.extend([current.__cause__, current.__context__])

    def attempt(self, action: Callable[[], object]) -> None:
        try:
            self.see(action())
        except Exception as exc:
            self.error(exc)


def run(
    auth: Any, handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock, evidence: Evidence
) -> None:
    """Call through ``auth`` like the transport: authorise, send, refresh once after a 401, retry."""

    def flow() -> Flow[httpx.Response]:
        request = httpx.Request("GET", API)
        yield from auth.auth_flow(request)
        response: httpx.Response = yield Send(request)
        if response.status_code == 401 and (yield from auth.refresh_flow(request, response)):
            retry = httpx.Request("GET", API)
            yield from auth.auth_flow(retry)
            response = yield Send(retry)
        return response

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        evidence.attempt(lambda: run_sync(flow(), client, clock=clock))
    evidence.see(auth, getattr(auth, "token", None), getattr(auth, "session", None))


class TokenServer:
    """Issues tokens that contain the marker; ``plan`` scripts the token endpoint's answers."""

    def __init__(self, plan: list[httpx.Response | None] | None = None) -> None:
        self.plan = list(plan or [])
        self.issued = 0
        self.api_calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            step = self.plan.pop(0) if self.plan else None
            if step is not None:
                return step
            self.issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": secret(f"access{self.issued}"),
                    "refresh_token": secret(f"refresh{self.issued}"),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                },
            )
        self.api_calls += 1
        # The first API call is refused, to drive the refresh path.
        return httpx.Response(401 if self.api_calls == 1 else 200, json={"ok": True})


def echo(status: int, *values: str) -> httpx.Response:
    return httpx.Response(status, json={"error": "invalid_grant", "error_description": " ".join(values)})


def failures(*values: str) -> list[httpx.Response]:
    """Token endpoint answers that echo secrets back, in every shape we parse."""
    return [
        echo(400, "you sent", *values),
        httpx.Response(502, text=f"<html>upstream said {' '.join(values)}</html>"),
        httpx.Response(200, json={"access_token": f"has space {values[0]}", "token_type": "Bearer"}),
        httpx.Response(200, json={"access_token": secret("tt-access"), "token_type": values[0]}),
        httpx.Response(
            200, json={"access_token": secret("ei-access"), "token_type": "Bearer", "expires_in": values[0]}
        ),
        httpx.Response(200, json={"error": values[0]}),
    ]


def exercise_static(clock: FakeClock, evidence: Evidence) -> None:
    for auth in (
        APIKey(secret("apikey")),
        APIKey(secret("hdrkey"), header="X-API-Key"),
        APIKey(secret("querykey"), query_param="api_key"),
        Bearer(secret("bearer")),
        Basic(secret("user"), secret("password")),
        Basic(secret("stripeish"), ""),
    ):
        run(auth, lambda r: httpx.Response(401), clock, evidence)
        run(auth, lambda r: httpx.Response(200), clock, evidence)
        evidence.see(list(auth.secret_values()) and "listed")
    evidence.attempt(lambda: APIKey(secret("newline") + "\n"))
    evidence.attempt(lambda: APIKey(" " + secret("padded")))
    evidence.attempt(lambda: Bearer(secret("bytes").encode()))  # type: ignore[arg-type]
    evidence.attempt(lambda: Basic(secret("colon") + ":x", secret("pw2")))
    evidence.attempt(lambda: Basic(secret("ctrl"), secret("ctrl-pw") + "\r\n"))


def exercise_client_credentials(clock: FakeClock, evidence: Evidence) -> None:
    for method in ("client_secret_post", "client_secret_basic"):
        ok = OAuth2ClientCredentials("client-1", secret("client-secret"), TOKEN_URL, auth_method=method)  # type: ignore[arg-type]
        ok.bind(clock=clock)
        run(ok, TokenServer(), clock, evidence)
        for failure in failures(secret("client-secret"), secret("access1")):
            auth = OAuth2ClientCredentials("client-1", secret("client-secret"), TOKEN_URL, auth_method=method)  # type: ignore[arg-type]
            auth.bind(clock=clock)
            run(auth, TokenServer([failure]), clock, evidence)
    evidence.attempt(lambda: OAuth2ClientCredentials("client-1", secret("cs") + "\n", TOKEN_URL))
    evidence.attempt(
        lambda: OAuth2ClientCredentials(
            "client-1", secret("cs"), f"https://u:{secret('urlpw')}@a.example.com/t"
        )
    )


def exercise_authorization_code(clock: FakeClock, evidence: Evidence, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    auth = OAuth2AuthorizationCode(
        "app-1", secret("app-secret"), TOKEN_URL, secret("refresh0"), token_store=store
    )
    auth.bind(clock=clock)
    run(auth, TokenServer(), clock, evidence)
    evidence.see(store, store.load())

    def leaky_store(token: Token) -> None:
        raise OSError(f"could not write {token.value} / {token.refresh_token}")

    failing = OAuth2AuthorizationCode(
        "app-1", secret("app-secret"), TOKEN_URL, secret("refresh0"), token_store=leaky_store
    )
    failing.bind(clock=clock)
    run(failing, TokenServer(), clock, evidence)
    for failure in failures(secret("refresh0"), secret("app-secret")):
        refused = OAuth2AuthorizationCode("app-1", secret("app-secret"), TOKEN_URL, secret("refresh0"))
        refused.bind(clock=clock)
        run(refused, TokenServer([failure]), clock, evidence)
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text(f'{{"access_token": "{secret("stored")}", "expires_at": "{secret("badexp")}"}}')
    evidence.attempt(lambda: FileTokenStore(corrupt).load())
    evidence.attempt(
        lambda: OAuth2AuthorizationCode("app-1", secret("app-secret"), TOKEN_URL, secret("rt") + "\n")
    )

    start = authorization_request("https://auth.example.com/authorize", "app-1", "https://app.example.com/cb")
    evidence.see(start)
    callback = f"https://app.example.com/cb?code={secret('code')}&state=wrong"
    evidence.attempt(lambda: parse_callback(callback, state=start.state))
    good = f"https://app.example.com/cb?code={secret('code')}&state={start.state}"
    code = parse_callback(good, state=start.state)
    for answer in (TokenServer(), TokenServer(failures(secret("code"), start.code_verifier))):
        with httpx.Client(transport=httpx.MockTransport(answer)) as client:
            evidence.attempt(
                lambda client=client: exchange_code(
                    client,
                    client_id="app-1",
                    client_secret=secret("app-secret"),
                    token_url=TOKEN_URL,
                    code=code,
                    redirect_uri="https://app.example.com/cb",
                    code_verifier=start.code_verifier,
                )
            )


def exercise_jwt(clock: FakeClock, evidence: Evidence, pem: str) -> None:
    ok = OAuth2JWTBearer("client-1", pem, "kid-1", TOKEN_URL, scope="restlets,rest_webservices")
    ok.bind(clock=clock)
    run(ok, TokenServer(), clock, evidence)
    for failure in failures(secret("access1"), "assertion"):
        auth = OAuth2JWTBearer("client-1", pem, "kid-1", TOKEN_URL)
        auth.bind(clock=clock)
        run(auth, TokenServer([failure]), clock, evidence)
    evidence.attempt(lambda: OAuth2JWTBearer("client-1", pem, "kid-1", TOKEN_URL, algorithm="ES256"))
    evidence.attempt(lambda: OAuth2JWTBearer("client-1", pem.replace("A", "?"), "kid-1", TOKEN_URL))


def exercise_netsuite(clock: FakeClock, evidence: Evidence) -> None:
    credentials = {
        name: secret(name) for name in ("consumer_key", "consumer_secret", "token_id", "token_secret")
    }
    auth = NetSuiteTBA("1234567-sb1", **credentials)
    auth.bind(clock=clock)
    run(auth, lambda r: httpx.Response(401), clock, evidence)
    run(auth, lambda r: httpx.Response(200), clock, evidence)
    unbound = NetSuiteTBA(**credentials)
    run(unbound, lambda r: httpx.Response(200), clock, evidence)
    evidence.attempt(lambda: NetSuiteTBA("1234567", **{**credentials, "token_secret": secret("ts") + "\n"}))


class CanarySession(SessionAuth):
    endpoint_hosts = ("example.com",)

    def __init__(self, password: str, endpoint: str | None = None, refuse: bool = False) -> None:
        super().__init__()
        self._password = validate_secret(password, "password", owner="CanarySession")
        self.endpoint = endpoint
        self.refuse = refuse
        self.count = 0

    def login_flow(self) -> Flow[Session]:
        from fincon.errors import AuthError

        yield Send(
            httpx.Request("POST", "https://api.example.com/login", content=self._password.get_secret_value())
        )
        if self.refuse:
            raise AuthError("CanarySession: login refused")
        self.count += 1
        return Session(
            id=secret(f"session{self.count}"), endpoint=self.endpoint, extra={"k": secret("extra")}
        )

    def apply(self, request: httpx.Request, session: Session) -> None:
        request.headers["X-Session"] = session.id

    def credential_values(self) -> list[str]:
        return [self._password.get_secret_value()]


def exercise_sessions(clock: FakeClock, evidence: Evidence) -> None:
    for auth in (
        CanarySession(secret("password")),
        CanarySession(secret("password"), refuse=True),
        CanarySession(secret("password"), endpoint="https://evil.attacker.net"),
    ):
        auth.bind(clock=clock, base_url="https://api.example.com")
        run(auth, TokenServer(), clock, evidence)


@pytest.fixture
def log_records() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    names = ("fincon", "httpx", "httpcore")
    levels = {name: logging.getLogger(name).level for name in names}
    root.addHandler(handler)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def forbidden(pem: str) -> list[str]:
    """The marker, plus forms of secrets that do not contain it literally."""
    pairs = [
        f"{secret('user')}:{secret('password')}",
        f"{secret('stripeish')}:",
        f"client-1:{secret('client-secret')}",
    ]
    encoded = [base64.b64encode(pair.encode()).decode() for pair in pairs]
    key_lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return [MARK, *encoded, *key_lines]


@pytest.mark.parametrize("redaction", ["off", "on"])
def test_no_canary_escapes(
    redaction: str, log_records: list[logging.LogRecord], tmp_path: Path, pem: str
) -> None:
    clock = FakeClock()
    evidence = Evidence()
    factory = logging.getLogRecordFactory()
    if redaction == "off":
        # Prove fincon's own log lines hold no secret even before the redaction layer runs.
        logging.setLogRecordFactory(logging.LogRecord)
    try:
        exercise_static(clock, evidence)
        exercise_client_credentials(clock, evidence)
        exercise_authorization_code(clock, evidence, tmp_path)
        exercise_jwt(clock, evidence, pem)
        exercise_netsuite(clock, evidence)
        exercise_sessions(clock, evidence)
    finally:
        logging.setLogRecordFactory(factory)

    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    checked = log_records if redaction == "on" else [r for r in log_records if r.name.startswith("fincon")]
    logs = [formatter.format(record) for record in checked]
    # The scenarios did run and log: an empty capture would make this test pass vacuously.
    assert any(r.name.startswith("fincon.auth") for r in log_records)
    assert any(r.name == "httpx" for r in log_records)
    assert sum("Error" in text for text in evidence.texts) >= 30

    for needle in forbidden(pem):
        leaks = [text for text in evidence.texts + logs if needle in text]
        assert not leaks, f"{needle[:12]}... leaked in: {leaks[0][:300]}"
