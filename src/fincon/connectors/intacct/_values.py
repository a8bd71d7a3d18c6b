"""Intacct's text values: exact amounts, ``MM/DD/YYYY`` dates, ``MM/DD/YYYY HH:MM:SS`` timestamps."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

__all__ = [
    "flatten",
    "format_amount",
    "format_date",
    "format_timestamp",
    "parse_amount",
    "parse_date",
    "parse_timestamp",
]

_AMOUNT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}")


def parse_amount(text: str | None, field: str) -> Decimal | None:
    """An exact ``Decimal`` from Intacct's plain decimal text ('' and None: no value)."""
    if not text:
        return None
    if _AMOUNT.fullmatch(text) is None:
        raise ValueError(f"{field} is not a plain decimal amount: {text[:40]!r}")
    return Decimal(text)


def format_amount(value: Decimal) -> str:
    """Plain digits, never an exponent (``Decimal('1E+2')`` is written ``100``)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError("amounts are finite Decimals")
    return format(value, "f")


def parse_date(text: str | None, field: str) -> date | None:
    """``MM/DD/YYYY`` -> ``date`` ('' and None: no value)."""
    if not text:
        return None
    if _DATE.fullmatch(text) is None:
        raise ValueError(f"{field} is not an MM/DD/YYYY date: {text[:40]!r}")
    # The pattern fixed every position: reordered into ISO form, the C parser does the rest.
    return date.fromisoformat(f"{text[6:10]}-{text[0:2]}-{text[3:5]}")


def format_date(value: date) -> str:
    """``date`` -> ``MM/DD/YYYY``."""
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


def parse_timestamp(text: str | None, field: str) -> datetime | None:
    """``MM/DD/YYYY HH:MM:SS`` (the API's GMT system timestamps) -> an aware UTC datetime."""
    if not text:
        return None
    # Runs once per listed record, so no regular expression (0.5 us): the separators are
    # checked here, and reordered into ISO form the C parser checks that every other
    # position is an ASCII digit and that the date and time exist.
    if (
        len(text) != 19
        or text[2] != "/"
        or text[5] != "/"
        or text[10] != " "
        or text[13] != ":"
        or text[16] != ":"
    ):
        raise _not_a_timestamp(text, field)
    try:
        return datetime.fromisoformat(f"{text[6:10]}-{text[0:2]}-{text[3:5]}T{text[11:]}+00:00")
    except ValueError:
        raise _not_a_timestamp(text, field) from None


def _not_a_timestamp(text: str, field: str) -> ValueError:
    return ValueError(f"{field} is not an MM/DD/YYYY HH:MM:SS timestamp: {text[:40]!r}")


def format_timestamp(value: datetime) -> str:
    """An aware datetime -> ``MM/DD/YYYY HH:MM:SS`` in UTC."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    # isoformat() is C and always zero-pads: YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00.
    iso = value.astimezone(timezone.utc).isoformat()
    return f"{iso[5:7]}/{iso[8:10]}/{iso[0:4]} {iso[11:19]}"


def flatten(
    node: Any, into: dict[str, str] | None = None, prefix: str = "", skip: str = ""
) -> dict[str, str]:
    """An element's leaf fields as ``{"DISPLAYCONTACT.EMAIL1": text}`` (``skip``: a child left out).

    Comments and processing instructions (whose ``tag`` is not a string) are left out.
    """
    # The hot loop of every document listing: one pass, no per-child type filter object, and
    # every child's proxy made in one C call by the slice (as in ``_field_routes.collect``).
    fields: dict[str, str] = {} if into is None else into
    for child in node[:]:
        tag = child.tag
        if tag.__class__ is not str or tag == skip:
            continue
        if len(child):
            flatten(child, fields, f"{prefix}{tag}.")
        else:
            fields[prefix + tag] = child.text or ""
    return fields
