"""OAuth 2.0 client credentials grant (RFC 6749 section 4.4)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

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
from fincon.auth._secrets import check_text, validate_secret
from fincon.auth._token_auth import TokenAuth
from fincon.core.clock import Clock
from fincon.core.flow import Flow, Send

__all__ = ["OAuth2ClientCredentials"]

logger = logging.getLogger("fincon.auth")


class OAuth2ClientCredentials(TokenAuth):
    """Machine-to-machine OAuth 2.0: trade a client id and secret for an access token.

    The token is fetched on first use, shared by every request, thread and task using this
    strategy, renewed ``early`` seconds before it expires (at most a tenth of its lifetime
    early) and renewed once if the system answers 401.

    ``auth_method`` chooses how the client authenticates: ``"client_secret_post"`` (in the
    form body, the default) or ``"client_secret_basic"`` (an HTTP Basic header).
    ``token_url`` may be a path (``"/oauth/token"``), resolved against the connector's base URL.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str | SecretStr,
        token_url: str,
        scope: str | None = None,
        audience: str | None = None,
        auth_method: ClientAuthMethod = "client_secret_post",
        extra_params: Mapping[str, str] | None = None,
        *,
        early: float = 60.0,
    ) -> None:
        owner = type(self).__name__
        super().__init__(early=early)
        self.client_id = check_text(client_id, "client_id", owner=owner, header_safe=True)
        self._client_secret = validate_secret(client_secret, "client_secret", owner=owner)
        self._endpoint = TokenEndpoint(token_url, owner=owner)
        self.scope = None if scope is None else check_text(scope, "scope", owner=owner)
        self.audience = None if audience is None else check_text(audience, "audience", owner=owner)
        self.auth_method = check_auth_method(auth_method, owner=owner)
        self._extra = check_extra_params(extra_params, owner=owner)

    @property
    def token_url(self) -> str:
        """The token endpoint (resolved once the strategy is bound to a connector)."""
        return str(self._endpoint)

    def bind(self, *, clock: Clock, base_url: str | None = None) -> None:
        super().bind(clock=clock, base_url=base_url)
        self._endpoint.bind(base_url)

    def fetch_flow(self, current: Token | None) -> Flow[Token]:
        url = self._endpoint.url
        form: dict[str, str] = {"grant_type": "client_credentials"}
        if self.scope is not None:
            form["scope"] = self.scope
        if self.audience is not None:
            form["audience"] = self.audience
        form.update(self._extra)
        headers: dict[str, str] = {}
        client_auth(
            form,
            headers,
            method=self.auth_method,
            client_id=self.client_id,
            client_secret=self._client_secret.get_secret_value(),
        )
        logger.debug("requesting a client-credentials token from %s", url.host)
        # Expiry counts from before the request: the server's clock started then.
        sent_at = self.clock.now()
        response = yield Send(token_request(url, form, headers))
        return parse_token_response(response, endpoint=url.host, now=sent_at, secrets=self.secret_values())

    def secret_values(self) -> Iterable[str]:
        return [self._client_secret.get_secret_value(), *self.token_secrets()]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, token_url={self.token_url!r})"
