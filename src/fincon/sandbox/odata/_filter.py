"""``$filter`` for the emulator: a small recursive-descent parser producing a predicate.

Supported: ``eq ne gt ge lt le``, ``and or not``, parentheses, property paths, literals of both
versions, and the functions ``startswith endswith substringof contains tolower toupper trim length
year month day``. Anything else is a :class:`FilterError` (the service answers 400, as servers do
for what they do not implement).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
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


class FilterError(ValueError):
    """A ``$filter`` the emulator cannot read."""


class _Parser:
    def __init__(self, text: str, properties: frozenset[str], v4: bool) -> None:
        self.tokens = self._tokenize(text)
        self.position = 0
        self.properties = properties
        self.v4 = v4

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
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] in _COMPARISONS:
            self.take()
            right = self.primary()
            compare: Callable[[Any, Any], bool] = _COMPARISONS[token[1]]
            return lambda e: compare(comparable(left(e)), comparable(right(e)))
        return left

    def primary(self) -> Operand:
        kind, text = self.take()
        if text == "(":
            inner = self.or_()
            self.expect(")")
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
            return lambda e: function(*(argument(e) for argument in arguments))
        if kind == "word" and text not in ("true", "false", "null"):
            name = text.split("/", 1)[0]
            if name not in self.properties:
                raise FilterError(f"property {text!r} in $filter does not exist")
            return lambda e: e.get(name)
        try:
            value = parse_literal(text, v4=self.v4)
        except ValueError as error:
            raise FilterError(str(error)) from None
        return lambda e: value


def compile_filter(text: str, properties: frozenset[str], *, v4: bool) -> Predicate:
    """A predicate for ``$filter=text`` over entities with ``properties``."""
    return _Parser(text, properties, v4).parse()
