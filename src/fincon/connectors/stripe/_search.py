"""A subset of Stripe's search query language, for the emulator's ``/v1/<objects>/search``.

Supported: clauses joined by ``AND`` or by ``OR`` (not both, as in Stripe); ``field:'value'``
(exact, case-insensitive), ``field~'value'`` (substring, at least three characters),
``field>n``, ``<``, ``>=``, ``<=`` on numeric fields, ``metadata['key']:'value'``, and ``-``
to negate a clause. Each object type searches its own fields (Stripe's list per resource).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SEARCH_FIELDS", "SearchQuery", "SearchSyntaxError"]

#: Searchable fields per object type: ``"text"`` or ``"number"``.
SEARCH_FIELDS: dict[str, dict[str, str]] = {
    "customers": {"created": "number", "email": "text", "name": "text", "phone": "text", "metadata": "text"},
    "invoices": {
        "created": "number",
        "currency": "text",
        "customer": "text",
        "metadata": "text",
        "number": "text",
        "status": "text",
        "subscription": "text",
        "total": "number",
    },
    "payment_intents": {
        "amount": "number",
        "created": "number",
        "currency": "text",
        "customer": "text",
        "metadata": "text",
        "status": "text",
    },
}

_CLAUSE = re.compile(
    r"""(?P<neg>-)?(?P<field>[a-z_]+)(?:\[(?P<kq>['"])(?P<key>[^'"]+)(?P=kq)\])?"""
    r"""(?P<op>>=|<=|:|~|>|<)(?:'(?P<single>[^']*)'|"(?P<double>[^"]*)"|(?P<number>-?[0-9]+))"""
)
_JOIN = re.compile(r"\s+(AND|OR)\s+")


class SearchSyntaxError(ValueError):
    """The query is outside the supported language (the message says where)."""


@dataclass(frozen=True)
class _Clause:
    field: str
    key: str | None
    op: str
    value: str | int
    negated: bool

    def matches(self, data: Mapping[str, Any]) -> bool:
        return self._test(data) != self.negated

    def _test(self, data: Mapping[str, Any]) -> bool:
        if self.key is not None:
            found: Any = (data.get("metadata") or {}).get(self.key)
        else:
            found = data.get(self.field)
            if isinstance(found, Mapping):  # an expanded object: its id
                found = found.get("id")
        if isinstance(self.value, int):
            if self.op == ":":
                return isinstance(found, int) and found == self.value
            if not isinstance(found, int) or isinstance(found, bool):
                return False
            compare: dict[str, Callable[[int, int], bool]] = {
                ">": lambda a, b: a > b,
                "<": lambda a, b: a < b,
                ">=": lambda a, b: a >= b,
                "<=": lambda a, b: a <= b,
            }
            return compare[self.op](found, self.value)
        text = "" if found is None else str(found).lower()
        wanted = self.value.lower()
        return text == wanted if self.op == ":" else wanted in text


class SearchQuery:
    """A parsed query for one object type; :meth:`matches` tests an object."""

    def __init__(self, text: str, objects: str) -> None:
        fields = SEARCH_FIELDS[objects]
        self.text = text
        clauses: list[_Clause] = []
        joins: set[str] = set()
        position = 0
        stripped = text.strip()
        while True:
            found = _CLAUSE.match(stripped, position)
            if found is None:
                raise SearchSyntaxError(f"Invalid search query at position {position}: {stripped!r}")
            clauses.append(self._clause(found, fields, objects))
            position = found.end()
            if position == len(stripped):
                break
            join = _JOIN.match(stripped, position)
            if join is None:
                raise SearchSyntaxError(f"Expected AND or OR at position {position}: {stripped!r}")
            joins.add(join.group(1))
            position = join.end()
        if len(joins) > 1:
            raise SearchSyntaxError("A search query cannot combine AND and OR.")
        self.clauses = tuple(clauses)
        self.any = joins == {"OR"}

    @staticmethod
    def _clause(found: re.Match[str], fields: Mapping[str, str], objects: str) -> _Clause:
        field, key, op = found["field"], found["key"], found["op"]
        kind = fields.get(field)
        if kind is None or (field == "metadata") != (key is not None):
            raise SearchSyntaxError(f"Field '{field}' is an unsupported search field for {objects}.")
        value: str | int
        if found["number"] is not None:
            if kind != "number":
                raise SearchSyntaxError(f"Field '{field}' takes a quoted string.")
            value = int(found["number"])
        else:
            value = found["single"] if found["single"] is not None else found["double"]
            if op in (">", "<", ">=", "<="):
                raise SearchSyntaxError(f"Comparison {op} needs a number for field '{field}'.")
            if op == "~" and len(value) < 3:
                raise SearchSyntaxError("A substring search (~) needs at least three characters.")
        return _Clause(field, key, op, value, found["neg"] is not None)

    def matches(self, data: Mapping[str, Any]) -> bool:
        """Whether the object ``data`` satisfies the query."""
        results = (clause.matches(data) for clause in self.clauses)
        return any(results) if self.any else all(results)
