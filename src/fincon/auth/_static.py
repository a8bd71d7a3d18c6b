"""Strategies with a fixed credential: an API key, a bearer token, HTTP Basic."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

import httpx
from pydantic import SecretStr

from fincon.auth._base import AuthStrategy
from fincon.auth._secrets import check_text, validate_secret
from fincon.core.flow import Flow
from fincon.errors import ConfigError

__all__ = ["APIKey", "Basic", "Bearer"]

# RFC 9110 token characters: what a header field name may contain.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class APIKey(AuthStrategy):
    """A fixed API key, sent in a header (default ``Authorization: Bearer <key>``) or a query parameter.

    ``APIKey(key)`` sends ``Authorization: Bearer <key>``; ``APIKey(key, header="X-API-Key")``
    sends the bare key in that header (the ``Bearer`` prefix only defaults for
    ``Authorization``); ``APIKey(key, query_param="api_key")`` appends it to the URL instead.
    Prefer a header where the system allows it: URLs end up in proxies' and servers' logs.
    """

    def __init__(
        self,
        key: str | SecretStr,
        header: str | None = None,
        prefix: str | None = None,
        *,
        query_param: str | None = None,
    ) -> None:
        self._key = validate_secret(key, "key", owner="APIKey", header_safe=True)
        if query_param is not None:
            if header is not None or prefix is not None:
                raise ConfigError("APIKey: give either query_param or header/prefix, not both")
            self._query_param: str | None = check_text(query_param, "query_param", owner="APIKey")
            # httpx logs every request URL (at INFO), and this one now carries the key.
            from fincon.core.redaction import install_log_redaction

            install_log_redaction("httpx")
            self._header: str | None = None
            self._prefix = ""
        else:
            name = "Authorization" if header is None else check_text(header, "header", owner="APIKey")
            if not _HEADER_NAME.match(name):
                raise ConfigError(f"APIKey: header {name!r} is not a valid HTTP header name")
            self._header = name
            self._query_param = None
            default_prefix = "Bearer " if name.lower() == "authorization" else ""
            self._prefix = default_prefix if prefix is None else prefix
            if not all(0x20 <= ord(c) < 0x7F for c in self._prefix):
                raise ConfigError("APIKey: prefix must be printable ASCII")

    def auth_flow(self, request: httpx.Request) -> Flow[None]:
        key = self._key.get_secret_value()
        if self._query_param is not None:
            # Set, not append: a re-authorised request must not carry the key twice.
            request.url = request.url.copy_set_param(self._query_param, key)
        else:
            assert self._header is not None
            request.headers[self._header] = self._prefix + key
        yield from ()  # nothing to send: a flow without effects

    def secret_values(self) -> Iterable[str]:
        return [self._key.get_secret_value()]

    def __repr__(self) -> str:
        where = f"query_param={self._query_param!r}" if self._query_param else f"header={self._header!r}"
        return f"APIKey({where})"


class Bearer(AuthStrategy):
    """A fixed bearer token: ``Authorization: Bearer <token>``."""

    def __init__(self, token: str | SecretStr) -> None:
        self._token = validate_secret(token, "token", owner="Bearer", header_safe=True)

    def auth_flow(self, request: httpx.Request) -> Flow[None]:
        request.headers["Authorization"] = "Bearer " + self._token.get_secret_value()
        yield from ()  # nothing to send: a flow without effects

    def secret_values(self) -> Iterable[str]:
        return [self._token.get_secret_value()]

    def __repr__(self) -> str:
        return "Bearer()"


class Basic(AuthStrategy):
    """HTTP Basic authentication (RFC 7617), UTF-8 encoded.

    The password may be empty for systems that take an API key as the user name (Stripe).
    Neither the user name nor the password is shown in the repr: some systems put the key there.
    """

    def __init__(self, username: str | SecretStr, password: str | SecretStr) -> None:
        self._username = validate_secret(username, "username", owner="Basic", header_safe=False)
        if ":" in self._username.get_secret_value():
            raise ConfigError("Basic: username must not contain ':' (RFC 7617)")
        self._password = validate_secret(password, "password", owner="Basic", allow_empty=True)
        pair = f"{self._username.get_secret_value()}:{self._password.get_secret_value()}"
        encoded = base64.b64encode(pair.encode("utf-8")).decode("ascii")
        # The encoded pair is as secret as the password it contains.
        self._header = validate_secret(encoded, "credentials", owner="Basic")

    def auth_flow(self, request: httpx.Request) -> Flow[None]:
        request.headers["Authorization"] = "Basic " + self._header.get_secret_value()
        yield from ()  # nothing to send: a flow without effects

    def secret_values(self) -> Iterable[str]:
        values = [self._username, self._password, self._header]
        return [v.get_secret_value() for v in values if v.get_secret_value()]

    def __repr__(self) -> str:
        return "Basic()"
