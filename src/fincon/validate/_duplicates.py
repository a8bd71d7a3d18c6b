"""Duplicate-invoice detection: pairs of bills (or invoices) that may be the same document entered twice."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from fincon.models import Bill, Invoice, Ref
from fincon.transform import normalize_vendor_name
from fincon.validate._document_numbers import document_number_distance, normalize_document_number

__all__ = ["DuplicateCandidate", "find_duplicate_invoices"]

Document = Bill | Invoice

# Weights of the signals; a pair's score is the sum of those that hold (at most 1.0).
_SAME_PARTY = 0.3
_SAME_NUMBER = 0.4
_NEAR_NUMBER = 0.25
_SAME_AMOUNT = 0.2
_CLOSE_DATES = 0.1


@dataclass(frozen=True)
class DuplicateCandidate:
    """Two documents that may be duplicates, with a score from 0 to 1 and the signals behind it."""

    first: Document
    """The earlier document in the input."""
    second: Document
    """The later document in the input."""
    score: float
    """Sum of the signals' weights: party 0.3, number 0.4 (near number 0.25), amount 0.2, dates 0.1."""
    reasons: tuple[str, ...]
    """The signals that hold, in words."""


def _party(document: Document) -> Ref | None:
    return document.vendor if isinstance(document, Bill) else document.customer


def _party_keys(document: Document) -> set[str]:
    party = _party(document)
    keys: set[str] = set()
    if party is not None and party.id:
        keys.add(f"id:{party.id}")
    if party is not None and party.name:
        keys.add(f"name:{normalize_vendor_name(party.name)}")
    return keys


def _score(
    a: Document, b: Document, keys: dict[int, set[str]], tolerance: Decimal, window: int
) -> tuple[float, list[str]]:
    score, reasons = 0.0, []
    if keys[id(a)] & keys[id(b)]:
        score += _SAME_PARTY
        reasons.append("same vendor" if isinstance(a, Bill) else "same customer")
    if a.number and b.number:
        distance = document_number_distance(a.number, b.number)
        if distance == 0:
            score += _SAME_NUMBER
            reasons.append(f"same number ({a.number!r} / {b.number!r})")
        elif distance == 1 and min(len(normalize_document_number(n)) for n in (a.number, b.number)) >= 4:
            score += _NEAR_NUMBER
            reasons.append(f"numbers differ by one typo or swap ({a.number!r} / {b.number!r})")
    if (
        a.total is not None
        and b.total is not None
        and a.total.currency == b.total.currency
        and abs(a.total.amount - b.total.amount) <= tolerance
    ):
        score += _SAME_AMOUNT
        reasons.append(f"same amount ({a.total} / {b.total})")
    if (
        a.issue_date is not None
        and b.issue_date is not None
        and abs((a.issue_date - b.issue_date).days) <= window
    ):
        score += _CLOSE_DATES
        reasons.append(f"dates within {window} days ({a.issue_date} / {b.issue_date})")
    return round(score, 4), reasons


def find_duplicate_invoices(
    documents: Sequence[Document],
    *,
    amount_tolerance: Decimal = Decimal("0"),
    date_window_days: int = 7,
    min_score: float = 0.6,
) -> list[DuplicateCandidate]:
    """Pairs of documents that may be duplicates, best first.

    Signals: same vendor/customer (by id, or by name after ``normalize_vendor_name``), same
    number after removing punctuation and leading zeros (or one typo/swap apart), same total
    within ``amount_tolerance``, issue dates within ``date_window_days``. Pairs scoring at least
    ``min_score`` are returned; the default 0.6 needs e.g. same vendor and number, or same
    vendor, amount and close dates. Only pairs sharing a party, a number or an amount are
    compared, so large sets stay fast.
    """
    keys = {id(document): _party_keys(document) for document in documents}
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, document in enumerate(documents):
        for key in keys[id(document)]:
            blocks[key].append(index)
        if document.number:
            blocks[f"number:{normalize_document_number(document.number)}"].append(index)
        if document.total is not None:
            blocks[f"amount:{document.total.currency}:{document.total.amount.normalize()}"].append(index)
    pairs = {pair for members in blocks.values() for pair in itertools.combinations(sorted(set(members)), 2)}
    candidates: list[DuplicateCandidate] = []
    for i, j in sorted(pairs):
        first, second = documents[i], documents[j]
        if first is second or (first.id is not None and first.id == second.id):
            continue
        score, reasons = _score(first, second, keys, amount_tolerance, date_window_days)
        if score >= min_score:
            candidates.append(DuplicateCandidate(first, second, score, tuple(reasons)))
    return sorted(candidates, key=lambda candidate: -candidate.score)
