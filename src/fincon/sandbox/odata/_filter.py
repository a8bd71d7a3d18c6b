"""``$filter`` for the emulator: a small recursive-descent parser producing a predicate.

Supported: ``eq ne gt ge lt le``, ``and or not``, parentheses, property paths, literals of both
versions, and the functions ``startswith endswith substringof contains tolower toupper trim length
year month day``. Anything else is a :class:`FilterError` (the service answers 400, as servers do
for what they do not implement).

Given the properties' Edm types, a property compared with a literal of another family (a date
with a string, a number with a string) is refused when the filter is read; a comparison that
still meets incomparable values while entities are filtered raises :class:`FilterError` too,
never a ``TypeError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from fincon.sandbox.odata._edm import comparable, parse_literal

__all__ = ["FilterError", "compile_filter"]

Predicate = Callable[[Mapping[str, Any]], bool]
Operand = Callable[[Mapping[str, Any]], Any]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>(?:datetimeoffset|datetime|guid|time|binary|X)?'(?:[^']|'')*')
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_./]*)
      | (?P<literal>-?[0-9][0-9A-Za-z.:+\-]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "startswith": lambda a, b: isinstance(a, str) and isinstance(b, str) and a.startswith(b),
    "endswith": lambda a, b: isinstance(a, str) and isinstance(b, str) and a.endswith(b),
    "substringof": lambda a, b: isinstance(a, str) and isinstance(b, str) and a in b,
    "contains": lambda a, b: isinstance(a, str) and isinstance(b, str) and b in a,
    "tolower": lambda a: a.lower() if isinstance(a, str) else a,
    "toupper": lambda a: a.upper() if isinstance(a, str) else a,
    "trim": lambda a: a.strip() if isinstance(a, str) else a,
    "length": lambda a: len(a) if isinstance(a, str) else None,
    "year": lambda a: getattr(a, "year", None),
    "month": lambda a: getattr(a, "month", None),
    "day": lambda a: getattr(a, "day", None),
}


_STRINGS = frozenset({"Edm.String", "Edm.Guid", "Edm.Binary"})
_NUMBERS = frozenset(
    {
        "Edm.Byte",
        "Edm.SByte",
        "Edm.Int16",
        "Edm.Int32",
        "Edm.Int64",
        "Edm.Decimal",
        "Edm.Double",
        "Edm.Single",
    }
)
_MOMENTS = frozenset({"Edm.Date", "Edm.DateTime", "Edm.DateTimeOffset"})
_TIMES = frozenset({"Edm.Time", "Edm.TimeOfDay", "Edm.Duration"})


def _family_of_type(edm_type: str) -> str | None:
    """The comparison family of a property's Edm type (enums compare as strings)."""
    if edm_type in _STRINGS:
        return "string"
    if edm_type in _NUMBERS:
        return "number"
    if edm_type in _MOMENTS:
        return "date/time"
    if edm_type in _TIMES:
        return "time"
    if edm_type == "Edm.Boolean":
        return "boolean"
    if not edm_type.startswith(("Edm.", "Collection(")):
        return "string"  # an enum member is written as a string
    return None


def _family_of_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, Decimal)):
        return "number"
    if isinstance(value, (datetime, date)):
        return "date/time"
    if isinstance(value, (time, timedelta)):
        return "time"
    return None


class FilterError(ValueError):
    """A ``$filter`` the emulator cannot read."""


def _guarded(compare: Callable[[Any, Any], bool], operator: str) -> Callable[[Any, Any], bool]:
    def safe(left: Any, right: Any) -> bool:
        try:
            return compare(left, right)
        except TypeError:
            raise FilterError(
                f"cannot compare {type(left).__name__} with {type(right).__name__} using {operator}"
            ) from None

    return safe


class _Parser:
    def __init__(
        self, text: str, properties: frozenset[str], v4: bool, types: Mapping[str, str] | None = None
    ) -> None:
        self.tokens = self._tokenize(text)
        self.position = 0
        self.properties = properties
        self.v4 = v4
        self.types = types or {}
        #: The last operand read, when it was a property (name) or a literal (value).
        self.operand: tuple[str, Any] | None = None

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            found = _TOKEN.match(text, position)
            if found is None or found.end() == position:
                raise FilterError(f"cannot read $filter at {text[position : position + 20]!r}")
            kind = found.lastgroup or ""
            tokens.append((kind, found.group(kind)))
            position = found.end()
        return tokens

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("$filter ends too early")
        self.position += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise FilterError(f"expected {value!r} in $filter, found {token[1]!r}")

    def parse(self) -> Predicate:
        expression = self.or_()
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()[1]!r} in $filter")  # type: ignore[index]
        return lambda entity: bool(expression(entity))

    def or_(self) -> Operand:
        left = self.and_()
        while self.peek() == ("word", "or"):
            self.take()
            right = self.and_()
            left = (lambda a, b: lambda e: bool(a(e)) or bool(b(e)))(left, right)
        return left

    def and_(self) -> Operand:
        left = self.not_()
        while self.peek() == ("word", "and"):
            self.take()
            right = self.not_()
            left = (lambda a, b: lambda e: bool(a(e)) and bool(b(e)))(left, right)
        return left

    def not_(self) -> Operand:
        if self.peek() == ("word", "not"):
            self.take()
            inner = self.not_()
            return lambda e: not inner(e)
        return self.comparison()

    def comparison(self) -> Operand:
        left = self.primary()
        left_operand = self.operand
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] in _COMPARISONS:
            self.take()
            right = self.primary()
            self._check_types(left_operand, self.operand, token[1])
            compare = _guarded(_COMPARISONS[token[1]], token[1])
            return lambda e: compare(comparable(left(e)), comparable(right(e)))
        return left

    def _check_types(
        self, left: tuple[str, Any] | None, right: tuple[str, Any] | None, operator: str
    ) -> None:
        """A property compared with a literal of another family is a 400, as on real servers."""
        for one, other in ((left, right), (right, left)):
            if one is None or other is None or one[0] != "property" or other[0] != "literal":
                continue
            declared = self.types.get(one[1])
            expected = _family_of_type(declared) if declared else None
            given = _family_of_value(other[1])
            if other[1] is None or expected is None or given is None or expected == given:
                continue
            raise FilterError(
                f"{one[1]} ({declared}) cannot be compared with the {given} {other[1]!r} using {operator}"
            )

    def primary(self) -> Operand:
        self.operand = None
        kind, text = self.take()
        if text == "(":
            inner = self.or_()
            self.expect(")")
            self.operand = None
            return inner
        if kind == "word" and self.peek() == ("punct", "("):
            function = _FUNCTIONS.get(text)
            if function is None:
                raise FilterError(f"the function {text}() is not supported in $filter")
            self.take()
            arguments = [self.or_()]
            while self.peek() == ("punct", ","):
                self.take()
                arguments.append(self.or_())
            self.expect(")")
            self.operand = None
            guarded = _guarded(function, text)
            return lambda e: guarded(*(argument(e) for argument in arguments))
        if kind == "word" and text not in ("true", "false", "null"):
            name = text.split("/", 1)[0]
            if name not in self.properties:
                raise FilterError(f"property {text!r} in $filter does not exist")
            self.operand = ("property", name) if name == text else None
            return lambda e: e.get(name)
        try:
            value = parse_literal(text, v4=self.v4)
        except ValueError as error:
            raise FilterError(str(error)) from None
        self.operand = ("literal", value)
        return lambda e: value


def compile_filter(
    text: str, properties: frozenset[str], *, v4: bool, types: Mapping[str, str] | None = None
) -> Predicate:
    """A predicate for ``$filter=text`` over entities with ``properties``.

    :param types: the properties' Edm types (``{"postingDate": "Edm.Date"}``): comparisons of a
        property with a literal of another family are refused here, before any entity is read.
    :raises FilterError: for what cannot be read; the predicate raises it too when it meets
        values that do not compare.
    """
    return _Parser(text, properties, v4, types).parse()
