"""The cassette scrubber: masks credentials in vcrpy requests and responses.

Internal to :mod:`fincon.testing.cassettes`, which re-exports :class:`CassetteScrubber`.
"""

from __future__ import annotations

import copy as copying
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from fincon.core.redaction import redact
from fincon.errors import ConfigError
from fincon.testing._cassette_bodies import decode_content, scrub_body
from fincon.testing._cassette_rules import MASK, NameRules
from fincon.testing._cassette_secrets import MIN_SECRET_LENGTH, AccountMatcher, SecretMatcher
from fincon.testing._cassette_text import TextRules

__all__ = ["CassetteScrubber"]

_OAUTH_PARAMETER = re.compile(
    r"(?P<name>oauth_[a-z_]+)(?P<eq>\s*=\s*)(?P<value>\"[^\"]*\"|[^,\s]*)", re.IGNORECASE
)
_OAUTH_SECRETS = frozenset(
    {
        "oauth_signature",
        "oauth_token",
        "oauth_consumer_key",
        "oauth_nonce",
        "oauth_verifier",
        "oauth_body_hash",
    }
)


class CassetteScrubber:
    """Masks credentials in vcrpy requests and responses before they are written to a cassette.

    By default it masks authorization headers (keeping the shape of OAuth 1.0a headers), cookies,
    API-key, CSRF, session and ``Stripe-Account`` headers, sensitive query parameters and URL
    userinfo, OAuth token responses, credential fields in form and JSON bodies, passwords,
    session ids and ``<tokenPassport>`` credentials in XML bodies, and every secret registered
    with :func:`fincon.core.redaction.register_secret`. Compressed (gzip, deflate) bodies are
    decoded and stored decoded.

    Args:
        extra_secrets: more values to mask wherever they occur, in any encoding.
        account_ids: account ids to replace by ``account-1``, ``account-2``, ... everywhere.
        headers: more header names whose whole value is masked.
        fields: more query, form and JSON field names whose values are masked.
        xml_elements: more XML element (or attribute) local names whose content is masked.

    Scrubbing is deterministic and idempotent, so vcrpy can match scrubbed live requests
    against scrubbed recorded ones.
    """

    def __init__(
        self,
        *,
        extra_secrets: Iterable[str] = (),
        account_ids: Iterable[str] = (),
        headers: Iterable[str] = (),
        fields: Iterable[str] = (),
        xml_elements: Iterable[str] = (),
    ) -> None:
        self.extra_secrets = tuple(extra_secrets)
        for index, secret in enumerate(self.extra_secrets):
            if len(secret) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    f"extra_secrets[{index}] is shorter than {MIN_SECRET_LENGTH} characters: masking it "
                    "would garble the cassette; add a field, header or XML rule for where it appears instead"
                )
        self.account_ids = tuple(account_ids)
        self.names = NameRules.build(fields=fields, headers=headers, xml=xml_elements)
        self._text = TextRules(self.names)
        self._secrets = SecretMatcher(self.extra_secrets)
        self._accounts = AccountMatcher(self.account_ids)

    # -- text -----------------------------------------------------------------------------------

    def scrub_text(self, text: str) -> str:
        """Mask credentials in free text (an error message, a log line, a body of unknown type)."""
        return self._finish(self._text.scrub(self._finish(text)))

    def scrub_url(self, url: str) -> str:
        """Mask a URL's userinfo, sensitive parameters, secrets and account ids."""
        return self._finish(self._text.scrub_url(self._finish(url)))

    def _finish(self, text: str) -> str:
        # Known secrets and account ids, masked before the rules (which could cut through a
        # secret such as "abc&secret=1") and again after them.
        text = redact(text)
        if self._secrets:
            text = self._secrets.sub(text)
        return self._accounts.sub(text)

    def _finish_bytes(self, data: bytes) -> bytes:
        # Registered secrets: Latin-1 maps every byte to one character, so ASCII spellings line up.
        data = redact(data.decode("latin-1")).encode("latin-1")
        if self._secrets:
            data = self._secrets.sub_bytes(data)
        return self._accounts.sub_bytes(data)

    # -- headers --------------------------------------------------------------------------------

    def scrub_header(self, name: str, value: str) -> str:
        """The value of header ``name`` as it may be written to a cassette."""
        lowered = name.lower()
        if lowered in ("authorization", "proxy-authorization"):
            value = _scrub_authorization(value)
        elif lowered == "cookie":
            value = "; ".join(_mask_cookie(pair.strip()) for pair in value.split(";") if pair.strip())
        elif lowered == "set-cookie":
            cookie, separator, attributes = value.partition(";")
            value = _mask_cookie(cookie) + separator + attributes
        elif self.names.is_header(lowered):
            value = MASK
        return self.scrub_text(value)

    # -- bodies ---------------------------------------------------------------------------------

    def scrub_body(self, body: bytes, content_type: str = "") -> bytes:
        """Mask credentials in an (already decoded) body; the content type guides parsing."""
        return scrub_body(body, content_type, self._text, self._finish, self._finish_bytes)

    # -- vcrpy objects --------------------------------------------------------------------------

    def scrub_request(self, request: Any, *, copy: bool = True) -> Any:
        """Scrub a ``vcr.request.Request``: URI, headers and body (returns a scrubbed copy by default)."""
        if request is None:
            return None
        if copy:
            request = copying.deepcopy(request)
        request.uri = self.scrub_url(request.uri)
        headers = dict(request.headers.items())
        body = _request_body(request)
        if isinstance(body, dict):
            request.body = json.loads(self.scrub_body(json.dumps(body).encode("utf-8"), "application/json"))
        elif isinstance(body, (bytes, str)) and body:
            raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            scrubbed = self._scrub_encoded_body(raw, headers)
            request.body = [scrubbed] if getattr(request, "_was_iter", False) else scrubbed
        request.headers = {name: self.scrub_header(name, str(value)) for name, value in headers.items()}
        return request

    def scrub_response(self, response: Any, *, copy: bool = True) -> Any:
        """Scrub a vcrpy response dict: headers, body, status message (a scrubbed copy by default)."""
        if not isinstance(response, dict):
            return response
        if copy:
            response = copying.deepcopy(response)
        raw_headers = response.get("headers")
        headers: dict[str, list[str]] = {}
        if isinstance(raw_headers, Mapping):
            headers = {
                str(name): [str(item) for item in value] if isinstance(value, (list, tuple)) else [str(value)]
                for name, value in raw_headers.items()
            }
        holder = response.get("body")
        if isinstance(holder, dict) and holder.get("string"):
            holder["string"] = self._scrub_stored_body(holder["string"], headers)
        if response.get("content"):  # httpx cassettes written by old vcrpy versions
            response["content"] = self._scrub_stored_body(response["content"], headers)
        if raw_headers is not None:
            response["headers"] = {
                name: [self.scrub_header(name, value) for value in values] for name, values in headers.items()
            }
        status = response.get("status")
        if isinstance(status, dict) and isinstance(status.get("message"), str):
            status["message"] = self.scrub_text(status["message"])
        if isinstance(response.get("url"), str):
            response["url"] = self.scrub_url(response["url"])
        return response

    def _scrub_stored_body(self, body: Any, headers: dict[str, list[str]]) -> Any:
        if isinstance(body, str):
            return self._scrub_encoded_body(body.encode("utf-8"), headers).decode("utf-8", errors="replace")
        if isinstance(body, (bytes, bytearray)):
            return self._scrub_encoded_body(bytes(body), headers)
        return body

    def _scrub_encoded_body(self, body: bytes, headers: dict[str, Any]) -> bytes:
        """Decode any content coding (dropping the header), scrub, and fix ``Content-Length``."""
        encoding_header = _find(headers, "content-encoding")
        if encoding_header is not None:
            codings = [
                coding.strip().lower()
                for value in _values(headers[encoding_header])
                for coding in value.split(",")
                if coding.strip()
            ]
            decoded = decode_content(body, codings)
            if decoded is not None:
                body = decoded
                del headers[encoding_header]
        body = self.scrub_body(
            body, ", ".join(_values(headers.get(_find(headers, "content-type") or "", "")))
        )
        length_header = _find(headers, "content-length")
        if length_header is not None:
            headers[length_header] = (
                [str(len(body))] if isinstance(headers[length_header], list) else str(len(body))
            )
        return body


def _request_body(request: Any) -> Any:
    body = getattr(request, "body_bytes", None)
    if body is None:
        body = request.body
    if hasattr(body, "read"):
        body = body.read()
    return body


def _find(headers: Mapping[str, Any], wanted: str) -> str | None:
    for name in headers:
        if name.lower() == wanted:
            return name
    return None


def _values(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [str(value)] if value else []


def _scrub_authorization(value: str) -> str:
    scheme, separator, credentials = value.strip().partition(" ")
    if not separator or not credentials.strip():
        return MASK
    if scheme.lower() == "oauth":
        return f"{scheme} {_OAUTH_PARAMETER.sub(_mask_oauth_parameter, credentials)}"
    return f"{scheme} {MASK}"


def _mask_oauth_parameter(match: re.Match[str]) -> str:
    if match.group("name").lower() not in _OAUTH_SECRETS:
        return match.group()
    value = match.group("value")
    masked = f'"{MASK}"' if value.startswith('"') else MASK
    return f"{match.group('name')}{match.group('eq')}{masked}"


def _mask_cookie(pair: str) -> str:
    name, equals, _value = pair.partition("=")
    return f"{name}{equals}{MASK}" if equals else pair
