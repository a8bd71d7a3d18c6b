"""Filters for Intacct's ``query`` function, built as XML (never as query strings).

>>> from fincon.connectors.intacct.filters import and_, equal_to, greater_or_equal
>>> where = and_(equal_to("STATUS", "active"), greater_or_equal("WHENMODIFIED", "01/31/2026 00:00:00"))

Each function returns an lxml element that goes inside ``<filter>``; values are text, so
no quoting or escaping is ever written by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fincon.connectors.intacct._xml import element, sub
from fincon.errors import ValidationError

__all__ = [
    "and_",
    "between",
    "equal_to",
    "greater_or_equal",
    "greater_than",
    "in_",
    "is_null",
    "less_or_equal",
    "less_than",
    "like",
    "not_equal_to",
    "or_",
]


def _check_field(name: Any) -> str:
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "._" for c in name):
        raise ValidationError(f"{name!r} is not an Intacct field name", field="filter", system="intacct")
    return name


def _comparison(tag: str, name: str, *values: Any) -> Any:
    node = element(tag)
    sub(node, "field", _check_field(name))
    for value in values:
        if value is None or isinstance(value, float):
            raise ValidationError(
                f"filter value for {name} must be text, an integer or a Decimal",
                field="filter",
                system="intacct",
            )
        sub(node, "value", value)
    return node


def equal_to(name: str, value: Any) -> Any:
    """``field = value``."""
    return _comparison("equalto", name, value)


def not_equal_to(name: str, value: Any) -> Any:
    """``field != value``."""
    return _comparison("notequalto", name, value)


def greater_than(name: str, value: Any) -> Any:
    """``field > value``."""
    return _comparison("greaterthan", name, value)


def greater_or_equal(name: str, value: Any) -> Any:
    """``field >= value`` (incremental reads on ``WHENMODIFIED``)."""
    return _comparison("greaterthanorequalto", name, value)


def less_than(name: str, value: Any) -> Any:
    """``field < value``."""
    return _comparison("lessthan", name, value)


def less_or_equal(name: str, value: Any) -> Any:
    """``field <= value``."""
    return _comparison("lessthanorequalto", name, value)


def between(name: str, low: Any, high: Any) -> Any:
    """``low <= field <= high``."""
    return _comparison("between", name, low, high)


def in_(name: str, values: Iterable[Any]) -> Any:
    """``field in (values)`` (1 to 1,000 values)."""
    listed = list(values)
    if not 1 <= len(listed) <= 1000:
        raise ValidationError("an 'in' filter takes 1 to 1,000 values", field="filter", system="intacct")
    return _comparison("in", name, *listed)


def like(name: str, pattern: str) -> Any:
    """``field like pattern`` (``%`` matches any text)."""
    return _comparison("like", name, pattern)


def is_null(name: str) -> Any:
    """``field is null``."""
    return _comparison("isnull", name)


def _logical(tag: str, conditions: tuple[Any, ...]) -> Any:
    if len(conditions) < 2:
        raise ValidationError(f"'{tag}' needs at least two conditions", field="filter", system="intacct")
    node = element(tag)
    for condition in conditions:
        node.append(condition)
    return node


def and_(*conditions: Any) -> Any:
    """All of ``conditions``."""
    return _logical("and", conditions)


def or_(*conditions: Any) -> Any:
    """Any of ``conditions``."""
    return _logical("or", conditions)
