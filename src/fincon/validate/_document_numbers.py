"""Document numbers compared the way people mistype them: punctuation, leading zeros, swapped digits."""

from __future__ import annotations

import re

__all__ = ["document_number_distance", "normalize_document_number"]

_DIGIT_RUN = re.compile(r"\d+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


def normalize_document_number(number: str) -> str:
    """A comparison key: upper case, no punctuation or spaces, no leading zeros in digit runs.

    ``"INV-00012"``, ``"inv 12"`` and ``"INV12"`` all give ``"INV12"``.
    """
    stripped = _DIGIT_RUN.sub(lambda run: run.group(0).lstrip("0") or "0", number.upper())
    return _NOT_ALNUM.sub("", stripped)


def document_number_distance(left: str, right: str) -> int:
    """Edits between two normalised numbers; a swap of neighbours counts as one (optimal string alignment)."""
    a, b = normalize_document_number(left), normalize_document_number(right)
    if a == b:
        return 0
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        previous_previous, previous = previous, current
    return previous[len(b)]
