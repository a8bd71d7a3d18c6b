"""Microsoft Entra ID (Azure AD) client-credentials auth for Dynamics 365.

Two ways for an app registration to prove itself at
``https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token``:

- a client secret: :func:`entra_client_secret` (the core's ``OAuth2ClientCredentials``);
- a certificate: :class:`EntraCertificate`, a signed client assertion whose header names the
  certificate by thumbprint (``x5t#S256`` with PS256, or the older ``x5t`` with RS256), and
  whose claims are ``aud`` (the token URL), ``iss`` = ``sub`` = the client id, ``jti``,
  ``iat``, ``nbf``, ``exp``.

Tokens are cached by the core's token manager and renewed before they expire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

from fincon.auth._base import Token
from fincon.auth._client_credentials import OAuth2ClientCredentials
from fincon.auth._jwt import ASSERTION_TYPE, OAuth2JWTBearer
from fincon.auth._oauth2 import parse_token_response, token_request
from fincon.auth._secrets import register
from fincon.core.flow import Flow, Send
from fincon.errors import ConfigError

__all__ = ["DEFAULT_LOGIN_HOST", "EntraCertificate", "entra_client_secret", "entra_token_url"]

DEFAULT_LOGIN_HOST = "https://login.microsoftonline.com"
_THUMBPRINT = re.compile(r"[0-9A-Fa-f]{40}")
_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def entra_token_url(tenant_id: str, login_host: str = DEFAULT_LOGIN_HOST) -> str:
    """The v2.0 token endpoint of ``tenant_id`` (a GUID or a verified domain)."""
    return f"{login_host.rstrip('/')}/{tenant_id}/oauth2/v2.0/token"


def entra_client_secret(
    client_id: str, client_secret: str | SecretStr, token_url: str, scope: str
) -> OAuth2ClientCredentials:
    """Client id and secret in the form body, as Entra ID expects (``client_secret_post``)."""
    return OAuth2ClientCredentials(
        client_id, client_secret, token_url, scope=scope, auth_method="client_secret_post"
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def certificate_thumbprints(pem: str) -> tuple[str, str] | None:
    """``(x5t, x5t#S256)`` of the first certificate in ``pem``, or None if it holds none."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    found = _CERTIFICATE.search(pem)
    if found is None:
        return None
    try:
        der = x509.load_pem_x509_certificate(found.group(0).encode("ascii")).public_bytes(Encoding.DER)
    except ValueError:
        raise ConfigError("certificate: the PEM certificate block cannot be read") from None
    return _b64url(hashlib.sha1(der).digest()), _b64url(hashlib.sha256(der).digest())  # noqa: S324


def _private_key_block(pem: str) -> str:
    # The key may share the PEM file with its certificate (a common export format).
    return _CERTIFICATE.sub("", pem).strip()


class EntraCertificate(OAuth2JWTBearer):
    """Client credentials with a certificate: a signed assertion instead of a secret.

    ``certificate`` is PEM text holding the RSA private key, and either the certificate
    itself (then PS256 with ``x5t#S256`` is used) or, with ``thumbprint`` (the SHA-1
    thumbprint shown in the Azure portal, 40 hex digits), RS256 with ``x5t``.
    """

    def __init__(
        self,
        client_id: str,
        certificate: str | SecretStr,
        token_url: str,
        scope: str,
        *,
        thumbprint: str | None = None,
        early: float = 60.0,
    ) -> None:
        pem = certificate.get_secret_value() if isinstance(certificate, SecretStr) else certificate
        if not isinstance(pem, str) or "PRIVATE KEY-----" not in pem:
            raise ConfigError("EntraCertificate: certificate must be PEM text with the private key")
        thumbprints = certificate_thumbprints(pem)
        self._x5t_s256: str | None = None
        if thumbprints is not None:
            self._x5t, self._x5t_s256 = thumbprints
            algorithm = "PS256"
        elif thumbprint is not None and _THUMBPRINT.fullmatch(thumbprint.replace(":", "")):
            self._x5t = _b64url(binascii.unhexlify(thumbprint.replace(":", "")))
            algorithm = "RS256"
        else:
            raise ConfigError(
                "EntraCertificate: give the certificate in the PEM text, or its SHA-1 thumbprint "
                "(40 hex digits) as certificate_thumbprint"
            )
        super().__init__(
            client_id,
            _private_key_block(pem),
            key_id=self._x5t,
            token_url=token_url,
            algorithm=algorithm,  # type: ignore[arg-type]
            scope=scope,
            early=early,
        )

    def assertion(self) -> str:
        """A freshly signed client assertion, valid for ``lifetime`` seconds."""
        from joserfc import jwt

        audience = str(self._endpoint.url)
        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": self.client_id,
            "sub": self.client_id,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
        }
        header: dict[str, Any] = {"alg": self.algorithm, "typ": "JWT"}
        if self._x5t_s256 is not None:
            header["x5t#S256"] = self._x5t_s256
        else:
            header["x5t"] = self._x5t
        signed = jwt.encode(header, claims, self._key, algorithms=[self.algorithm])
        register(signed)
        self._retired.retire(self._last_assertion)
        self._last_assertion = signed
        return signed

    def fetch_flow(self, current: Token | None) -> Flow[Token]:
        url = self._endpoint.url
        form = {
            "grant_type": "client_credentials",
            # Entra ID wants the client id in the form as well as in the assertion.
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
            "scope": self.scope or "",
        }
        sent_at = self.clock.now()
        response = yield Send(token_request(url, form, {}))
        return parse_token_response(
            response,
            endpoint=url.host,
            now=sent_at,
            secrets=[*self.secret_values(), form["client_assertion"]],
        )

    def secret_values(self) -> Iterable[str]:
        return super().secret_values()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, token_url={self.token_url!r})"
