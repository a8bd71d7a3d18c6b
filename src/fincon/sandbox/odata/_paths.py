"""Resource paths: ``Set``, ``Set(key)``, then any number of ``nav`` / ``nav(key)`` steps
(containment: ``companies(1)/purchaseInvoices(2)/purchaseInvoiceLines``), an optional
``/$count``, or a bound action last (``.../purchaseInvoices(2)/Microsoft.NAV.post``).

Each navigation step joins by the navigation property's referential constraints; a contained
collection without any holds the whole target set (one tenant per emulator: company scoping
is the vendor emulator's business); in V2, by the target's key properties the source also has
(SAP's V2 files declare no constraints and share key names instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fincon.sandbox._store import Record
from fincon.sandbox.odata._errors import ODataError
from fincon.sandbox.odata._schema import BoundAction, EntitySetSchema, Navigation

if TYPE_CHECKING:
    from fincon.sandbox.odata._service import ODataService

__all__ = ["Target", "join_values", "resolve", "split_path"]

Entity = dict[str, Any]

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_.]*)(?:\((?P<key>.*)\))?$", re.DOTALL)
_MAX_SEGMENTS = 16


@dataclass
class Target:
    """What a resource path addresses."""

    entity_set: EntitySetSchema
    #: The entity addressed, or None for a collection.
    record: Record[Entity] | None = None
    #: For a collection reached by navigation: the values its members have (and new members get).
    constraint: dict[str, Any] = field(default_factory=dict)
    #: A collection reached by navigation that cannot hold anything (the join value is empty).
    empty: bool = False
    #: Whether the path went through a navigation property.
    navigated: bool = False
    count: bool = False
    action: BoundAction | None = None


def split_path(path: str) -> list[str]:
    """Path segments, splitting on ``/`` outside quotes and parentheses (keys may hold ``/``)."""
    segments: list[str] = []
    depth, quoted = 0, False
    current: list[str] = []
    for char in path.strip("/"):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "/" and depth == 0 and not quoted:
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    if current:
        segments.append("".join(current))
    return segments


def join_values(
    service: ODataService, source: EntitySetSchema, record: Record[Entity], navigation: Navigation
) -> tuple[EntitySetSchema, dict[str, Any] | None]:
    """The entity set behind ``navigation`` and the values its related entities have
    (None: nothing can be related, a join value is empty)."""
    target_set = service.schema.set_for_type(navigation.target_type)
    if target_set is None:
        raise ODataError(404, "RESOURCE_NOT_FOUND", f"No entity set for {navigation.target_type}")
    if navigation.constraints:
        values = {referenced: record.data.get(own) for own, referenced in navigation.constraints}
    elif navigation.contained:
        return target_set, {}  # the whole contained set: one tenant per emulator
    elif service.v4:
        return target_set, None  # V4 says how entities relate; without a constraint, nothing does
    else:
        values = {
            name: record.data.get(name) for name in target_set.type.keys if name in source.type.properties
        }
        if not values:
            return target_set, None
    if any(value in (None, "") for value in values.values()):
        return target_set, None
    return target_set, values


def _action(service: ODataService, name: str, entity_set: EntitySetSchema, many: bool) -> BoundAction:
    namespace, _, short = name.rpartition(".")
    bound = service.schema.actions.get(entity_set.type.qualified_name, {}).get(short)
    if bound is None or bound.namespace != namespace or bound.collection != many:
        raise ODataError(404, "RESOURCE_NOT_FOUND", f"No action '{name}' is bound to {entity_set.type.name}")
    return bound


def resolve(service: ODataService, segments: list[str]) -> Target:
    """The target of ``segments`` (the path after the service root); ``ODataError`` 400/404."""
    count = bool(segments) and segments[-1] == "$count"
    if count:
        segments = segments[:-1]
    if not segments or len(segments) > _MAX_SEGMENTS:
        raise ODataError(404, "RESOURCE_NOT_FOUND", "Resource not found")
    action_name = None
    if len(segments) > 1 and "." in segments[-1] and "(" not in segments[-1]:
        action_name = segments[-1]
        segments = segments[:-1]
    head = _SEGMENT.match(segments[0])
    if head is None:
        raise ODataError(404, "RESOURCE_NOT_FOUND", f"Resource not found for segment '{segments[0]}'")
    target = Target(service.entity_set(head.group("name")))
    if head.group("key") is not None:
        target.record = service.find(target.entity_set, head.group("key"))
    for segment in segments[1:]:
        target = _step(service, target, segment)
    if action_name is not None:
        if count:
            raise ODataError(400, "INVALID_URI", "$count cannot follow an action")
        target.action = _action(service, action_name, target.entity_set, target.record is None)
        return target
    if count and target.record is not None:
        raise ODataError(400, "INVALID_URI", "$count needs a collection")
    target.count = count
    return target


def _step(service: ODataService, current: Target, segment: str) -> Target:
    found = _SEGMENT.match(segment)
    if found is None:
        raise ODataError(404, "RESOURCE_NOT_FOUND", f"Resource not found for segment '{segment}'")
    if current.record is None:
        raise ODataError(400, "INVALID_URI", f"'{segment}' needs a single entity before it: add a key")
    name = found.group("name")
    navigation = current.entity_set.type.navigation.get(name)
    if navigation is None:
        raise ODataError(404, "RESOURCE_NOT_FOUND", f"Property '{name}' is invalid")
    target_set, values = join_values(service, current.entity_set, current.record, navigation)
    key = found.group("key")
    if not navigation.many:
        if key is not None:
            raise ODataError(400, "INVALID_URI", f"'{name}' leads to one entity: it takes no key")
        related = [] if values is None else service.store(target_set.name).matching(values)
        if not related:
            raise ODataError(404, "RESOURCE_NOT_FOUND", f"No entity behind {name}")
        return Target(target_set, related[0], navigated=True)
    if key is None:
        return Target(target_set, constraint=values or {}, empty=values is None, navigated=True)
    record = service.find(target_set, key)
    if values is None or any(record.data.get(k) != v for k, v in values.items()):
        raise ODataError(404, "RESOURCE_NOT_FOUND", f"Resource not found for segment '{name}({key})'")
    return Target(target_set, record, constraint=values, navigated=True)
