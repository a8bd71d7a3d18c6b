"""Auth for emulators: API keys and OAuth2 client-credentials tokens that expire.

The helpers decide who is calling; each emulator decides how a refusal looks, because
that is vendor-specific (Stripe's error object, an OData ``error``, a SOAP fault). The
one exception is the token endpoint, whose error format RFC 6749 fixes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import unquote

import httpx

from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.sandbox._requests import read_form
from fincon.sandbox._responses import json_response
from fincon.sandbox._seed import SeedRandom

__all__ = [
    "APIKeyAuth",
    "AuthResult",
    "ClientCredentialsIssuer",
    "IssuedToken",
    "basic_credentials",
    "bearer_token",
]

AuthProblem = Literal["missing", "invalid", "expired"]


@dataclass(frozen=True)
class AuthResult:
    """Who is calling (``account``), or why we cannot tell (``problem``)."""

    account: str | None = None
    problem: AuthProblem | None = None
    method: str | None = None  # "api_key", "oauth2", ...

    @property
    def ok(self) -> bool:
        """Whether the caller was identified."""
        return self.account is not None


def bearer_token(request: httpx.Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def basic_credentials(request: httpx.Request) -> tuple[str, str] | None:
    """The user and password of an ``Authorization: Basic`` header, if well-formed."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def _same_secret(given: str, expected: str) -> bool:
    # Constant-time, as a real server compares secrets.
    return hmac.compare_digest(given.encode(), expected.encode())


class APIKeyAuth:
    """Checks an API key against ``keys`` (key -> account).

    The key is read from ``header``; with a ``scheme`` (default ``"Bearer"``) the header
    must be ``<scheme> <key>``, without one it is the key itself (``X-API-Key: ...``).
    """

    def __init__(
        self, keys: Mapping[str, str], *, header: str = "Authorization", scheme: str | None = "Bearer"
    ) -> None:
        self.keys = dict(keys)
        self.header = header
        self.scheme = scheme

    def key_of(self, request: httpx.Request) -> str | None:
        """The key the request presents, if any."""
        value = request.headers.get(self.header)
        if value is None:
            return None
        if self.scheme is None:
            return value.strip() or None
        scheme, _, key = value.partition(" ")
        if scheme.lower() != self.scheme.lower():
            return None
        return key.strip() or None

    def authenticate(self, request: httpx.Request) -> AuthResult:
        """The account of a known key, ``problem="missing"`` or ``"invalid"`` otherwise."""
        key = self.key_of(request)
        if key is None:
            return AuthResult(problem="missing")
        for known, account in self.keys.items():
            if _same_secret(key, known):
                return AuthResult(account=account, method="api_key")
        return AuthResult(problem="invalid")


@dataclass
class IssuedToken:
    """An access token the emulator handed out."""

    token: str
    account: str
    client_id: str
    expires_at: datetime
    scope: str | None = None


class ClientCredentialsIssuer:
    """An OAuth2 client-credentials token endpoint (RFC 6749 section 4.4).

    ``clients`` maps client ids to ``(client_secret, account)``. Tokens are opaque,
    deterministic from ``seed``, and expire ``ttl`` seconds after issue on ``clock``;
    :meth:`expire_tokens` ends every live token at once.
    """

    def __init__(
        self,
        clients: Mapping[str, tuple[str, str]],
        *,
        ttl: float = 3600.0,
        clock: Clock | None = None,
        seed: int = 0,
        token_prefix: str = "tok_",  # noqa: S107 - a prefix, not a secret
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.clients = dict(clients)
        self.ttl = ttl
        self.clock = clock or SYSTEM_CLOCK
        self.token_prefix = token_prefix
        self._random = SeedRandom(seed, "oauth2-tokens")
        self._tokens: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def _client_of(self, request: httpx.Request, form: Mapping[str, str]) -> tuple[str, str] | None:
        basic = basic_credentials(request)
        if basic is not None:
            # RFC 6749 2.3.1: Basic credentials are form-urlencoded before encoding.
            return unquote(basic[0].replace("+", " ")), unquote(basic[1].replace("+", " "))
        if "client_id" in form and "client_secret" in form:
            return form["client_id"], form["client_secret"]
        return None

    def token_endpoint(self, request: httpx.Request) -> httpx.Response:
        """Answer a token request: 200 with a bearer token, or the RFC 6749 error."""
        try:
            form = read_form(request)
        except ValueError:
            return _oauth_error(400, "invalid_request", "The body must be form-encoded UTF-8.")
        grant = form.get("grant_type")
        if grant is None:
            return _oauth_error(400, "invalid_request", "grant_type is required.")
        if grant != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported.")
        credentials = self._client_of(request, form)
        if credentials is None:
            return _oauth_error(401, "invalid_client", "Client authentication is required.")
        client_id, secret = credentials
        known = self.clients.get(client_id)
        if known is None or not _same_secret(secret, known[0]):
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        issued = self.issue(client_id, scope=form.get("scope"))
        body: dict[str, object] = {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_in": int(self.ttl),
        }
        if issued.scope:
            body["scope"] = issued.scope
        return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def issue(self, client_id: str, *, scope: str | None = None) -> IssuedToken:
        """Issue a token to a known client directly (for tests that skip the endpoint)."""
        _, account = self.clients[client_id]
        with self._lock:
            token = f"{self.token_prefix}{self._random.next64():016x}{self._random.next64():016x}"
            issued = IssuedToken(
                token, account, client_id, self.clock.now() + timedelta(seconds=self.ttl), scope
            )
            self._tokens[token] = issued
            self.issued += 1
        return issued

    def authenticate(self, request: httpx.Request) -> AuthResult:
        """Check the bearer token: its account, or ``problem`` "missing", "invalid" or "expired"."""
        token = bearer_token(request)
        if token is None:
            return AuthResult(problem="missing")
        return self.check(token)

    def check(self, token: str) -> AuthResult:
        """The account behind ``token``, or why it is refused."""
        with self._lock:
            issued = self._tokens.get(token)
        if issued is None:
            return AuthResult(problem="invalid")
        if self.clock.now() >= issued.expires_at:
            return AuthResult(problem="expired")
        return AuthResult(account=issued.account, method="oauth2")

    def expire_tokens(self) -> int:
        """End every live token now; the next call with one gets the expired answer.
        Returns how many were live."""
        now = self.clock.now()
        expired = 0
        with self._lock:
            for issued in self._tokens.values():
                if issued.expires_at > now:
                    issued.expires_at = now
                    expired += 1
        return expired


def _oauth_error(status: int, error: str, description: str) -> httpx.Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="token"'
    return json_response({"error": error, "error_description": description}, status=status, headers=headers)
