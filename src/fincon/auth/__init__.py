"""How connectors prove who they are.

Pass a strategy as ``auth=`` to :func:`fincon.connect`. Every strategy is written once, as a
sans-I/O flow, and works unchanged with sync and async connectors. Secrets are kept as
:class:`pydantic.SecretStr`, registered for redaction as soon as they arrive, and never
appear in a repr, a log line or an exception (see ``docs/auth.md``).

Heavy dependencies (authlib, joserfc, cryptography) load only when a strategy that needs
them is created or used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fincon.auth._authcode import OAuth2AuthorizationCode
    from fincon.auth._authorize import (
        AuthorizationRequest,
        aexchange_code,
        authorization_request,
        exchange_code,
        exchange_code_flow,
        parse_callback,
    )
    from fincon.auth._base import AuthStrategy, Token, TokenManager
    from fincon.auth._client_credentials import OAuth2ClientCredentials
    from fincon.auth._jwt import OAuth2JWTBearer
    from fincon.auth._netsuite import NetSuiteTBA, netsuite_realm
    from fincon.auth._secrets import validate_secret
    from fincon.auth._session import Session, SessionAuth, replace_content
    from fincon.auth._static import APIKey, Basic, Bearer
    from fincon.auth._store import FileTokenStore, TokenSaver, TokenStore
    from fincon.auth._token_auth import TokenAuth

__all__ = [
    "APIKey",
    "AuthStrategy",
    "AuthorizationRequest",
    "Basic",
    "Bearer",
    "FileTokenStore",
    "NetSuiteTBA",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "OAuth2JWTBearer",
    "Session",
    "SessionAuth",
    "Token",
    "TokenAuth",
    "TokenManager",
    "TokenSaver",
    "TokenStore",
    "aexchange_code",
    "authorization_request",
    "exchange_code",
    "exchange_code_flow",
    "netsuite_realm",
    "parse_callback",
    "replace_content",
    "validate_secret",
]

# Public name -> defining module, imported on first access: the core imports
# fincon.auth._base, which must not pull in every strategy (and their imports) with it.
_LAZY = {
    "APIKey": "fincon.auth._static",
    "AuthStrategy": "fincon.auth._base",
    "AuthorizationRequest": "fincon.auth._authorize",
    "Basic": "fincon.auth._static",
    "Bearer": "fincon.auth._static",
    "FileTokenStore": "fincon.auth._store",
    "NetSuiteTBA": "fincon.auth._netsuite",
    "OAuth2AuthorizationCode": "fincon.auth._authcode",
    "OAuth2ClientCredentials": "fincon.auth._client_credentials",
    "OAuth2JWTBearer": "fincon.auth._jwt",
    "Session": "fincon.auth._session",
    "SessionAuth": "fincon.auth._session",
    "Token": "fincon.auth._base",
    "TokenAuth": "fincon.auth._token_auth",
    "TokenManager": "fincon.auth._base",
    "TokenSaver": "fincon.auth._store",
    "TokenStore": "fincon.auth._store",
    "aexchange_code": "fincon.auth._authorize",
    "authorization_request": "fincon.auth._authorize",
    "exchange_code": "fincon.auth._authorize",
    "exchange_code_flow": "fincon.auth._authorize",
    "netsuite_realm": "fincon.auth._netsuite",
    "parse_callback": "fincon.auth._authorize",
    "replace_content": "fincon.auth._session",
    "validate_secret": "fincon.auth._secrets",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fincon.auth' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
