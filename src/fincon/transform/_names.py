"""Vendor-name normalisation and fuzzy matching, for deduplication and reconciliation.

``normalize_vendor_name("ACME Corp., Inc.")`` and ``normalize_vendor_name("Acme Corporation")``
both give ``"acme"``: case, accents, punctuation, ``&``/``and`` and trailing legal forms
(Inc, LLC, Ltd, GmbH, S.A., ...) do not tell two vendors apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import Final, NamedTuple

__all__ = ["NameMatch", "match_names", "name_similarity", "normalize_vendor_name"]

# Legal forms, written as they look after punctuation is removed ("S.A." -> "sa").
_LEGAL_FORM_WORDS = """
    inc incorporated corp corporation co company cos llc llp lllp lp ltd limited plc pllc pc
    pty pvt gmbh mbh ag kg kgaa ohg ug ev se sa sas sarl sasu sca snc sl slu spa srl sro as asa
    ab oy oyj bv bvba nv vof cv aps kk ooo zao oao pjsc jsc sdn bhd tbk lda ltda eirl sapi sab
    de rl"""
_LEGAL_FORMS: Final = frozenset(_LEGAL_FORM_WORDS.split())
# Tokens dropped only when they end the name, after a legal form ("Smith & Co" -> "smith").
_TRAILING_JOINERS: Final = frozenset({"and", "the"})
# Apostrophes and dots join ("O'Brien" -> "obrien", "S.A." -> "sa"); other punctuation separates.
_JOINING = {ord(char): None for char in "'\u2019`\u00b4."}
_SEPARATING = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


def _fold_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalize_vendor_name(name: str) -> str:
    """A comparison key for a company name: lower case, no accents or punctuation, no trailing legal form.

    ``&`` becomes ``and``, a leading ``The`` is dropped, and legal forms are removed only at the
    end and only while something else remains (``"Limited Inc"`` keeps ``"limited"``).
    """
    text = _fold_accents(name).casefold().replace("&", " and ").replace("+", " and ")
    text = _SEPARATING.sub(" ", text.translate(_JOINING))
    tokens = _SPACES.split(text.strip())
    if len(tokens) > 1 and tokens[0] == "the":
        tokens = tokens[1:]
    while len(tokens) > 1 and (tokens[-1] in _LEGAL_FORMS or tokens[-1] in _TRAILING_JOINERS):
        tokens.pop()
    return " ".join(tokens)


def name_similarity(left: str, right: str) -> float:
    """How alike two company names are, from 0.0 to 1.0 (1.0: equal after normalisation).

    The better of a character-sequence ratio and a word-order-insensitive ratio, so that
    ``"Acme Industrial Supply"`` and ``"Industrial Supply Acme"`` score high.
    """
    a, b = normalize_vendor_name(left), normalize_vendor_name(right)
    if a == b:
        return 1.0 if a else 0.0
    direct = SequenceMatcher(None, a, b).ratio()
    a_sorted, b_sorted = " ".join(sorted(a.split())), " ".join(sorted(b.split()))
    reordered = SequenceMatcher(None, a_sorted, b_sorted).ratio()
    # Equal squashed forms ("wal mart" / "walmart") are the same name spaced differently.
    squashed = 0.95 if a.replace(" ", "") == b.replace(" ", "") else 0.0
    return round(max(direct, reordered, squashed), 4)


class NameMatch(NamedTuple):
    """A candidate name with its similarity score to the name searched for."""

    candidate: str
    """The candidate as given."""
    score: float
    """Similarity from 0.0 to 1.0."""


def match_names(
    name: str, candidates: Iterable[str], *, threshold: float = 0.85, limit: int | None = 5
) -> list[NameMatch]:
    """Candidates scoring at least ``threshold`` against ``name``, best first (ties keep input order)."""
    scored = [NameMatch(candidate, name_similarity(name, candidate)) for candidate in candidates]
    matches = sorted((m for m in scored if m.score >= threshold), key=lambda match: -match.score)
    return matches if limit is None else matches[:limit]
