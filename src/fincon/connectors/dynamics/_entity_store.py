"""The Dynamics emulator's entity sets: seeded records, OData rendering, writes and paging.

One :class:`EntitySet` per OData entity set (``vendors``, ``VendorsV2``, ...). Records are
dicts of OData properties kept in a :class:`~fincon.sandbox.SeededCollection` (lines of a
document embedded under their navigation name), so 10,000 seeded records cost nothing
until read. Listings page by "after this key" (``$skiptoken``), which survives writes
between pages without a gap or a repeat.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fincon.sandbox import IdScheme, Record, RecordSeed, SeededCollection
from fincon.sandbox.odata import FilterError, compile_filter, parse_literal

__all__ = ["EntitySet", "FilterError", "WriteError", "etag_of"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NEGATION = re.compile(r"\b(?:or|not)\b")


def lower_bound(filter_text: str, field: str) -> datetime | None:
    """The ``field ge/gt <datetime>`` bound of a filter made only of ``and``-ed terms, if any.

    Lets the emulator start a listing by binary search instead of scanning every record.
    """
    if _NEGATION.search(filter_text):
        return None
    found = re.search(rf"\b{re.escape(field)} g[et] (\d{{4}}-\d{{2}}-\d{{2}}T[^\s)]+)", filter_text)
    if found is None:
        return None
    value = parse_literal(found.group(1), v4=True)
    return value if isinstance(value, datetime) else None


class WriteError(ValueError):
    """A write the emulated server refuses: ``status`` and OData error ``code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def etag_of(record: Record[Any]) -> str:
    """A weak ETag that changes with every write of the record."""
    digest = hashlib.sha256(f"{record.id}|{record.updated_at.isoformat()}".encode()).hexdigest()[:20]
    return f'W/"JzE2OzE{digest}Oyc="'


@dataclass
class EntitySet:
    """One entity set of the emulated service."""

    name: str
    ids: IdScheme
    factory: Callable[[RecordSeed], dict[str, Any]]
    #: Property names of the entity type (anything else in a write is refused).
    properties: frozenset[str]
    key: str = "id"
    modified: str | None = "lastModifiedDateTime"
    #: Navigation name of embedded lines, and their properties.
    lines: str | None = None
    line_properties: frozenset[str] = frozenset()
    #: Properties the server computes: refused in writes.
    read_only: frozenset[str] = frozenset()
    #: Called on the full entity after every create or update (totals, numbers); may raise WriteError.
    complete: Callable[[dict[str, Any], bool], dict[str, Any]] | None = None
    operations: frozenset[str] = frozenset({"list", "get", "create", "update", "delete"})
    #: Extra fixed properties of every record (dataAreaId).
    scope: Mapping[str, Any] = field(default_factory=dict)
    collection: SeededCollection[dict[str, Any]] = field(init=False)

    def seed(self, *, seed: int, size: int, clock: Any) -> None:
        self.collection = SeededCollection(
            self.name, self.factory, seed=seed, size=size, ids=self.ids, clock=clock
        )

    # -- reading ------------------------------------------------------------------------------

    def entity(
        self, record: Record[Any], *, expand: str | None = None, select: list[str] | None = None
    ) -> dict[str, Any]:
        """The OData representation of ``record``."""
        data = dict(record.data)
        body: dict[str, Any] = {"@odata.etag": etag_of(record)}
        if self.key == "id":
            body["id"] = record.id
        body.update(self.scope)
        body.update({k: v for k, v in data.items() if k != self.lines})
        if self.key != "id":
            body[self.key] = record.id
        if self.modified:
            body[self.modified] = record.updated_at
        if select:
            keep = {*select, self.key, "@odata.etag", *self.scope}
            body = {k: v for k, v in body.items() if k in keep}
        if expand and self.lines and self.lines in expand:
            lines = [dict(line) for line in data.get(self.lines) or []]
            if "dimensionSetLines" not in expand:
                for line in lines:
                    line.pop("dimensionSetLines", None)
            body[self.lines] = lines
        return body

    def get(self, key: str) -> Record[Any] | None:
        return self.collection.get(key)

    def page(
        self, *, size: int, after: str | None, filter_text: str | None
    ) -> tuple[list[Record[Any]], bool]:
        """Records after the key ``after`` that match ``$filter``; and whether more follow."""
        since: datetime | None = None
        where = None
        if filter_text:
            allowed = frozenset(
                {*self.properties, self.key, *self.scope, *([self.modified] if self.modified else [])}
            )
            predicate = compile_filter(filter_text, allowed, v4=True)
            if self.modified:
                since = lower_bound(filter_text, self.modified)

            def where(record: Record[Any]) -> bool:
                row = {**self.scope, **record.data, self.key: record.id}
                if self.modified:
                    row[self.modified] = record.updated_at
                return predicate(row)

        try:
            found = self.collection.page(size, after=after, updated_since=since, where=where)
        except KeyError:
            raise FilterError("the $skiptoken does not name a record of this listing") from None
        return found.items, found.has_more

    # -- writing ------------------------------------------------------------------------------

    def check_body(self, body: Any, *, creating: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise WriteError(400, "BadRequest", "The request body must be a JSON object.")
        allowed = self.properties | set(self.scope) | ({self.lines} if self.lines else set())
        for name, value in body.items():
            if name.startswith("@odata."):
                continue
            if name not in allowed:
                raise WriteError(
                    400, "BadRequest_PropertyNotFound", f"Could not find a property named '{name}'."
                )
            if name in self.read_only or (name == self.key and self.key == "id"):
                raise WriteError(400, "BadRequest", f"The property '{name}' is read-only.")
            if name == self.lines:
                if not creating:
                    raise WriteError(400, "BadRequest", f"Update {name} through their own URLs.")
                if not isinstance(value, list):
                    raise WriteError(400, "BadRequest", f"{name} must be an array.")
                for line in value:
                    unknown = [k for k in line if k not in self.line_properties]
                    if unknown:
                        raise WriteError(
                            400,
                            "BadRequest_PropertyNotFound",
                            f"Could not find a property named '{unknown[0]}'.",
                        )
        # Dates are stored as dates, like the seeded ones, so $filter compares them as dates.
        return {
            k: date.fromisoformat(v) if isinstance(v, str) and _ISO_DATE.fullmatch(v) else v
            for k, v in body.items()
            if not k.startswith("@odata.")
        }

    def create(self, body: Any) -> Record[Any]:
        data = self.check_body(body, creating=True)
        key_value = data.pop(self.key, None) if self.key != "id" else None
        for name, value in self.scope.items():
            if data.pop(name, value) != value:
                raise WriteError(400, "BadRequest", f"{name} must be {value!r} in this company.")
        if key_value is not None and self.collection.get(str(key_value)) is not None:
            raise WriteError(409, "Conflict", f"A record with {self.key} {key_value!r} already exists.")
        full = self.complete(data, True) if self.complete else data
        if key_value is not None and str(key_value) != self.collection.next_id:
            # Natural keys the client chooses must still fit the emulator's id sequence.
            raise WriteError(
                400,
                "BadRequest",
                f"{self.key} {key_value!r} is not the next free number ({self.collection.next_id}).",
            )
        return self.collection.create(full)

    def update(self, key: str, body: Any) -> Record[Any]:
        current = self.collection.get(key)
        if current is None:
            raise WriteError(404, "BadRequest_NotFound", f"The {self.name} record {key} does not exist.")
        data = self.check_body(body, creating=False)
        data.pop(self.key, None)
        for name in self.scope:
            data.pop(name, None)
        merged = {**current.data, **data}
        full = self.complete(merged, False) if self.complete else merged
        return self.collection.update(key, full)

    def delete(self, key: str) -> None:
        self.collection.delete(key)
