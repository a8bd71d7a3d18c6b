"""Secrets and account ids in every spelling they take in a cassette.

Internal to :mod:`fincon.testing.cassettes`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

from fincon.core.redaction import base64_fragments, text_forms
from fincon.errors import ConfigError
from fincon.testing._cassette_rules import MASK

__all__ = ["MIN_SECRET_LENGTH", "AccountMatcher", "SecretMatcher", "secret_forms"]

MIN_SECRET_LENGTH = 6
MIN_ACCOUNT_ID_LENGTH = 4


def secret_forms(secret: str) -> tuple[frozenset[str], frozenset[str]]:
    """The spellings of ``secret`` in a cassette: ``(text forms, Base64 fragments)``.

    Text forms (verbatim, percent-encoded, JSON-, XML- and ``repr``-escaped) compare without
    regard to case, since hosts and percent escapes change case; Base64 fragments (the characters
    that encode the secret at each of the three byte alignments, as inside ``Basic`` credentials)
    compare exactly.
    """
    forms = text_forms(secret)
    fragments = {
        fragment
        for fragment in base64_fragments(secret.encode("utf-8"))
        if len(fragment) >= MIN_SECRET_LENGTH
    }
    return forms, frozenset(fragments - forms)


def _alternation(forms: Iterable[str]) -> str:
    return "|".join(re.escape(form) for form in sorted(set(forms), key=lambda form: (-len(form), form)))


class SecretMatcher:
    """Finds and masks a fixed set of secrets in any of their encoded forms, in text and bytes."""

    def __init__(self, secrets: Iterable[str]) -> None:
        text_forms: set[str] = set()
        fragments: set[str] = set()
        for secret in secrets:
            forms, b64 = secret_forms(secret)
            text_forms |= forms
            fragments |= b64
        self._text = [re.compile(_alternation(text_forms), re.IGNORECASE)] if text_forms else []
        self._text += [re.compile(_alternation(fragments))] if fragments else []
        self._bytes = [
            re.compile(pattern.pattern.encode("utf-8"), pattern.flags & re.IGNORECASE)
            for pattern in self._text
        ]

    def __bool__(self) -> bool:
        return bool(self._text)

    def sub(self, text: str) -> str:
        """``text`` with every form of every secret replaced by ``***``."""
        for pattern in self._text:
            text = pattern.sub(MASK, text)
        return text

    def sub_bytes(self, data: bytes) -> bytes:
        """Like :meth:`sub`, on bytes (the UTF-8 spellings)."""
        for pattern in self._bytes:
            data = pattern.sub(MASK.encode(), data)
        return data

    def search(self, text: str) -> bool:
        """Whether any form of any secret occurs in ``text``."""
        return any(pattern.search(text) for pattern in self._text)

    def search_bytes(self, data: bytes) -> bool:
        """Whether any UTF-8 spelling of any secret occurs in ``data``."""
        return any(pattern.search(data) for pattern in self._bytes)


class AccountMatcher:
    """Replaces account ids by stable placeholders (``account-1``, ``account-2``, ...).

    Matching ignores case and treats ``-`` and ``_`` alike, since NetSuite writes account
    ``1234567_SB1`` as ``1234567-sb1`` in host names.
    """

    def __init__(self, account_ids: Iterable[str]) -> None:
        pairs: list[tuple[str, str]] = []
        for number, account in enumerate(account_ids, start=1):
            if len(account) < MIN_ACCOUNT_ID_LENGTH:
                raise ConfigError(
                    f"scrub_account_ids[{number - 1}] is shorter than {MIN_ACCOUNT_ID_LENGTH} characters: "
                    "masking it would garble the cassette"
                )
            pairs.append((account, f"account-{number}"))
        pairs.sort(key=lambda pair: -len(pair[0]))
        self._text = [
            (re.compile(_account_pattern(account), re.IGNORECASE), label) for account, label in pairs
        ]
        self._bytes = [
            (re.compile(pattern.pattern.encode("utf-8"), re.IGNORECASE), label.encode())
            for pattern, label in self._text
        ]

    def sub(self, text: str) -> str:
        """``text`` with every account id replaced by its placeholder."""
        for pattern, label in self._text:
            text = pattern.sub(label, text)
        return text

    def sub_bytes(self, data: bytes) -> bytes:
        """Like :meth:`sub`, on bytes."""
        for pattern, label in self._bytes:
            data = pattern.sub(label, data)
        return data


def _account_pattern(account: str) -> str:
    spellings = {account, quote(account, safe="")}
    return "|".join(
        "".join("[-_]" if char in "-_" else re.escape(char) for char in spelling)
        for spelling in sorted(spellings, key=len, reverse=True)
    )
