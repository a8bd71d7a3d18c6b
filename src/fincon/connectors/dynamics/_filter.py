"""A small OData V4 ``$filter`` evaluator for the Dynamics emulator.

Supports comparisons (``eq ne gt ge lt le``), ``and``/``or``/``not``, parentheses,
``contains``/``startswith``/``endswith``, and literals: ``'text'`` (``''`` escapes a
quote), numbers, ``true``/``false``/``null``, GUIDs, dates and date-times. Enough for what
connectors send; anything else is a :class:`FilterError` (the emulator answers 400).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["FilterError", "compile_filter", "lower_bound"]

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')"
    r"|(?P<datetime>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<guid>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})"
    r"|(?P<date>\d{4}-\d{2}-\d{2})"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_/]*)"
    r"|(?P<punct>[(),]))"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}


class FilterError(ValueError):
    """The ``$filter`` expression cannot be read."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"cannot read $filter at position {position}")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        value: Any
        if kind == "string":
            value = raw[1:-1].replace("''", "'")
        elif kind == "datetime":
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        elif kind == "date":
            value = date.fromisoformat(raw)
        elif kind == "guid":
            value = raw.lower()
        elif kind == "number":
            value = Decimal(raw)
        else:
            value = raw
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _coerce(value: Any, like: Any) -> Any:
    if isinstance(like, datetime) and isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(like, date) and not isinstance(like, datetime) and isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(like, Decimal) and isinstance(value, (int, str)) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(like, str) and isinstance(value, str) and len(like) == 36 and like.count("-") == 4:
        return value.lower()
    if isinstance(value, date) and not isinstance(value, datetime) and isinstance(like, str):
        return value.isoformat()
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    left = _coerce(left, right)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return bool(left > right)
        if op == "ge":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        raise FilterError(f"cannot compare {type(left).__name__} with {type(right).__name__}") from None


class _Parser:
    def __init__(self, text: str, properties: frozenset[str] | None) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.properties = properties
        self.bounds: list[tuple[str, str, Any]] = []

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise FilterError("$filter ends too early")
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        _kind, found = self.take()
        if found != value:
            raise FilterError(f"expected {value!r} in $filter, found {found!r}")

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()[1]!r} in $filter")  # type: ignore[index]
        return predicate

    def disjunction(self) -> Predicate:
        left = self.conjunction()
        while self.peek() == ("name", "or"):
            self.take()
            right = self.conjunction()
            left = (lambda a, b: lambda row: a(row) or b(row))(left, right)
        return left

    def conjunction(self) -> Predicate:
        left = self.unary()
        while self.peek() == ("name", "and"):
            self.take()
            right = self.unary()
            left = (lambda a, b: lambda row: a(row) and b(row))(left, right)
        return left

    def unary(self) -> Predicate:
        if self.peek() == ("name", "not"):
            self.take()
            inner = self.unary()
            return lambda row: not inner(row)
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        return self.comparison()

    def operand(self) -> tuple[bool, Any]:
        kind, value = self.take()
        if kind == "name" and value in ("true", "false"):
            return False, value == "true"
        if kind == "name" and value == "null":
            return False, None
        if kind == "name":
            if self.properties is not None and value.split("/")[0] not in self.properties:
                raise FilterError(f"Could not find a property named '{value}'")
            return True, value
        if kind == "punct":
            raise FilterError(f"unexpected {value!r} in $filter")
        return False, value

    def comparison(self) -> Predicate:
        token = self.peek()
        if token is not None and token[0] == "name" and token[1] in _FUNCTIONS:
            function = self.take()[1]
            self.expect("(")
            is_name, field = self.operand()
            self.expect(",")
            _, needle = self.operand()
            self.expect(")")
            if not is_name or not isinstance(needle, str):
                raise FilterError(f"{function} takes a property and a string")

            def match(row: Mapping[str, Any]) -> bool:
                value = str(row.get(field) or "").lower()
                text = needle.lower()
                if function == "contains":
                    return text in value
                if function == "startswith":
                    return value.startswith(text)
                return value.endswith(text)

            return match
        left_is_name, left = self.operand()
        kind, op = self.take()
        if kind != "name" or op not in _COMPARE:
            raise FilterError(f"expected a comparison operator in $filter, found {op!r}")
        right_is_name, right = self.operand()
        if not left_is_name or right_is_name:
            raise FilterError("a comparison needs a property on the left and a literal on the right")
        self.bounds.append((left, op, right))
        return lambda row: _compare(op, row.get(left), right)


def compile_filter(text: str, properties: frozenset[str] | None = None) -> Predicate:
    """A predicate over entity dicts; ``properties`` (if given) are the names allowed."""
    return _Parser(text, properties).parse()


def lower_bound(text: str, field: str) -> datetime | None:
    """The ``field ge/gt <datetime>`` bound of a filter made only of ``and``-ed terms, if any.

    Lets the emulator start a listing by binary search instead of scanning every record.
    """
    if " or " in f" {text} " or "not " in text:
        return None
    parser = _Parser(text, None)
    parser.parse()
    for name, op, value in parser.bounds:
        if name == field and op in ("ge", "gt") and isinstance(value, datetime):
            return value
    return None
