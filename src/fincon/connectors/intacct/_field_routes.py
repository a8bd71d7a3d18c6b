"""Reading the fields a mapper uses straight from a record element, by a table.

:func:`~fincon.connectors.intacct._values.flatten` builds every leaf of a record as
``{"DISPLAYCONTACT.EMAIL1": text}`` and a mapper then looks up the ones it uses. For the
records of a listing that is twice the work: :func:`collect` walks the element once and
writes only the fields of a table (Intacct field -> slot) into their slots, skipping the
subtrees that hold none of them.

It reads exactly what ``flatten`` would give for those fields: the same dotted names (so
the nested ``readByQuery`` shape and the flat ``query`` shape, and any mix, map alike),
leaves only (an element with children, comments included, is a container, never a value),
comments and processing instructions left out, the last of repeated fields winning. The
text is stored as ``text or None``: an empty field is no value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Routes", "collect", "routes_for"]

#: Per level: tag -> (slot of the leaf, routes of the container); either may be None.
Routes = dict[str, tuple[str | None, "Routes | None"]]


def routes_for(table: Mapping[str, str]) -> Routes:
    """The routes of ``table`` (dotted Intacct field -> slot) from a record element's level."""
    # Every proper dotted prefix of a field is a level a container can open ("" is the record).
    prefixes = {""}
    for name in table:
        parts = name.split(".")
        prefixes.update(".".join(parts[:index]) + "." for index in range(1, len(parts)))
    built: dict[str, Routes] = {}
    for prefix in sorted(prefixes, key=len, reverse=True):  # the deeper levels first
        level: dict[str, list[Any]] = {}
        for name, slot in table.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                level.setdefault(name[len(prefix) :], [None, None])[0] = slot
        for deeper in prefixes:
            if deeper.startswith(prefix) and len(deeper) > len(prefix):
                level.setdefault(deeper[len(prefix) : -1], [None, None])[1] = built[deeper]
        built[prefix] = {tag: (slot, inner) for tag, (slot, inner) in level.items()}
    return built[""]


def collect(node: Any, routes: Routes, into: dict[str, Any]) -> dict[str, Any]:
    """Write the routed leaf fields under ``node`` into their slots of ``into`` (``text or None``)."""
    # The hot loop of every listing: one dict lookup per child, no name built per field.
    # ``node[:]`` makes every child's proxy in one C call: iterating the element makes them
    # one by one through its iterator, about 4 us more for a vendor's 20 elements.
    get = routes.get
    for child in node[:]:
        route = get(child.tag)  # comments' and PIs' tags are functions: never routed
        if route is not None:
            slot, inner = route
            if len(child):
                if inner is not None:
                    collect(child, inner, into)
            elif slot is not None:
                into[slot] = child.text or None
    return into
