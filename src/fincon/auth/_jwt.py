"""OAuth 2.0 client credentials with a signed JWT client assertion (RFC 7523 section 2.2)."""

from __future__ import annotations

import contextlib
import logging
import uuid
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import SecretStr

from fincon.auth._base import Token
from fincon.auth._oauth2 import TokenEndpoint, check_extra_params, parse_token_response, token_request
from fincon.auth._secrets import Retired, check_text, register, validate_secret
from fincon.auth._token_auth import TokenAuth
from fincon.core.clock import Clock
from fincon.core.flow import Flow, Send
from fincon.errors import ConfigError, ValidationError

__all__ = ["OAuth2JWTBearer"]

logger = logging.getLogger("fincon.auth")

JWTAlgorithm = Literal["PS256", "ES256", "RS256"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_MIN_RSA_BITS = 2048


def _load_key(pem: str, algorithm: str, owner: str) -> Any:
    """Parse ``pem`` and check that it suits ``algorithm``; errors never quote the key."""
    from joserfc.jwk import ECKey, RSAKey

    key: Any = None
    with contextlib.suppress(Exception), warnings.catch_warnings():
        # joserfc warns about short RSA keys; they are refused below with a clear error.
        warnings.simplefilter("ignore")
        key = ECKey.import_key(pem) if algorithm == "ES256" else RSAKey.import_key(pem)
    if key is None:
        # Raised outside the handler, so no parser error (which could hold key material)
        # is chained to it.
        raise ConfigError(
            f"{owner}: private_key is not a PEM {'EC' if algorithm == 'ES256' else 'RSA'} private key "
            f"(needed for {algorithm}); encrypted keys must be decrypted first"
        )
    if not key.is_private:
        raise ConfigError(f"{owner}: private_key is a public key; the private key is needed to sign")
    if algorithm == "ES256" and key.curve_name != "P-256":
        raise ConfigError(f"{owner}: ES256 needs a P-256 key, not {key.curve_name}")
    if algorithm != "ES256":
        bits = key.raw_value.key_size
        if bits < _MIN_RSA_BITS:
            raise ConfigError(f"{owner}: the RSA key has {bits} bits; at least {_MIN_RSA_BITS} are required")
    return key


class OAuth2JWTBearer(TokenAuth):
    """Client credentials where the client proves itself with a signed JWT, not a shared secret.

    The assertion has the header ``{"alg", "kid": key_id, "typ": "JWT"}`` and the claims
    ``iss`` (the client id), ``aud`` (``audience``, default the token URL), ``iat``, ``exp``
    (``lifetime`` seconds later), ``jti`` (unique), ``sub`` if ``subject`` is given (RFC 7523
    servers such as Okta want ``subject=client_id``) and ``scope`` if given. ``scope`` is
    also sent in the form body. This is NetSuite's OAuth 2.0 machine-to-machine flow::

        OAuth2JWTBearer(client_id, pem, key_id=certificate_id, algorithm="PS256",
                        token_url="https://1234567.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token",
                        scope="restlets,rest_webservices")
    """

    def __init__(
        self,
        client_id: str,
        private_key: str | bytes | SecretStr,
        key_id: str,
        token_url: str,
        algorithm: JWTAlgorithm = "PS256",
        scope: str | None = None,
        audience: str | None = None,
        lifetime: int = 300,
        *,
        subject: str | None = None,
        extra_params: Mapping[str, str] | None = None,
        early: float = 60.0,
    ) -> None:
        owner = type(self).__name__
        super().__init__(early=early)
        self.client_id = check_text(client_id, "client_id", owner=owner, header_safe=True)
        self.key_id = check_text(key_id, "key_id", owner=owner, header_safe=True)
        self._endpoint = TokenEndpoint(token_url, owner=owner)
        if algorithm not in ("PS256", "ES256", "RS256"):
            raise ConfigError(f"{owner}: algorithm must be 'PS256', 'ES256' or 'RS256'")
        self.algorithm: JWTAlgorithm = algorithm
        self.scope = None if scope is None else check_text(scope, "scope", owner=owner)
        self.audience = None if audience is None else check_text(audience, "audience", owner=owner)
        self.subject = None if subject is None else check_text(subject, "subject", owner=owner)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 1 <= lifetime <= 3600:
            raise ValidationError(f"{owner}: lifetime must be 1 to 3600 seconds", field="lifetime")
        self.lifetime = lifetime
        self._extra = check_extra_params(extra_params, owner=owner)
        if isinstance(private_key, SecretStr):
            private_key = private_key.get_secret_value()
        if isinstance(private_key, bytes):
            if not private_key.isascii():
                raise ConfigError(f"{owner}: private_key must be PEM text (DER is not accepted)")
            private_key = private_key.decode("ascii")
        if isinstance(private_key, str):
            private_key = private_key.strip()
        self._private_key = validate_secret(private_key, "private_key", owner=owner, multiline=True)
        pem = self._private_key.get_secret_value()
        # Each base64 line too, in case a log shows part of the key.
        register(*(line for line in pem.splitlines() if len(line) >= 16 and not line.startswith("-----")))
        self._key = _load_key(pem, algorithm, owner)
        self._last_assertion: str | None = None
        self._retired = Retired()

    @property
    def token_url(self) -> str:
        """The token endpoint (resolved once the strategy is bound to a connector)."""
        return str(self._endpoint)

    def bind(self, *, clock: Clock, base_url: str | None = None) -> None:
        super().bind(clock=clock, base_url=base_url)
        self._endpoint.bind(base_url)

    def assertion(self) -> str:
        """A freshly signed client assertion (valid for ``lifetime`` seconds from the clock's now)."""
        from joserfc import jwt

        url = self._endpoint.url
        issued = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "aud": self.audience or str(url),
            "iat": issued,
            "exp": issued + self.lifetime,
            "jti": uuid.uuid4().hex,
        }
        if self.subject is not None:
            claims["sub"] = self.subject
        if self.scope is not None:
            claims["scope"] = self.scope
        header = {"alg": self.algorithm, "kid": self.key_id, "typ": "JWT"}
        # joserfc refuses PS256 unless asked for it explicitly ("not recommended" by its registry).
        signed = jwt.encode(header, claims, self._key, algorithms=[self.algorithm])
        register(signed)  # a bearer credential until it expires
        self._retired.retire(self._last_assertion)
        self._last_assertion = signed
        return signed

    def fetch_flow(self, current: Token | None) -> Flow[Token]:
        url = self._endpoint.url
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        if self.scope is not None:
            form["scope"] = self.scope
        form.update(self._extra)
        logger.debug("requesting a token from %s with a %s client assertion", url.host, self.algorithm)
        sent_at = self.clock.now()
        response = yield Send(token_request(url, form, {}))
        return parse_token_response(
            response,
            endpoint=url.host,
            now=sent_at,
            secrets=[*self.secret_values(), form["client_assertion"]],
        )

    def secret_values(self) -> Iterable[str]:
        return [self._private_key.get_secret_value(), *self.token_secrets()]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(client_id={self.client_id!r}, key_id={self.key_id!r}, "
            f"algorithm={self.algorithm!r}, token_url={self.token_url!r})"
        )
