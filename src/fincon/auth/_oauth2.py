"""OAuth 2.0 wire details shared by the token strategies: token URLs, client
authentication, token requests and strict parsing of token responses (RFC 6749 section 5)."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote_plus

import httpx

from fincon.auth._base import Token
from fincon.auth._secrets import check_text, register, scrub
from fincon.core.urls import require_safe_url
from fincon.errors import AuthError, ConfigError

__all__ = [
    "ClientAuthMethod",
    "TokenEndpoint",
    "check_extra_params",
    "client_auth",
    "parse_token_response",
    "token_request",
]

logger = logging.getLogger("fincon.auth")

ClientAuthMethod = Literal["client_secret_post", "client_secret_basic"]

_NOT_JSON = object()
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,19}")
_DIGITS = re.compile(r"[0-9]{1,12}")
# RFC 6749 error codes are printable ASCII without '"' and '\'; anything else is not a code.
_ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}")
_RESERVED = frozenset(
    {
        "grant_type",
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
        "refresh_token",
        "code",
        "code_verifier",
        "redirect_uri",
    }
)


class TokenEndpoint:
    """A token URL: checked now if absolute, resolved against the connector's base URL if a path."""

    __slots__ = ("_raw", "_url", "field", "owner")

    def __init__(self, url: object, *, owner: str, field: str = "token_url") -> None:
        self.owner = owner
        self.field = field
        raw = check_text(url, field, owner=owner, header_safe=True)
        self._raw = raw
        self._url: httpx.URL | None = None
        if raw.startswith("/"):
            return  # a path: resolved in bind()
        self._url = self._check(raw)

    def _check(self, url: str) -> httpx.URL:
        parsed = require_safe_url(url, setting=f"{self.owner}: {self.field}")
        if parsed.userinfo:
            raise ConfigError(f"{self.owner}: {self.field} must not contain credentials (user:password@)")
        return parsed

    def bind(self, base_url: str | None) -> None:
        if self._raw.startswith("/") and base_url:
            self._url = self._check(base_url.rstrip("/") + self._raw)

    @property
    def url(self) -> httpx.URL:
        if self._url is None:
            raise ConfigError(
                f"{self.owner}: {self.field} {self._raw!r} is a path, and no base URL was bound to resolve it"
            )
        return self._url

    def __str__(self) -> str:
        return str(self._url) if self._url is not None else self._raw


def check_extra_params(params: Mapping[str, str] | None, *, owner: str) -> dict[str, str]:
    """Validate additional token-request parameters; the grant's own ones cannot be overridden."""
    if params is None:
        return {}
    result: dict[str, str] = {}
    for name, value in params.items():
        check_text(name, "extra_params", owner=owner)
        if name in _RESERVED:
            raise ConfigError(f"{owner}: extra_params may not set {name!r}; it is set by the grant")
        if not isinstance(value, str):
            raise ConfigError(f"{owner}: extra_params[{name!r}] must be a string")
        result[name] = value
    return result


def client_auth(
    form: dict[str, str],
    headers: dict[str, str],
    *,
    method: ClientAuthMethod,
    client_id: str,
    client_secret: str | None,
) -> None:
    """Add client authentication (RFC 6749 section 2.3.1) to a token request being built."""
    if client_secret is None:
        form["client_id"] = client_id  # a public client identifies itself only
    elif method == "client_secret_basic":
        # Both parts are form-encoded before being joined (RFC 6749 section 2.3.1).
        pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
        encoded = base64.b64encode(pair.encode("utf-8")).decode("ascii")
        register(encoded)
        headers["Authorization"] = f"Basic {encoded}"
    else:
        form["client_id"] = client_id
        form["client_secret"] = client_secret


def check_auth_method(value: object, *, owner: str) -> ClientAuthMethod:
    if value == "client_secret_post":
        return "client_secret_post"
    if value == "client_secret_basic":
        return "client_secret_basic"
    raise ConfigError(f"{owner}: auth_method must be 'client_secret_post' or 'client_secret_basic'")


def token_request(url: httpx.URL, form: Mapping[str, str], headers: Mapping[str, str]) -> httpx.Request:
    """A ``POST`` of ``form`` (``application/x-www-form-urlencoded``) to the token endpoint."""
    return httpx.Request("POST", url, data=dict(form), headers={"Accept": "application/json", **headers})


def _error(message: str, *, host: str, status: int, code: str | None = None, **details: Any) -> AuthError:
    return AuthError(
        message,
        status=status,
        code=code,
        retryable=status in _RETRYABLE,
        details={"token_endpoint": host, **details},
    )


def _expires_in(value: object, host: str, status: int) -> int | None:
    if value is None:
        return None
    seconds: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, float) and value.is_integer():
        seconds = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        seconds = int(value.strip())
    if seconds is None or seconds < 0:
        raise _error(
            f"the token endpoint {host} sent an expires_in that is not a number of seconds",
            host=host,
            status=status,
            code="invalid_token_response",
        )
    return seconds


def _optional_str(body: Mapping[str, Any], name: str, host: str, status: int) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value:
        raise _error(
            f"the token endpoint {host} sent a {name} that is not a non-empty string",
            host=host,
            status=status,
            code="invalid_token_response",
        )
    return value


def _bearer_value(value: object) -> bool:
    return (
        isinstance(value, str)
        and bool(value)
        and value.isascii()
        and all(0x21 <= ord(c) <= 0x7E for c in value)
    )


def parse_token_response(
    response: httpx.Response, *, endpoint: str, now: datetime, secrets: Iterable[str]
) -> Token:
    """Parse a token endpoint's answer strictly, or raise :class:`AuthError`.

    ``endpoint`` is the host named in errors; ``secrets`` are masked in any text the
    server sends back. Error messages never contain a token or a client secret.
    """
    status = response.status_code
    host = endpoint
    body: Any = _NOT_JSON
    # The decoder's exception keeps the whole body (tokens included), so the error is
    # raised outside the handler, with nothing chained to it.
    with contextlib.suppress(ValueError, RecursionError):
        body = json.loads(response.content)
    if body is _NOT_JSON:
        raise _error(
            f"the token endpoint {host} answered HTTP {status} with a body that is not JSON",
            host=host,
            status=status,
            code="invalid_token_response" if status < 400 else None,
        )
    if not isinstance(body, dict):
        raise _error(
            f"the token endpoint {host} answered HTTP {status} with JSON that is not an object",
            host=host,
            status=status,
            code="invalid_token_response",
        )
    if "error" in body or status >= 400:
        raw_code = body.get("error")
        code = raw_code if isinstance(raw_code, str) and _ERROR_CODE.fullmatch(raw_code) else None
        secrets = list(secrets)
        code = scrub(code, secrets, limit=64) if code else None
        raw_description = body.get("error_description")
        description = scrub(raw_description, secrets) if isinstance(raw_description, str) else None
        message = f"the token endpoint {host} refused the request (HTTP {status})"
        if code:
            message += f": {code}"
        if description:
            message += f" ({description})"
        raise _error(message, host=host, status=status, code=code, error=code, error_description=description)
    access_token = body.get("access_token")
    if not _bearer_value(access_token):
        raise _error(
            f"the token endpoint {host} sent no usable access_token",
            host=host,
            status=status,
            code="invalid_token_response",
        )
    assert isinstance(access_token, str)
    register(access_token)
    refresh_token = _optional_str(body, "refresh_token", host, status)
    register(refresh_token)
    token_type = _optional_str(body, "token_type", host, status)
    if token_type is None or token_type.lower() != "bearer":
        # Named only if it looks like a scheme name: a confused server may put anything there.
        shown = repr(token_type) if token_type and _SCHEME.fullmatch(token_type) else "an unexpected value"
        raise _error(
            f"the token endpoint {host} sent token_type {shown}; only Bearer tokens are supported",
            host=host,
            status=status,
            code="unsupported_token_type",
        )
    expires_in = _expires_in(body.get("expires_in"), host, status)
    scope = _optional_str(body, "scope", host, status)
    logger.debug(
        "received a token from %s (expires in %s)",
        host,
        "an unknown time" if expires_in is None else f"{expires_in}s",
    )
    return Token(
        value=access_token,
        expires_at=None if expires_in is None else now + timedelta(seconds=expires_in),
        refresh_token=refresh_token,
        token_type="Bearer",  # noqa: S106 - a scheme name, not a secret
        scope=scope,
    )
