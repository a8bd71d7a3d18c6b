"""Checking and registering the values a strategy is given.

Every secret a strategy receives is registered with :mod:`fincon.core.redaction` the moment
it arrives (constructor arguments, fetched tokens, session ids), and is kept as a
:class:`pydantic.SecretStr` so that no repr, traceback or debugger shows it. Error
messages name the offending *field*, never its value.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from pydantic import SecretStr

from fincon.errors import ValidationError

__all__ = ["Retired", "check_text", "register", "scrub", "validate_secret"]


def register(*values: str | None) -> None:
    """Register every non-empty value with the process-wide redaction registry."""
    from fincon.core.redaction import register_secret

    for value in values:
        # An empty string must never be registered: it would "redact" everything.
        if value:
            register_secret(value)


class Retired:
    """Forgets replaced secrets (old access tokens, assertions, session ids) after a delay.

    Each renewal registers a new secret; without forgetting old ones the redaction registry
    of a long-running process would grow forever. The last ``keep`` replaced generations
    stay registered, because requests still in flight may log them.
    """

    __slots__ = ("_lock", "_values")

    def __init__(self, keep: int = 2) -> None:
        self._lock = threading.Lock()
        self._values: deque[tuple[str, ...]] = deque(maxlen=keep)

    def retire(self, *values: str | None) -> None:
        """Mark ``values`` as replaced; the generation ``keep`` renewals older is forgotten."""
        from fincon.core.redaction import forget_secret

        generation = tuple(v for v in values if v)
        with self._lock:
            evicted = self._values[0] if len(self._values) == self._values.maxlen else ()
            self._values.append(generation)
        for value in evicted:
            if value not in generation:
                forget_secret(value)


def _problem(text: str, *, header_safe: bool, multiline: bool = False) -> str | None:
    allowed = "\r\n" if multiline else ""
    if any((ord(c) < 0x20 or ord(c) == 0x7F) and c not in allowed for c in text):
        return "contains a control character (a stray newline or tab?)"
    if header_safe:
        if text != text.strip():
            return "has leading or trailing whitespace"
        if not text.isascii():
            return "contains non-ASCII characters, which cannot be sent in an HTTP header"
    return None


def check_text(value: object, field: str, *, owner: str, header_safe: bool = False) -> str:
    """Validate a non-secret text setting (a client id, a header name) and return it."""
    if not isinstance(value, str):
        raise ValidationError(f"{owner}: {field} must be a string", field=field)
    if not value:
        raise ValidationError(f"{owner}: {field} is empty", field=field)
    problem = _problem(value, header_safe=header_safe)
    if problem is not None:
        raise ValidationError(f"{owner}: {field} {problem}", field=field)
    return value


def validate_secret(
    value: object,
    field: str,
    *,
    owner: str,
    header_safe: bool = False,
    allow_empty: bool = False,
    multiline: bool = False,
) -> SecretStr:
    """Validate a secret (``str`` or ``SecretStr``), register it for redaction and wrap it.

    For connector authors building their own strategies (a :class:`SessionAuth` login, say).
    ``header_safe`` additionally refuses surrounding whitespace and non-ASCII text, for
    values that travel in HTTP headers; ``multiline`` allows line breaks (PEM keys).
    Errors name ``field`` and ``owner``, never the value.
    """
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        # Only the type is named: the value may be a secret of the wrong type (bytes).
        raise ValidationError(
            f"{owner}: {field} must be a string or SecretStr, not {type(value).__name__}", field=field
        )
    if not value and not allow_empty:
        raise ValidationError(f"{owner}: {field} is empty", field=field)
    problem = _problem(value, header_safe=header_safe, multiline=multiline)
    if problem is not None:
        raise ValidationError(f"{owner}: {field} {problem}", field=field)
    register(value)
    return SecretStr(value)


def scrub(text: str, secrets: Iterable[str], *, limit: int = 200) -> str:
    """``text`` (from a server) with every known secret masked, shortened to ``limit`` characters.

    ``secrets`` are masked even if too short for the process-wide registry, which masks the rest.
    """
    from fincon.core.redaction import redact

    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = redact(text)
    # Keep the message one readable line, whatever the server sent.
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
