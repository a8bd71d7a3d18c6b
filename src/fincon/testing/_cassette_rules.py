"""What counts as sensitive in a cassette: field, header and XML element names.

Internal to :mod:`fincon.testing.cassettes`, as are its siblings ``_cassette_secrets`` (secrets
and account ids in all their spellings), ``_cassette_text`` (format-preserving masking of any
text), ``_cassette_bodies``, ``_cassette_scrub`` and ``_cassette_guard``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fincon.core.redaction import MASK, SENSITIVE_HEADER_WORDS, SENSITIVE_HEADERS
from fincon.errors import FinconError

__all__ = ["MASK", "PASSPORT", "PASSPORT_CHILDREN", "CassetteLeak", "NameRules", "normalise"]


class CassetteLeak(FinconError):
    """A cassette was refused because it would, or could, carry a secret.

    Raised when a planted canary (or a registered or extra secret) would still be written after
    scrubbing, and when a body cannot be decoded to be scrubbed (an unsupported
    ``Content-Encoding``). Nothing is written. The message names where the value was found
    (``interaction 2 request body``), never the value itself; ``locations`` lists those places.
    """

    def __init__(self, message: str, *, locations: Iterable[str] = ()) -> None:
        super().__init__(message, code="cassette_leak")
        self.locations = tuple(locations)


_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def normalise(name: str) -> str:
    """``"Access-Token"``, ``"access_token"`` and ``"accessToken"`` all become ``"accesstoken"``."""
    return _NOT_ALNUM.sub("", name.lower())


# Field names (query parameters, form fields, key=value pairs), normalised.
_FIELDS = frozenset(
    {
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "token",
        "authtoken",
        "oauthtoken",
        "oauthtokensecret",
        "oauthsignature",
        "oauthconsumerkey",
        "oauthnonce",
        "oauthverifier",
        "oauthbodyhash",
        "apikey",
        "key",
        "clientsecret",
        "clientassertion",
        "assertion",
        "password",
        "passwd",
        "pwd",
        "secret",
        "sig",
        "signature",
        "code",
        "codeverifier",
        "sessionid",
        "session",
        "sid",
        "auth",
        "authorization",
        "xamzcredential",
        "xamzsecuritytoken",
        "xamzsignature",
        "subscriptionkey",
        "devkey",
        "userpassword",
        "senderpassword",
        "privatekey",
        "consumerkey",
        "consumersecret",
        "tokensecret",
        "credential",
        "credentials",
    }
)
# In JSON these names usually carry data (an error code, a record key), not credentials.
_NOT_JSON_FIELDS = frozenset({"code", "key", "sid"})
_FIELD_WORDS = ("token", "secret", "password", "passwd", "signature", "session", "apikey", "credential")
# Names that contain a sensitive word but describe a credential or page through results.
_PUBLIC_FIELDS = frozenset(
    {
        "pagetoken",
        "nextpagetoken",
        "prevpagetoken",
        "previouspagetoken",
        "pagingtoken",
        "paginationtoken",
        "nexttoken",
        "skiptoken",
        "deltatoken",
        "synctoken",
        "continuationtoken",
    }
)
_PUBLIC_TOKENS = tuple(sorted(_PUBLIC_FIELDS))
_PUBLIC_SUFFIXES = (
    "type",
    "typehint",
    "method",
    "algorithm",
    "expiresin",
    "expiresat",
    "expiry",
    "expiration",
    "timeout",
    "duration",
)

# Redaction's sensitive headers, plus what a cassette must hide besides credentials.
_HEADERS = SENSITIVE_HEADERS | {"stripe-account"}
_HEADER_WORDS = (*SENSITIVE_HEADER_WORDS, "auth", "cookie")
# Challenges and idempotency keys: needed to understand a recording, not credentials.
_PUBLIC_HEADERS = frozenset({"www-authenticate", "proxy-authenticate", "authentication-info"})

# XML element (and attribute) local names, normalised, masked wherever they occur.
_XML_ELEMENTS = frozenset(
    {
        "password",
        "userpassword",
        "senderpassword",
        "sessionid",
        "clientsecret",
        "consumersecret",
        "tokensecret",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "apikey",
        "privatekey",
        "secret",
    }
)
_XML_WORDS = ("password", "secret")
#: Children of a SOAP ``<tokenPassport>`` (NetSuite token-based auth) that are credentials.
PASSPORT = "tokenpassport"
PASSPORT_CHILDREN = frozenset({"consumerkey", "token", "signature", "nonce"})


@dataclass(frozen=True)
class NameRules:
    """Which names are sensitive: the defaults plus the user's additions (all normalised)."""

    fields: frozenset[str] = _FIELDS
    json_fields: frozenset[str] = _FIELDS - _NOT_JSON_FIELDS
    headers: frozenset[str] = _HEADERS
    xml_elements: frozenset[str] = _XML_ELEMENTS

    @classmethod
    def build(
        cls, *, fields: Iterable[str] = (), headers: Iterable[str] = (), xml: Iterable[str] = ()
    ) -> NameRules:
        """The default rules extended with more field, header and XML element names."""
        extra = {normalise(name) for name in fields}
        return cls(
            fields=_FIELDS | extra,
            json_fields=(_FIELDS - _NOT_JSON_FIELDS) | extra,
            headers=_HEADERS | {name.lower() for name in headers},
            xml_elements=_XML_ELEMENTS | {normalise(name) for name in xml},
        )

    # Decisions are memoised: a large body repeats the same few names thousands of times.
    _memo: dict[tuple[str, str], bool] = field(default_factory=dict, init=False, compare=False, repr=False)

    def _decide(self, kind: str, name: str, decide: Callable[[str], bool]) -> bool:
        decision = self._memo.get((kind, name))
        if decision is None:
            if len(self._memo) > _MEMO_SIZE:
                self._memo.clear()
            decision = self._memo[(kind, name)] = decide(name)
        return decision

    def is_field(self, name: str) -> bool:
        """Whether a query parameter, form field or ``key=value`` name carries a credential."""
        return self._decide("field", name, self._is_field)

    def is_json_field(self, name: str) -> bool:
        """Whether a JSON member name carries a credential (``code`` and ``key`` do not, there)."""
        return self._decide("json", name, self._is_json_field)

    def is_header(self, name: str) -> bool:
        """Whether a header's whole value is a credential."""
        return self._decide("header", name, self._is_header)

    def is_xml_element(self, local_name: str) -> bool:
        """Whether an XML element or attribute (by local name) holds a credential anywhere."""
        return self._decide("xml", local_name, self._is_xml_element)

    def _is_field(self, name: str) -> bool:
        key = normalise(name)
        return key in self.fields or _is_credential_like(key)

    def _is_json_field(self, name: str) -> bool:
        key = normalise(name)
        return key in self.json_fields or _is_credential_like(key)

    def _is_header(self, name: str) -> bool:
        lowered = name.lower()
        if lowered in self.headers:
            return True
        if lowered in _PUBLIC_HEADERS or lowered.endswith("idempotency-key"):
            return False
        return any(word in lowered for word in _HEADER_WORDS)

    def _is_xml_element(self, local_name: str) -> bool:
        key = normalise(local_name)
        if key in self.xml_elements or any(word in key for word in _XML_WORDS):
            return True
        # <authToken>, <sessionToken>: yes; a bare <token> only inside a <tokenPassport>.
        return key.endswith("token") and key != "token" and not key.endswith(_PUBLIC_TOKENS)


_MEMO_SIZE = 65536


def _is_credential_like(key: str) -> bool:
    if key in _PUBLIC_FIELDS or key.endswith(_PUBLIC_SUFFIXES):
        return False
    return any(word in key for word in _FIELD_WORDS)
