"""OAuth 2.0 authorization code grant: refresh tokens with rotation and persistence."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from fincon.auth._base import Token
from fincon.auth._oauth2 import (
    ClientAuthMethod,
    TokenEndpoint,
    check_auth_method,
    client_auth,
    parse_token_response,
    token_request,
)
from fincon.auth._secrets import check_text, validate_secret
from fincon.auth._store import TokenStore, adapt_store
from fincon.auth._token_auth import TokenAuth
from fincon.core.clock import Clock
from fincon.core.flow import Flow, Send
from fincon.errors import AuthError, ValidationError

__all__ = ["OAuth2AuthorizationCode"]

logger = logging.getLogger("fincon.auth")


class OAuth2AuthorizationCode(TokenAuth):
    """Act for a user who authorised this application once: renew access with a refresh token.

    When the server rotates the refresh token (returns a new one with each refresh), the
    new one replaces the old at once and ``token_store`` is called with the new token set,
    so it can be persisted: a process that restarts with a used refresh token would have to
    be re-authorised by a person. ``token_store`` is a callback ``save(token)``, or an object
    with ``save(token)`` and optionally ``load()`` (see :class:`~fincon.auth.TokenStore` and
    :class:`~fincon.auth.FileTokenStore`); tokens it loads win over the ones passed here.

    Refreshes are serialised (one at a time per strategy), so a rotating refresh token is
    never sent twice. A refused refresh token (``invalid_grant``) raises
    :class:`~fincon.errors.AuthError` telling you to re-authorise.
    Get the first tokens with :func:`authorization_request` and :func:`exchange_code`.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str | SecretStr | None,
        token_url: str,
        refresh_token: str | SecretStr | None = None,
        access_token: str | SecretStr | None = None,
        expires_at: datetime | None = None,
        token_store: TokenStore | Callable[[Token], None] | None = None,
        *,
        auth_method: ClientAuthMethod = "client_secret_post",
        scope: str | None = None,
        early: float = 60.0,
    ) -> None:
        owner = type(self).__name__
        super().__init__(early=early)
        self.client_id = check_text(client_id, "client_id", owner=owner, header_safe=True)
        self._client_secret = (
            None if client_secret is None else validate_secret(client_secret, "client_secret", owner=owner)
        )
        self._endpoint = TokenEndpoint(token_url, owner=owner)
        self.auth_method = check_auth_method(auth_method, owner=owner)
        self.scope = None if scope is None else check_text(scope, "scope", owner=owner)
        self._store = adapt_store(token_store, owner=owner)
        if expires_at is not None and (not isinstance(expires_at, datetime) or expires_at.tzinfo is None):
            raise ValidationError(
                f"{owner}: expires_at must be a timezone-aware datetime", field="expires_at"
            )

        loaded = self._store.load() if self._store is not None else None
        if loaded is not None and loaded.refresh_token:
            # The store holds the latest rotation; the arguments may be older.
            self._refresh = validate_secret(loaded.refresh_token, "refresh_token", owner=owner)
            if loaded.expires_at is not None and loaded.expires_at.tzinfo is None:
                raise ValidationError(
                    f"{owner}: token_store.load() returned an expiry without a time zone", field="token_store"
                )
            if loaded.value:
                validate_secret(loaded.value, "access_token", owner=owner, header_safe=True)
                self._manager.set_token(dataclasses.replace(loaded, extra={}))
            return
        if refresh_token is None:
            raise ValidationError(
                f"{owner}: refresh_token is required (or a token_store that can load one)",
                field="refresh_token",
            )
        self._refresh = validate_secret(refresh_token, "refresh_token", owner=owner, header_safe=True)
        if access_token is not None:
            value = validate_secret(access_token, "access_token", owner=owner, header_safe=True)
            self._manager.set_token(
                Token(
                    value=value.get_secret_value(),
                    expires_at=expires_at,
                    refresh_token=self._refresh.get_secret_value(),
                )
            )

    @classmethod
    def from_token(
        cls,
        token: Token,
        *,
        client_id: str,
        client_secret: str | SecretStr | None,
        token_url: str,
        token_store: TokenStore | Callable[[Token], None] | None = None,
        **options: Any,
    ) -> OAuth2AuthorizationCode:
        """A strategy continuing from ``token`` (as returned by :func:`exchange_code`).

        The token is saved to ``token_store`` first, so it is persisted from the start.
        """
        if not token.refresh_token:
            raise ValidationError(
                "OAuth2AuthorizationCode: the token has no refresh_token (did you ask for offline access?)",
                field="refresh_token",
            )
        strategy = cls(
            client_id,
            client_secret,
            token_url,
            refresh_token=token.refresh_token,
            access_token=token.value or None,
            expires_at=token.expires_at,
            **options,
        )
        # Attached after construction: loading an older saved token must not win here.
        strategy._store = adapt_store(token_store, owner=cls.__name__)
        if strategy._store is not None:
            strategy._store.save(dataclasses.replace(token, extra={}))
        return strategy

    @property
    def token_url(self) -> str:
        """The token endpoint (resolved once the strategy is bound to a connector)."""
        return str(self._endpoint)

    def bind(self, *, clock: Clock, base_url: str | None = None) -> None:
        super().bind(clock=clock, base_url=base_url)
        self._endpoint.bind(base_url)

    def fetch_flow(self, current: Token | None) -> Flow[Token]:
        # Runs under the token manager's lock: one refresh at a time, so a rotating
        # refresh token is never presented twice.
        url = self._endpoint.url
        refresh = self._refresh.get_secret_value()
        form = {"grant_type": "refresh_token", "refresh_token": refresh}
        if self.scope is not None:
            form["scope"] = self.scope
        headers: dict[str, str] = {}
        secret = None if self._client_secret is None else self._client_secret.get_secret_value()
        client_auth(form, headers, method=self.auth_method, client_id=self.client_id, client_secret=secret)
        logger.debug("refreshing an access token at %s", url.host)
        sent_at = self.clock.now()
        response = yield Send(token_request(url, form, headers))
        try:
            token = parse_token_response(
                response, endpoint=url.host, now=sent_at, secrets=self.secret_values()
            )
        except AuthError as error:
            if error.code == "invalid_grant":
                raise AuthError(
                    f"the token endpoint {url.host} refused the refresh token (invalid_grant): it has "
                    "expired, been revoked or already been used. Re-authorise the application (run the "
                    "authorisation-code flow again) and use the new refresh token.",
                    status=error.status,
                    code="invalid_grant",
                    retryable=False,
                    details=error.details,
                ) from error
            raise
        if token.refresh_token is None:
            token.refresh_token = refresh  # not rotated: the old one stays valid
        elif token.refresh_token != refresh:
            logger.debug("the refresh token was rotated by %s", url.host)
        self._refresh = SecretStr(token.refresh_token)
        if self._store is not None:
            self._save(token)
        return token

    def _save(self, token: Token) -> None:
        assert self._store is not None
        failure = None
        try:
            self._store.save(dataclasses.replace(token, extra={}))
        except Exception as exc:
            failure = type(exc).__name__
        # Raised outside the handler: the store's own error (which may quote the tokens it
        # failed to write) must not ride along as __context__.
        if failure is not None:
            logger.warning("the token store failed to save new tokens (%s)", failure)
            raise AuthError(
                f"token_store failed to save the new tokens ({failure}); they are kept in memory "
                "only, and the next request will refresh and try to save again",
                code="token_store_failed",
                retryable=False,
            )

    def secret_values(self) -> Iterable[str]:
        values = [self._refresh.get_secret_value(), *self.token_secrets()]
        if self._client_secret is not None:
            values.append(self._client_secret.get_secret_value())
        return values

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, token_url={self.token_url!r})"
