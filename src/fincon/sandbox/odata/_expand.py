"""``$expand`` for the emulator: navigation paths (V2 ``a/b``) and V4 nested options.

``purchaseInvoiceLines($expand=dimensionSetLines;$select=id,quantity)`` expands the lines, and in
each line its dimension set lines, with only ``id`` and ``quantity`` of the line. Nested options
understood: ``$select``, ``$expand``, ``$filter`` and ``$top``; any other is refused (400), since
an option silently ignored would hand the client more than it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fincon.sandbox.odata._errors import ODataError
from fincon.sandbox.odata._filter import FilterError, Predicate, compile_filter
from fincon.sandbox.odata._schema import EntityTypeSchema

__all__ = ["ExpandItem", "parse_expand", "parse_select", "split_top"]

_NESTED_OPTIONS = frozenset({"$select", "$expand", "$filter", "$top"})


@dataclass(frozen=True)
class ExpandItem:
    """What to do with one expanded navigation property."""

    #: Properties to keep (None: all).
    select: tuple[str, ...] | None = None
    #: Navigation properties to expand inside the expanded entities.
    expand: Mapping[str, ExpandItem] = field(default_factory=dict)
    #: Nested ``$filter`` (its text; ``where`` is the compiled predicate).
    filter_text: str | None = None
    top: int | None = None
    where: Predicate | None = field(default=None, repr=False, compare=False)


def split_top(text: str, separator: str) -> list[str]:
    """Split ``text`` on ``separator`` outside quotes and parentheses."""
    parts: list[str] = []
    depth, quoted, start = 0, False, 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth < 0:
                raise ODataError(400, "INVALID_EXPAND", f"Unbalanced parentheses in {text!r}")
        elif not quoted and depth == 0 and char == separator:
            parts.append(text[start:index])
            start = index + 1
    if depth != 0 or quoted:
        raise ODataError(400, "INVALID_EXPAND", f"Unbalanced parentheses or quotes in {text!r}")
    parts.append(text[start:])
    return parts


def parse_select(text: str | None, entity_type: EntityTypeSchema) -> tuple[str, ...] | None:
    """``$select`` as property names (None: every property); 400 for a name the type lacks."""
    if not text or text.strip() == "*":
        return None
    names = []
    for part in text.split(","):
        name = part.strip().split("/", 1)[0]
        if name not in entity_type.properties and name not in entity_type.navigation:
            raise ODataError(400, "INVALID_SELECT", f"Property '{name}' in $select does not exist")
        names.append(name)
    return tuple(names)


def parse_expand(
    text: str | None, entity_type: EntityTypeSchema, types: Mapping[str, EntityTypeSchema], *, v4: bool
) -> dict[str, ExpandItem]:
    """The expand tree of ``$expand=text`` on ``entity_type``; ``ODataError(400)`` if it does not fit."""
    if not text or not text.strip():
        return {}
    tree: dict[str, Any] = {}
    for part in split_top(text, ","):
        part = part.strip()
        head, options = part, None
        if part.endswith(")") and "(" in part:
            if not v4:
                raise ODataError(400, "INVALID_EXPAND", "Nested $expand options need OData V4")
            head, _, options = part[:-1].partition("(")
        node, current = tree, entity_type
        steps = head.strip().split("/")
        for position, step in enumerate(steps):
            nav = current.navigation.get(step)
            target = types.get(nav.target_type) if nav is not None else None
            if nav is None or target is None:
                raise ODataError(
                    400, "INVALID_EXPAND", f"Property '{step}' in $expand is not a navigation property"
                )
            entry = node.setdefault(step, {"children": {}, "item": None, "type": target})
            if position == len(steps) - 1 and options is not None:
                entry["item"] = _options(options, target, types)
            node, current = entry["children"], target
    return _freeze(tree)


def _options(text: str, target: EntityTypeSchema, types: Mapping[str, EntityTypeSchema]) -> ExpandItem:
    values: dict[str, str] = {}
    for option in split_top(text, ";"):
        name, equals, value = option.partition("=")
        name = name.strip()
        if not equals or name not in _NESTED_OPTIONS:
            raise ODataError(400, "INVALID_EXPAND", f"The option {name!r} is not supported inside $expand")
        values[name] = value.strip()
    top = None
    if "$top" in values:
        if not values["$top"].isdigit():
            raise ODataError(400, "INVALID_EXPAND", "$top inside $expand must be a non-negative integer")
        top = int(values["$top"])
    where = None
    if "$filter" in values:
        try:
            where = compile_filter(
                values["$filter"],
                frozenset(target.properties),
                v4=True,
                types={name: prop.type for name, prop in target.properties.items()},
            )
        except FilterError as error:
            raise ODataError(400, "INVALID_FILTER", f"Invalid filter expression: {error}") from None
    return ExpandItem(
        select=parse_select(values.get("$select"), target),
        expand=parse_expand(values.get("$expand"), target, types, v4=True),
        filter_text=values.get("$filter"),
        top=top,
        where=where,
    )


def _freeze(tree: Mapping[str, Any]) -> dict[str, ExpandItem]:
    frozen: dict[str, ExpandItem] = {}
    for name, entry in tree.items():
        item: ExpandItem = entry["item"] or ExpandItem()
        children = _freeze(entry["children"])
        if children:
            item = ExpandItem(
                item.select, {**item.expand, **children}, item.filter_text, item.top, item.where
            )
        frozen[name] = item
    return frozen
