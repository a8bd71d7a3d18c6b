"""The emulator's side of Entra ID certificate credentials: verifying client assertions.

An app registration uploads a certificate; a client proves itself with a JWT signed by the
certificate's private key whose header names the certificate by thumbprint (``x5t#S256``,
or the older SHA-1 ``x5t``). What Entra ID checks, and so what this does: the algorithm
(PS256 or RS256), a registered certificate with that thumbprint, the signature, ``aud`` (the
token endpoint), ``iss`` = ``sub`` = the client id, ``exp``/``nbf`` against the clock, and a
``jti`` not seen before (a replayed assertion is refused). Verification uses ``cryptography``
directly, not the JOSE library the client signs with, so the two cannot agree on a bug.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from fincon.core.clock import Clock

__all__ = ["ASSERTION_TYPE", "AssertionRefused", "AssertionVerifier"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Clock skew tolerated on ``nbf`` and ``exp`` (Entra ID allows a few minutes).
_SKEW = 300


class AssertionRefused(ValueError):
    """A client assertion Entra ID would refuse; the message is its ``AADSTS`` reason."""


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass
class _Certificate:
    public_key: Any
    x5t: str
    x5t_s256: str


@dataclass
class AssertionVerifier:
    """Certificates registered per client id, and the assertions already used."""

    clock: Clock
    certificates: dict[str, list[_Certificate]] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, client_id: str, certificate_pem: str | bytes) -> None:
        """Accept assertions of ``client_id`` signed by this certificate's key."""
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        pem = certificate_pem.encode() if isinstance(certificate_pem, str) else certificate_pem
        cert = x509.load_pem_x509_certificate(pem)
        der = cert.public_bytes(Encoding.DER)
        thumbprints = _Certificate(
            cert.public_key(),
            _b64url(hashlib.sha1(der).digest()),  # noqa: S324 - the x5t thumbprint is SHA-1 by definition
            _b64url(hashlib.sha256(der).digest()),
        )
        self.certificates.setdefault(client_id, []).append(thumbprints)

    def verify(self, assertion: str, *, client_id: str, audience: str) -> None:
        """Raise :class:`AssertionRefused` unless ``assertion`` proves ``client_id``."""
        try:
            head_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(claims_b64))
            signature = _b64url_decode(signature_b64)
        except (ValueError, TypeError):
            raise AssertionRefused("AADSTS50027: The client assertion is not a valid JWT.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise AssertionRefused("AADSTS50027: The client assertion is not a valid JWT.")
        certificate = self._certificate(client_id, header)
        self._check_signature(certificate, header.get("alg"), f"{head_b64}.{claims_b64}".encode(), signature)
        self._check_claims(claims, client_id=client_id, audience=audience)

    def _certificate(self, client_id: str, header: dict[str, Any]) -> _Certificate:
        known = self.certificates.get(client_id, [])
        if "x5t#S256" in header:
            found = [c for c in known if c.x5t_s256 == header["x5t#S256"]]
        elif "x5t" in header:
            found = [c for c in known if c.x5t == header["x5t"]]
        else:
            raise AssertionRefused(
                "AADSTS700027: The client assertion names no certificate (x5t#S256 or x5t)."
            )
        if not found:
            raise AssertionRefused(
                f"AADSTS700027: No certificate with this thumbprint is registered for app '{client_id}'."
            )
        return found[0]

    @staticmethod
    def _check_signature(certificate: _Certificate, algorithm: Any, signed: bytes, signature: bytes) -> None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        if algorithm == "PS256":
            scheme: Any = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        elif algorithm == "RS256":
            scheme = padding.PKCS1v15()
        else:
            raise AssertionRefused(f"AADSTS5002730: The signing algorithm {algorithm!r} is not supported.")
        try:
            certificate.public_key.verify(signature, signed, scheme, hashes.SHA256())
        except InvalidSignature:
            raise AssertionRefused("AADSTS7000274: The client assertion signature is invalid.") from None

    def _check_claims(self, claims: dict[str, Any], *, client_id: str, audience: str) -> None:
        if claims.get("aud") != audience:
            raise AssertionRefused(f"AADSTS50013: The assertion audience must be {audience}.")
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise AssertionRefused("AADSTS700021: The assertion's iss and sub must be the client id.")
        now = self.clock.now().timestamp()
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, int) or exp + _SKEW < now:
            raise AssertionRefused("AADSTS700024: The client assertion is expired or has no exp.")
        if isinstance(nbf, int) and nbf - _SKEW > now:
            raise AssertionRefused("AADSTS700024: The client assertion is not valid yet.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AssertionRefused("AADSTS700025: The client assertion has no jti.")
        with self._lock:
            if jti in self._seen:
                raise AssertionRefused("AADSTS700025: The client assertion was already used (replayed jti).")
            self._seen.add(jti)
