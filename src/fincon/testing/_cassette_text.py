"""Format-preserving masking of credentials in any text.

URLs' userinfo and sensitive parameters, bearer and basic tokens, sensitive ``key=value`` pairs,
JSON members and XML elements: applied to every text body (before any parsing, so truncated
and malformed bodies are covered too), header value and error message. Internal to
:mod:`fincon.testing.cassettes`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from fincon.testing._cassette_rules import MASK, PASSPORT_CHILDREN, NameRules, normalise

__all__ = ["TextRules"]

_URL_REST = re.compile(r"://[^\s\"'<>\\`]+")
_BEARER = re.compile(r"\b(Bearer)(\s+)([A-Za-z0-9\-._~+/]{8,}=*)", re.IGNORECASE)
_BASIC = re.compile(r"\b(Basic)(\s+)([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])", re.IGNORECASE)
# In the reversed text: "=", the blanks before it, then the name (up to 128 characters) reversed.
_REVERSED_ASSIGNMENT = re.compile(r"=([ \t]*)([A-Za-z0-9_.:\-\[\]$]{1,128})")
_NOT_NAME_START = "0123456789.:-[]$"
_VALUE_END = re.compile(r"[&\s\"'<>#;,\\]")
_JSON_MEMBER = re.compile(
    r"(?P<key>\"(?P<name>[^\"\\]{1,128})\"\s*:\s*\")(?P<value>[^\"\\]*(?:\\.[^\"\\]*)*)(?P<end>\"|$)",
    re.DOTALL,
)
_ESCAPED_JSON_MEMBER = re.compile(
    r"(?P<key>\\\"(?P<name>[^\"\\]{1,128})\\\"\s*:\s*\\\")(?P<value>(?:[^\"\\]|\\[^\"])*)(?P<end>\\\"|$)",
    re.DOTALL,
)
# Credentials recognisable by their shape, whatever they are called.
_SHAPES = re.compile(
    r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"  # JWT (id tokens, assertions)
    r"|\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}"  # Stripe secret and restricted keys
    r"|\bwhsec_[A-Za-z0-9+/=]{8,}"  # Stripe webhook signing secrets
    r"|-----BEGIN[A-Z ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\:,]*(?:-----END[A-Z ]*PRIVATE KEY-----)?"  # PEM
)
_SHAPE_MARKERS = ("eyj", "sk_live", "sk_test", "rk_live", "rk_test", "whsec_", "private key")
_XML_ELEMENT = re.compile(
    r"(?P<open><(?:[\w.\-]+:)?(?P<local>[\w.\-]+)(?:\s[^<>]*)?(?<!/)>)"
    r"(?P<text>(?:<!\[CDATA\[.*?(?:\]\]>|$)|[^<])*)",
    re.DOTALL,
)


class TextRules:
    """Format-preserving masking of credentials in free text, by name and by shape."""

    def __init__(self, names: NameRules) -> None:
        self.names = names

    def scrub(self, text: str, *, members: bool = True, elements: bool = True) -> str:
        """Mask URLs' credentials, bearer and basic tokens, JWTs, Stripe secret keys, PEM private
        keys, and sensitive ``name=value`` and ``name="value"`` pairs, JSON members and XML elements.

        ``members=False`` and ``elements=False`` skip the JSON-member and XML-element rules, for a
        body whose parse tree is scrubbed instead (they are the slow ones on large bodies).
        """
        if "://" in text:
            text = self._scrub_urls(text)
        lowered = text.lower()
        if any(marker in lowered for marker in _SHAPE_MARKERS):
            text = _SHAPES.sub(MASK, text)
        if "bearer" in lowered:
            text = _BEARER.sub(rf"\1\2{MASK}", text)
        if "basic" in lowered:
            text = _BASIC.sub(self._basic, text)
        if "=" in text:
            text = self._scrub_assignments(text)
        if members and '"' in text:
            text = _JSON_MEMBER.sub(self._member, text)
        if '\\"' in text:
            text = _ESCAPED_JSON_MEMBER.sub(self._member, text)
        if elements:
            text = self.scrub_elements(text)
        return text

    def scrub_elements(self, text: str) -> str:
        """Mask the content of sensitive XML elements, without parsing (for broken XML)."""
        if "<" not in text:
            return text
        # Without a parse tree, a passport's children are masked anywhere in a text that has one.
        passport = "tokenpassport" in text.lower()
        return _XML_ELEMENT.sub(lambda match: self._element(match, passport), text)

    def _scrub_urls(self, text: str) -> str:
        """Scrub every ``http(s)://`` URL in ``text`` (found from its ``://``: fast on large texts)."""
        pieces: list[str] = []
        last = 0
        position = text.find("://")
        while position != -1:
            if text[max(0, position - 5) : position].lower() == "https":
                start = position - 5
            elif text[max(0, position - 4) : position].lower() == "http":
                start = position - 4
            else:
                position = text.find("://", position + 3)
                continue
            match = _URL_REST.match(text, position)
            end = match.end() if match else position + 3
            url = text[start:end]
            if "?" in url or "@" in url or "#" in url:
                scrubbed = self.scrub_url(url)
                if scrubbed != url:
                    pieces += [text[last:start], scrubbed]
                    last = end
            position = text.find("://", end)
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

    def _scrub_assignments(self, text: str) -> str:
        """Mask ``name=value``, ``name="value"`` and ``name = 'value'`` for sensitive names.

        Names are found backwards from each ``=``, in the reversed text: a regular expression
        can then start from the ``=`` (fast), rather than try every position as a name's start.
        """
        length = len(text)
        edits: list[tuple[int, int]] = []
        for match in _REVERSED_ASSIGNMENT.finditer(text[::-1]):
            name = match.group(2)[::-1].lstrip(_NOT_NAME_START)
            if name[:5].lower() == "u0026":  # "&" escaped as \u0026 in a JSON string
                name = name[5:]
            if name and self.names.is_field(name):
                span = _value_span(text, length - 1 - match.start(), spaced=bool(match.group(1)))
                if span is not None:
                    edits.append(span)
        if not edits:
            return text
        pieces: list[str] = []
        last = 0
        for start, end in sorted(edits):
            if end <= last:
                continue
            pieces += [text[last : max(start, last)], MASK]
            last = end
        pieces.append(text[last:])
        return "".join(pieces)

    def scrub_url(self, url: str) -> str:
        """Mask userinfo and sensitive query and fragment parameters, keeping everything else as sent."""
        before_fragment, hash_mark, fragment = url.partition("#")
        base, question_mark, query = before_fragment.partition("?")
        if "@" in base:
            base = _scrub_userinfo(base)
        query = self.scrub_pairs(query)
        if "=" in fragment:
            fragment = self.scrub_pairs(fragment)
        return f"{base}{question_mark}{query}{hash_mark}{fragment}"

    def scrub_pairs(self, encoded: str) -> str:
        """Mask the values of sensitive fields in ``a=1&b=2`` (a query string or a form body)."""
        if not encoded:
            return encoded
        pairs = []
        for pair in encoded.split("&"):
            name, equals, value = pair.partition("=")
            if not equals or not value or value == MASK:
                pairs.append(pair)
                continue
            if self.names.is_field(unquote_plus(name) if "%" in name or "+" in name else name):
                pair = f"{name}={MASK}"
            pairs.append(pair)
        return "&".join(pairs)

    def _basic(self, match: re.Match[str]) -> str:
        token = match.group(3)
        if len(token) % 4 or (token.isalpha() and token.islower()):
            return match.group()
        return f"{match.group(1)}{match.group(2)}{MASK}"

    def _member(self, match: re.Match[str]) -> str:
        value = match.group("value")
        if not value or value == MASK or not self.names.is_json_field(match.group("name")):
            return match.group()
        return f"{match.group('key')}{MASK}{match.group('end')}"

    def _element(self, match: re.Match[str], passport: bool) -> str:
        text = match.group("text")
        if not text.strip() or text == MASK:
            return match.group()
        local = normalise(match.group("local"))
        if self.names.is_xml_element(local) or (passport and local in PASSPORT_CHILDREN):
            return f"{match.group('open')}{MASK}"
        return match.group()


def _value_span(text: str, equals: int, *, spaced: bool) -> tuple[int, int] | None:
    """Where the value assigned at ``text[equals] == "="`` is, if it is one worth masking."""
    length = len(text)
    start = equals + 1
    while start < length and text[start] in " \t":
        start += 1
    quote_mark = (
        text[start : start + 2] if text.startswith(('\\"', "\\'"), start) else text[start : start + 1]
    )
    if quote_mark in ('"', "'", '\\"', "\\'"):  # quoted, or quoted with escaped quotes inside a string
        closing = text.find(quote_mark, start + len(quote_mark))
        if closing == -1 or text.find("\n", start + 1, closing) != -1:
            return None  # no closing quote on this line: not an assignment
        start, end = start + len(quote_mark), closing
        if text[start:end].lstrip()[:1] in (",", ":", "}", "]"):
            return None  # '{"note": "password=", "next": 1}': the quote closed a JSON string
    elif spaced or start != equals + 1:
        return None  # unquoted values follow the "=" directly
    else:
        match = _VALUE_END.search(text, start)
        end = match.start() if match else length
    if end <= start or text[start:end] == MASK:
        return None
    return start, end


def _scrub_userinfo(base: str) -> str:
    """``https://user:***@host/path``; ``https://***@host`` when the user name is the credential."""
    scheme, separator, rest = base.partition("//")
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return base
    user, colon, password = userinfo.partition(":")
    masked = f"{user}:{MASK}" if password else f"{MASK}{colon}"
    return f"{scheme}{separator}{masked}@{host}{slash}{path}"
