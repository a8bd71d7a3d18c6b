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

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from fincon.errors import PaginationError, ServerError

__all__ = ["cursor_recordno", "last_in_order", "last_recordno", "recordnos"]

SYSTEM = "intacct"


def _number(text: str | None) -> int | None:
    text = text or ""
    return int(text) if text.isascii() and text.isdigit() else None


def _recordno(record: Any) -> int | None:
    # The first RECORDNO child, as ``record.find("RECORDNO")`` finds it, by a plain walk of
    # the children (find()'s path machinery costs several times more).
    for child in record:
        if child.tag == "RECORDNO":
            return _number(child.text)
    return None


@cache
def _plain_recordnos() -> Any:
    from lxml import etree

    # Per record element: its first RECORDNO when that holds one text node and nothing else
    # (then the node's text is exactly what ``.text`` gives). Other records give nothing.
    return etree.XPath("*/RECORDNO[1][count(node()) = 1]/text()", smart_strings=False)


def recordnos(records: Sequence[Any], parent: Any = None) -> list[int | None]:
    """The ``RECORDNO`` of each record (None where it has none or it is not a number).

    ``parent``: the element whose element children are exactly ``records`` (a page's
    ``<data>``). Then one XPath call reads every number of the page; it runs for every page
    of every listing, where a walk of each record costs about 2 us a record. When a record's
    RECORDNO is anything but one plain text node the counts differ, and each record is
    walked instead.
    """
    if parent is not None and records:
        texts = _plain_recordnos()(parent)
        if len(texts) == len(records):  # each record gave at most one: they are aligned
            joined = "".join(texts)
            if all(texts) and joined.isascii() and joined.isdigit():
                return list(map(int, texts))  # every one a plain number: converted in C
            return [_number(text) for text in texts]
    return [_recordno(record) for record in records]


def last_recordno(numbers: Iterable[int | None], after: int | None, *, object: str) -> int | None:
    """The last of a ``query`` page's ``RECORDNO`` s (see :func:`recordnos`), the page ordered
    by ``RECORDNO``; ``after`` if it is empty.

    The page must be strictly ascending and above ``after``: anything else means the server
    did not honour the filter or order, and continuing from it could skip records.
    """
    last = after
    for number in numbers:
        if number is None or (last is not None and number <= last):
            raise ServerError(
                f"Intacct sent {object} records out of RECORDNO order after {last}: "
                "the listing cannot continue exactly",
                system=SYSTEM,
                retryable=False,
            )
        last = number
    return last


def last_in_order(numbers: Iterable[int | None], after: int | None) -> int | None:
    """The last of a ``readByQuery``/``readMore`` page's ``RECORDNO`` s if the result set is in
    ``RECORDNO`` order so far (every one above ``after``, ascending), else None.

    ``after`` None means an earlier page was out of order: the result set stays unordered.
    """
    if after is None:
        return None
    last = after
    for number in numbers:
        if number is None or number <= last:
            return None
        last = number
    return last


def cursor_recordno(value: Any) -> int:
    """The ``after`` of a cursor state: a ``RECORDNO`` (or 0), refused if anything else."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PaginationError(f"an Intacct cursor holds after={value!r}, not a RECORDNO", system=SYSTEM)
    return value
