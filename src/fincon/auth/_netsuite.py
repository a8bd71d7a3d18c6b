"""NetSuite token-based authentication: OAuth 1.0a (RFC 5849) signed with HMAC-SHA256."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from typing import overload
from urllib.parse import parse_qsl, quote

import httpx
from pydantic import SecretStr

from fincon.auth._base import AuthStrategy
from fincon.auth._secrets import validate_secret
from fincon.core.clock import Clock
from fincon.core.flow import Flow
from fincon.errors import ConfigError, ValidationError

__all__ = ["NetSuiteTBA", "netsuite_realm", "signature_base_string"]

_ACCOUNT = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_FORM = "application/x-www-form-urlencoded"

Param = tuple[bytes, bytes]


def netsuite_realm(account: str) -> str:
    """The OAuth ``realm`` for a NetSuite account id: upper case, ``-`` as ``_``.

    ``1234567-sb1`` becomes ``1234567_SB1``.
    """
    return account.strip().upper().replace("-", "_")


def _encode(value: bytes) -> str:
    # RFC 5849 section 3.6: everything but ALPHA / DIGIT / "-" / "." / "_" / "~" as %XX, upper case.
    return quote(value, safe="")


def _form_pairs(text: bytes) -> list[Param]:
    # latin-1 maps each octet to one character and back, so the original bytes survive
    # decoding; the signature is over octets, whatever their character encoding.
    pairs = parse_qsl(text.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


def _base_string_uri(url: httpx.URL) -> str:
    scheme = url.scheme.lower()
    host = url.raw_host.decode("ascii").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    port = url.port
    authority = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    path = url.raw_path.split(b"?", 1)[0].decode("ascii") or "/"
    return f"{scheme}://{authority}{path}"


def request_parameters(request: httpx.Request) -> list[Param]:
    """The query parameters and, for a form body, the body parameters (RFC 5849 section 3.4.1.3.1)."""
    params = _form_pairs(request.url.query)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == _FORM:
        try:
            body = request.content
        except httpx.RequestNotRead:
            raise ValidationError("NetSuiteTBA cannot sign a streamed form body; send it as bytes") from None
        params.extend(_form_pairs(body))
    return params


def signature_base_string(method: str, url: httpx.URL, params: Iterable[Param]) -> str:
    """RFC 5849 section 3.4.1: method, base string URI and normalised parameters, each encoded."""
    encoded = sorted((_encode(k), _encode(v)) for k, v in params)
    normalised = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join(
        _encode(part.encode("utf-8")) for part in (method.upper(), _base_string_uri(url), normalised)
    )


class NetSuiteTBA(AuthStrategy):
    """NetSuite token-based authentication (TBA): every request signed with OAuth 1.0a HMAC-SHA256.

    ``account`` is the NetSuite account id (``1234567`` or ``1234567-sb1``); the ``realm``
    becomes ``1234567_SB1``. Left out, it is taken from the connector's base URL
    (``https://1234567-sb1.suitetalk.api.netsuite.com``). ``nonce`` (a callable) exists for
    tests; the timestamp comes from the strategy's clock. A 401 is not retried: a signature
    that was refused would be refused again.
    """

    @overload
    def __init__(
        self,
        account: str,
        consumer_key: str | SecretStr,
        consumer_secret: str | SecretStr,
        token_id: str | SecretStr,
        token_secret: str | SecretStr,
        *,
        nonce: Callable[[], str] | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        *,
        consumer_key: str | SecretStr,
        consumer_secret: str | SecretStr,
        token_id: str | SecretStr,
        token_secret: str | SecretStr,
        account: str | None = None,
        nonce: Callable[[], str] | None = None,
    ) -> None: ...

    def __init__(
        self,
        account: str | None = None,
        consumer_key: str | SecretStr | None = None,
        consumer_secret: str | SecretStr | None = None,
        token_id: str | SecretStr | None = None,
        token_secret: str | SecretStr | None = None,
        *,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        owner = "NetSuiteTBA"
        given = {
            "consumer_key": consumer_key,
            "consumer_secret": consumer_secret,
            "token_id": token_id,
            "token_secret": token_secret,
        }
        for name, value in given.items():
            if value is None:
                raise ValidationError(f"{owner}: {name} is required", field=name)
        self._consumer_key = validate_secret(consumer_key, "consumer_key", owner=owner, header_safe=True)
        self._consumer_secret = validate_secret(
            consumer_secret, "consumer_secret", owner=owner, header_safe=True
        )
        self._token_id = validate_secret(token_id, "token_id", owner=owner, header_safe=True)
        self._token_secret = validate_secret(token_secret, "token_secret", owner=owner, header_safe=True)
        self.account: str | None = None if account is None else self._check_account(account)
        self._nonce = nonce or (lambda: secrets.token_hex(16))

    @staticmethod
    def _check_account(account: object) -> str:
        if not isinstance(account, str) or not _ACCOUNT.fullmatch(account.strip()):
            raise ValidationError(
                "NetSuiteTBA: account must be a NetSuite account id such as '1234567' or '1234567-sb1'",
                field="account",
            )
        return account.strip()

    @property
    def realm(self) -> str | None:
        """The OAuth realm sent with every request (``None`` until the account is known)."""
        return None if self.account is None else netsuite_realm(self.account)

    def bind(self, *, clock: Clock, base_url: str | None = None) -> None:
        super().bind(clock=clock, base_url=base_url)
        if self.account is None and base_url:
            host = httpx.URL(base_url).host.lower()
            label = host.split(".", 1)[0]
            if host.endswith(".netsuite.com") and _ACCOUNT.fullmatch(label):
                self.account = label

    def authorization(self, request: httpx.Request) -> str:
        """The ``Authorization`` header value for ``request`` (a fresh nonce and timestamp)."""
        realm = self.realm
        if realm is None:
            raise ConfigError("NetSuiteTBA: account is required (it could not be read from the base URL)")
        oauth = {
            "oauth_consumer_key": self._consumer_key.get_secret_value(),
            "oauth_token": self._token_id.get_secret_value(),
            "oauth_signature_method": "HMAC-SHA256",
            "oauth_timestamp": str(int(self.clock.now().timestamp())),
            "oauth_nonce": self._nonce(),
            "oauth_version": "1.0",
        }
        params = request_parameters(request)
        params.extend((k.encode("utf-8"), v.encode("utf-8")) for k, v in oauth.items())
        base = signature_base_string(request.method, request.url, params)
        key = "&".join(
            _encode(s.get_secret_value().encode("utf-8")) for s in (self._consumer_secret, self._token_secret)
        )
        digest = hmac.new(key.encode("ascii"), base.encode("ascii"), hashlib.sha256).digest()
        oauth["oauth_signature"] = base64.b64encode(digest).decode("ascii")
        fields = ", ".join(f'{k}="{_encode(v.encode("utf-8"))}"' for k, v in oauth.items())
        return f'OAuth realm="{realm}", {fields}'

    def auth_flow(self, request: httpx.Request) -> Flow[None]:
        request.headers["Authorization"] = self.authorization(request)
        yield from ()  # nothing to send: a flow without effects

    def secret_values(self) -> Iterable[str]:
        secrets_ = (self._consumer_key, self._consumer_secret, self._token_id, self._token_secret)
        return [s.get_secret_value() for s in secrets_]

    def __repr__(self) -> str:
        return f"NetSuiteTBA(realm={self.realm!r})"
