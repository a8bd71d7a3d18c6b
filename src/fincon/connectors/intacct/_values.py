"""Intacct's text values: exact amounts, ``MM/DD/YYYY`` dates, ``MM/DD/YYYY HH:MM:SS`` timestamps."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from lxml import etree

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
_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_TIMESTAMP = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")


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
    match = _DATE.fullmatch(text)
    if match is None:
        raise ValueError(f"{field} is not an MM/DD/YYYY date: {text[:40]!r}")
    month, day, year = match.groups()
    return date(int(year), int(month), int(day))


def format_date(value: date) -> str:
    """``date`` -> ``MM/DD/YYYY``."""
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


def parse_timestamp(text: str | None, field: str) -> datetime | None:
    """``MM/DD/YYYY HH:MM:SS`` (the API's GMT system timestamps) -> an aware UTC datetime."""
    if not text:
        return None
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"{field} is not an MM/DD/YYYY HH:MM:SS timestamp: {text[:40]!r}")
    month, day, year, hour, minute, second = (int(part) for part in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


def format_timestamp(value: datetime) -> str:
    """An aware datetime -> ``MM/DD/YYYY HH:MM:SS`` in UTC."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(timezone.utc).strftime("%m/%d/%Y %H:%M:%S")


def flatten(
    node: Any, into: dict[str, str] | None = None, prefix: str = "", skip: str = ""
) -> dict[str, str]:
    """An element's leaf fields as ``{"DISPLAYCONTACT.EMAIL1": text}`` (``skip``: a child left out)."""
    fields: dict[str, str] = {} if into is None else into
    for child in node.iterchildren(etree.Element):
        tag = child.tag
        if len(child):
            if tag != skip:
                flatten(child, fields, f"{prefix}{tag}.")
        elif tag != skip:
            fields[prefix + tag] = child.text or ""
    return fields
