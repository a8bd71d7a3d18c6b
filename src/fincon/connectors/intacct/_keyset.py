"""Continuing a listing after the last ``RECORDNO`` seen, not at an offset.

An offset counts records: when one is deleted (or inserted) before the listing's position
between two pages, every later record shifts by one and the next page skips (or repeats)
one. ``RECORDNO > last seen`` with ``orderby RECORDNO`` names the position by a record
instead, so changes elsewhere in the collection cannot move it. ``RECORDNO`` is a positive
integer on every Intacct object; 0 is "before the first record".

``readByQuery`` has no ``orderby``, so a ``readMore`` result set can be continued this
way only when its pages came in ``RECORDNO`` order: :func:`last_in_order` tells, and a
result set that did not is never continued by ``RECORDNO`` (that could skip records).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fincon.errors import PaginationError, ServerError

__all__ = ["cursor_recordno", "last_in_order", "last_recordno"]

SYSTEM = "intacct"


def _recordno(record: Any) -> int | None:
    # The first RECORDNO child, as ``record.find("RECORDNO")`` finds it, by a plain walk of
    # the children: it runs for every listed record, and RECORDNO comes first in Intacct's
    # records, where find()'s path machinery costs several times more.
    for child in record:
        if child.tag == "RECORDNO":
            text = child.text or ""
            return int(text) if text.isascii() and text.isdigit() else None
    return None


def last_recordno(records: Iterable[Any], after: int | None, *, object: str) -> int | None:
    """The last ``RECORDNO`` of a ``query`` page ordered by ``RECORDNO`` (None if empty).

    The page must be strictly ascending and above ``after``: anything else means the server
    did not honour the filter or order, and continuing from it could skip records.
    """
    last = after
    for record in records:
        number = _recordno(record)
        if number is None or (last is not None and number <= last):
            raise ServerError(
                f"Intacct sent {object} records out of RECORDNO order after {last}: "
                "the listing cannot continue exactly",
                system=SYSTEM,
                retryable=False,
            )
        last = number
    return last


def last_in_order(records: Iterable[Any], after: int | None) -> int | None:
    """The last ``RECORDNO`` of a ``readByQuery``/``readMore`` page if the result set is in
    ``RECORDNO`` order so far (every one above ``after``, ascending), else None.

    ``after`` None means an earlier page was out of order: the result set stays unordered.
    """
    if after is None:
        return None
    last = after
    for record in records:
        number = _recordno(record)
        if number is None or number <= last:
            return None
        last = number
    return last


def cursor_recordno(value: Any) -> int:
    """The ``after`` of a cursor state: a ``RECORDNO`` (or 0), refused if anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PaginationError(f"an Intacct cursor holds after={value!r}, not a RECORDNO", system=SYSTEM)
    return value
