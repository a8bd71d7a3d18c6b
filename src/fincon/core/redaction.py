"""Keeping secrets out of logs, exception texts and audit lines.

Auth strategies register every secret they hold (API keys, client secrets, passwords, access and
refresh tokens) with :func:`register_secret`. From then on :func:`redact` replaces the secret by
``***`` wherever it occurs in a text: verbatim, URL-encoded, JSON- or ``repr``-escaped, and inside
Base64 (as in ``Authorization: Basic ...``).

:class:`RedactingFilter` applies :func:`redact` to log records; :func:`install_log_redaction`
installs it for the ``fincon`` logger tree. fincon calls ``install_log_redaction()`` when its core
transport is imported, so every record logged under ``fincon.*`` is redacted whatever handlers
the application adds later.

Structural masking needs no registration: :func:`redact_headers` masks sensitive HTTP headers
and :func:`redact_url` masks credentials in URLs.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import struct
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "SENSITIVE_HEADERS",
    "SENSITIVE_HEADER_WORDS",
    "RedactingFilter",
    "base64_fragments",
    "forget_secret",
    "install_log_redaction",
    "redact",
    "redact_headers",
    "redact_url",
    "register_secret",
    "text_forms",
]

#: What a secret is replaced by.
MASK = "***"

# Shorter values are ignored: masking "admin" or "12345" would garble ordinary text.
_MIN_SECRET_LENGTH = 6

_URLSAFE = str.maketrans("+/", "-_")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


class _GramIndex:
    """Finds which registered forms a text may contain, in one C-level pass.

    A form of at least ``2 * size - 1`` bytes (in UTF-8) fully contains one of the text's aligned
    ``size``-byte chunks (at offsets 0, size, 2*size, ...). Reading those chunks as native integers
    (``memoryview.cast``) and looking them up among every ``size``-byte gram of every form finds
    every form the text may contain, whatever the number of forms.

    Writers hold ``_registry_lock``; readers need no lock: each of their lookups is one atomic
    dict operation, and the values are immutable tuples replaced whole.
    """

    # Long texts are looked up window by window so a large body logged at DEBUG stays cheap.
    WINDOW = 1 << 16

    def __init__(self, fmt: Literal["I", "Q"]) -> None:
        self.format: Literal["I", "Q"] = fmt
        self.size = struct.calcsize(fmt)
        self.min_length = 2 * self.size - 1
        self.holders: dict[int, tuple[str, ...]] = {}  # gram -> the forms containing it

    def grams(self, data: bytes) -> set[int]:
        return {
            int.from_bytes(data[i : i + self.size], sys.byteorder) for i in range(len(data) - self.size + 1)
        }

    def add(self, form: str, data: bytes) -> None:
        for gram in self.grams(data):
            self.holders[gram] = (*self.holders.get(gram, ()), form)

    def remove(self, form: str, data: bytes) -> None:
        for gram in self.grams(data):
            rest = tuple(holder for holder in self.holders.get(gram, ()) if holder != form)
            if rest:
                self.holders[gram] = rest
            else:
                self.holders.pop(gram, None)

    def chunks(self, data: bytes) -> Iterator[list[int]]:
        usable = len(data) - len(data) % self.size
        view = memoryview(data)
        for start in range(0, usable, self.WINDOW):
            yield view[start : min(start + self.WINDOW, usable)].cast(self.format).tolist()

    def candidates(self, data: bytes) -> set[str]:
        """The forms that may occur in ``data`` (false positives possible, false negatives not)."""
        found: set[str] = set()
        holders = self.holders
        if holders:
            for chunks in self.chunks(data):
                for gram in holders.keys() & chunks:  # usually empty: the fast path
                    found.update(holders.get(gram, ()))
        return found


# Forms of 15 bytes or more are found by 8-byte grams, which almost never match by chance; forms
# of 7 to 14 bytes (secrets of up to about 10 characters) need 4-byte grams; 6-byte forms (secrets
# of exactly 6 characters) are few and checked with ``in``.
_wide = _GramIndex("Q")
_narrow = _GramIndex("I")
_registry_lock = threading.Lock()
_secrets: dict[str, frozenset[str]] = {}  # each registered secret -> its forms
_form_counts: Counter[str] = Counter()  # how many registered secrets spell a form (usually 1)
_tiny: tuple[str, ...] = ()


def register_secret(value: str) -> None:
    """Remember ``value`` as a secret: from now on :func:`redact` masks it.

    Empty values and values shorter than 6 characters are ignored. Registering the same value
    twice is harmless. Safe to call from any thread.
    """
    global _tiny
    if len(value) < _MIN_SECRET_LENGTH:
        return
    with _registry_lock:
        if value in _secrets:
            return
        forms = _secrets[value] = _forms(value)
        for form in forms:
            _form_counts[form] += 1
            if _form_counts[form] > 1:
                continue  # another secret has the same spelling: already indexed
            data = _encode(form)
            index = _index_for(data)
            if index is None:
                _tiny = (*_tiny, form)
            else:
                index.add(form, data)


def forget_secret(value: str) -> None:
    """Stop masking ``value`` (for instance an access token that was rotated out long ago).

    Long-running processes that rotate tokens call this so the registry does not grow forever.
    """
    global _tiny
    with _registry_lock:
        forms = _secrets.pop(value, None)
        for form in forms or ():
            _form_counts[form] -= 1
            if _form_counts[form] > 0:
                continue  # another registered secret still has this spelling
            del _form_counts[form]
            data = _encode(form)
            index = _index_for(data)
            if index is None:
                _tiny = tuple(other for other in _tiny if other != form)
            else:
                index.remove(form, data)


def _index_for(data: bytes) -> _GramIndex | None:
    if len(data) >= _wide.min_length:
        return _wide
    return _narrow if len(data) >= _narrow.min_length else None


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def redact(text: str) -> str:
    """Return ``text`` with every registered secret, in any of its encoded forms, replaced by ``***``.

    Cheap when no secret occurs: it runs on every log record.
    """
    if len(text) < _MIN_SECRET_LENGTH or not _secrets:
        return text
    data = _encode(text)
    tiny = _tiny
    forms = [form for form in tiny if form in text] if tiny else []
    forms.extend(_wide.candidates(data))
    forms.extend(_narrow.candidates(data))
    if not forms:
        return text
    spans = [span for form in forms for span in _occurrences(text, form)]
    return _mask(text, spans) if spans else text


def _occurrences(text: str, form: str) -> Iterator[tuple[int, int]]:
    start = text.find(form)
    while start >= 0:  # from start + 1: overlapping occurrences count too
        yield start, start + len(form)
        start = text.find(form, start + 1)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace the union of ``spans`` by ``***`` (overlapping or touching spans become one)."""
    pieces: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if start <= position and pieces:
            position = max(position, end)  # extends the mask just written
            continue
        pieces.append(text[position:start])
        pieces.append(MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def text_forms(secret: str) -> frozenset[str]:
    """The ways ``secret`` is spelled in text: verbatim, percent-encoded (either case),
    JSON-, ``repr``- and XML-escaped. The one list of them (cassettes use it too)."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
    }
    # Some encoders write lower-case percent escapes.
    forms |= {_PERCENT_ESCAPE.sub(lambda m: m.group().lower(), form) for form in forms if "%" in form}
    return frozenset(forms)


def _forms(secret: str) -> frozenset[str]:
    """The ways ``secret`` may be spelled in a log line, a URL, a JSON body or a header."""
    forms = set(text_forms(secret)) | base64_fragments(secret.encode("utf-8"))
    return frozenset(form for form in forms if len(form) >= _MIN_SECRET_LENGTH)


def base64_fragments(data: bytes) -> set[str]:
    """The Base64 characters that encode ``data`` whatever its offset in the encoded input.

    In ``base64("user:" + secret)`` the secret starts at some byte offset; modulo 3 there are only
    three alignments, and for each the characters fully determined by the secret's bits are fixed.
    """
    fragments: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode("ascii")
        first = -(-8 * offset // 6)  # first character free of the padding bytes' bits
        last = 8 * (offset + len(data)) // 6  # end of the characters made only of the data's bits
        fragment = encoded[first:last]
        fragments.add(fragment)
        fragments.add(fragment.translate(_URLSAFE))
    return fragments


SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "ocp-apim-subscription-key",
        "x-csrf-token",
        "apikey",
        "x-apikey",
        "x-xsrf-token",
        "x-amz-security-token",
    }
)
SENSITIVE_HEADER_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "session",
    "signature",
    "key",
    "credential",
)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``headers`` that is safe to log.

    Values of credential-carrying headers (``Authorization``, ``Cookie``, ``X-API-Key``, and any
    header whose name contains ``token``, ``secret``, ``password``, ``session``, ``signature`` or
    ``key``, except ``Idempotency-Key``) become ``***``; other values pass through :func:`redact`.
    Names and order are kept.
    """
    return {name: MASK if _is_sensitive_header(name) else redact(value) for name, value in headers.items()}


def _is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith("idempotency-key"):
        return False  # chosen by the caller, needed to trace retries, not a credential
    return lowered in SENSITIVE_HEADERS or any(word in lowered for word in SENSITIVE_HEADER_WORDS)


_SENSITIVE_PARAMETERS = frozenset(
    {
        "access_token",
        "id_token",
        "refresh_token",
        "token",
        "oauth_token",
        "oauth_signature",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "client_secret",
        "client_assertion",
        "assertion",
        "password",
        "passwd",
        "pwd",
        "secret",
        "sig",
        "signature",
        "code",
        "code_verifier",
        "sessionid",
        "session_id",
        "session",
        "sid",
        "auth",
        "authorization",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
        "subscription-key",
    }
)
_SENSITIVE_PARAMETER_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "signature",
    "session",
    "apikey",
    "api_key",
)


def redact_url(url: str) -> str:
    """Return ``url`` with its credentials masked.

    Masks the password of the userinfo (or the user name of ``key:@host``, the API-key-as-user
    convention), the values of sensitive query and fragment parameters (``access_token``,
    ``api_key``, ``client_secret``, ``code``, ``sig``, ...) and, through :func:`redact`, any
    registered secret anywhere in the URL.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = _redact_netloc(parts.netloc)
    query = _redact_parameters(parts.query)
    fragment = _redact_parameters(parts.fragment) if "=" in parts.fragment else parts.fragment
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, fragment)))


def _redact_netloc(netloc: str) -> str:
    userinfo, at, host = netloc.rpartition("@")
    if not at:
        return netloc
    user, colon, password = userinfo.partition(":")
    if password:
        return f"{user}:{MASK}@{host}"
    if colon:  # "key:@host": the user name is the credential
        return f"{MASK}:@{host}"
    return netloc


def _redact_parameters(query: str) -> str:
    if not query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        if equals and value and _is_sensitive_parameter(unquote_plus(name)):
            pair = f"{name}={MASK}"
        pairs.append(pair)
    return "&".join(pairs)


# Names that contain a sensitive word but describe a credential rather than carry one.
_PUBLIC_PARAMETERS = frozenset({"token_type", "token_type_hint"})


def _is_sensitive_parameter(name: str) -> bool:
    lowered = name.lower()
    if lowered in _PUBLIC_PARAMETERS:
        return False
    return lowered in _SENSITIVE_PARAMETERS or any(word in lowered for word in _SENSITIVE_PARAMETER_WORDS)


# Attributes every LogRecord has; anything else was passed through ``extra=``.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_REDACTED_MARK = "_fincon_redacted"
_exception_formatter = logging.Formatter()


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record through :func:`redact`.

    It formats the message (``msg % args``) and replaces ``msg`` by the redacted text with
    ``args`` cleared; it renders the exception and stack into ``exc_text``/``stack_info``,
    redacted, and drops ``exc_info`` so no handler can re-render the raw exception; and it redacts
    string values passed through ``extra=``. It never rejects a record.

    Attach it to any handler to redact records of other loggers too (``httpx`` logs URLs).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place and keep it."""
        if not getattr(record, _REDACTED_MARK, False):
            _redact_record(record)
        for name in record.__dict__.keys() - _RECORD_ATTRIBUTES:
            value = record.__dict__[name]
            if isinstance(value, str):
                record.__dict__[name] = redact(value)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:
        # A bad format string: logging would print the raw arguments in its error report.
        message = f"{record.msg!s} {record.args!r}"
    record.msg = redact(message)
    record.args = None
    if record.exc_info:
        if not record.exc_text:
            record.exc_text = _exception_formatter.formatException(record.exc_info)
        record.exc_info = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    setattr(record, _REDACTED_MARK, True)


_FILTER = RedactingFilter()
_install_lock = threading.Lock()
_redacted_names: frozenset[str] = frozenset()
_redacted_prefixes: tuple[str, ...] = ()
_factory_installed = False


def install_log_redaction(logger_name: str = "fincon") -> None:
    """Redact every record logged under ``logger_name`` (the logger and its descendants).

    Idempotent. A filter on a logger only sees records logged on that very logger, not those
    propagating from its children, and handlers are often added after import; so besides
    attaching :class:`RedactingFilter` to the logger and its current handlers, this wraps the
    log-record factory (chaining any previous one) to redact records of the logger tree when they
    are created. ``""`` or ``"root"`` covers every logger.

    fincon calls ``install_log_redaction()`` when its core transport is imported.
    """
    global _redacted_names, _redacted_prefixes, _factory_installed
    with _install_lock:
        logger = logging.getLogger(logger_name)
        for target in (logger, *logger.handlers):
            if not any(isinstance(existing, RedactingFilter) for existing in target.filters):
                target.addFilter(_FILTER)
        if logger_name in ("", "root"):
            _redacted_prefixes = ("",)  # every name starts with ""
        else:
            _redacted_names = _redacted_names | {logger_name}
            _redacted_prefixes = (*_redacted_prefixes, f"{logger_name}.")
        if not _factory_installed:
            _wrap_record_factory()
            _factory_installed = True


def _wrap_record_factory() -> None:
    previous = logging.getLogRecordFactory()

    def redacting_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        name = record.name
        if name in _redacted_names or name.startswith(_redacted_prefixes):
            _redact_record(record)
        return record

    logging.setLogRecordFactory(redacting_record_factory)
