"""Getting the first tokens of an authorization code grant: the authorisation URL (with PKCE
S256), the callback, and the code exchange. The OAuth mechanics come from authlib."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import SecretStr

from fincon.auth._base import Token
from fincon.auth._oauth2 import (
    ClientAuthMethod,
    TokenEndpoint,
    check_auth_method,
    check_extra_params,
    client_auth,
    parse_token_response,
    token_request,
)
from fincon.auth._secrets import check_text, register, scrub, validate_secret
from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.core.flow import Flow, Send, run_async, run_sync
from fincon.core.urls import require_safe_url
from fincon.errors import AuthError

__all__ = [
    "AuthorizationRequest",
    "aexchange_code",
    "authorization_request",
    "exchange_code",
    "exchange_code_flow",
    "parse_callback",
]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """Where to send the user, and what to keep until they come back.

    Keep ``state`` and ``code_verifier`` (server side, e.g. in the session) for
    :func:`parse_callback` and :func:`exchange_code`.
    """

    url: str
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)


def authorization_request(
    authorize_url: str,
    client_id: str,
    redirect_uri: str,
    scope: str | Sequence[str] | None = None,
    *,
    extra_params: Mapping[str, str] | None = None,
) -> AuthorizationRequest:
    """Build the URL that asks a user to authorise this application (response_type=code, PKCE S256)."""
    from authlib.common.security import generate_token
    from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    owner = "authorization_request"
    require_safe_url(check_text(authorize_url, "authorize_url", owner=owner), setting="authorize_url")
    check_text(client_id, "client_id", owner=owner)
    check_text(redirect_uri, "redirect_uri", owner=owner)
    state = generate_token(32)
    # 64 characters of [A-Za-z0-9]: within RFC 7636's 43-128 unreserved characters.
    verifier = generate_token(64)
    register(verifier)
    url = prepare_grant_uri(
        authorize_url,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        **check_extra_params(extra_params, owner=owner),
    )
    return AuthorizationRequest(url=str(url), state=state, code_verifier=verifier)


def parse_callback(callback_url: str, *, state: str) -> str:
    """Check the redirect the user came back with and return the authorisation code.

    Raises :class:`~fincon.errors.AuthError` if the user refused, or if ``state`` does not
    match (the redirect did not come from the request you started).
    """
    query = dict(parse_qsl(urlsplit(callback_url).query, keep_blank_values=True))
    if "error" in query:
        code = scrub(query["error"], [], limit=64)
        raise AuthError(f"the authorisation was refused: {code}", code=code)
    received = query.get("state", "")
    if not hmac.compare_digest(received.encode(), state.encode()):
        raise AuthError(
            "the callback's state does not match the authorisation request (a forged or stale redirect)",
            code="state_mismatch",
        )
    code_value = query.get("code")
    if not code_value:
        raise AuthError("the callback carries no authorisation code", code="missing_code")
    register(code_value)
    return code_value


def exchange_code_flow(
    *,
    client_id: str,
    client_secret: str | SecretStr | None,
    token_url: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    auth_method: ClientAuthMethod = "client_secret_post",
    clock: Clock = SYSTEM_CLOCK,
) -> Flow[Token]:
    """The code exchange as a flow (drive it with :func:`~fincon.core.flow.run_sync` or ``run_async``)."""
    from authlib.oauth2.rfc6749.parameters import prepare_token_request

    owner = "exchange_code"
    endpoint = TokenEndpoint(token_url, owner=owner)
    code_secret = validate_secret(code, "code", owner=owner)
    verifier = validate_secret(code_verifier, "code_verifier", owner=owner)
    secret = None if client_secret is None else validate_secret(client_secret, "client_secret", owner=owner)
    check_text(client_id, "client_id", owner=owner)
    body = prepare_token_request(
        "authorization_code",
        code=code_secret.get_secret_value(),
        redirect_uri=redirect_uri,
        code_verifier=verifier.get_secret_value(),
    )
    form = dict(parse_qsl(body, keep_blank_values=True))
    headers: dict[str, str] = {}
    client_auth(
        form,
        headers,
        method=check_auth_method(auth_method, owner=owner),
        client_id=client_id,
        client_secret=None if secret is None else secret.get_secret_value(),
    )
    url = endpoint.url
    sent_at = clock.now()
    response = yield Send(token_request(url, form, headers))
    secrets = [code_secret.get_secret_value(), verifier.get_secret_value()]
    if secret is not None:
        secrets.append(secret.get_secret_value())
    return parse_token_response(response, endpoint=url.host, now=sent_at, secrets=secrets)


def exchange_code(
    client: httpx.Client,
    *,
    client_id: str,
    client_secret: str | SecretStr | None,
    token_url: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    auth_method: ClientAuthMethod = "client_secret_post",
) -> Token:
    """Exchange an authorisation code for tokens with a blocking client.

    Persist the result, or pass it to :meth:`OAuth2AuthorizationCode.from_token`.
    """
    flow = exchange_code_flow(
        client_id=client_id,
        client_secret=client_secret,
        token_url=token_url,
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
        auth_method=auth_method,
    )
    return run_sync(flow, client)


async def aexchange_code(
    client: httpx.AsyncClient,
    *,
    client_id: str,
    client_secret: str | SecretStr | None,
    token_url: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    auth_method: ClientAuthMethod = "client_secret_post",
) -> Token:
    """:func:`exchange_code` for an ``httpx.AsyncClient``."""
    flow = exchange_code_flow(
        client_id=client_id,
        client_secret=client_secret,
        token_url=token_url,
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=code_verifier,
        auth_method=auth_method,
    )
    return await run_async(flow, client)
