"""The entities of one entity set: seeded on demand, plus what clients created, changed or deleted.

Built on :class:`~fincon.sandbox.SeededCollection`, so a million seeded entities cost nothing until
read. Every entity has an *internal id* (the collection's id, which orders listings and makes
skiptokens) and its OData key. Seeded entities are found by key through ``seeded_id`` (by default
the key itself); created ones through a map kept here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from fincon.core.clock import Clock
from fincon.sandbox._store import IdScheme, Record, RecordSeed, SeededCollection
from fincon.sandbox.odata._schema import EntitySetSchema

__all__ = ["Entity", "EntityStore", "key_string"]

Entity = dict[str, Any]
"""One entity: property name -> stored value (see :mod:`fincon.sandbox.odata._edm`)."""

# One increasing count of writes shared by every store: the highest ``version`` of a service's
# stores changes whenever anything in the service is written (or a store is replaced).
_WRITES = itertools.count(1)


def key_string(values: Iterable[Any]) -> str:
    """The key of an entity as one string (``"17300001"``, ``"5100000001,2024"``)."""
    return ",".join(str(value) for value in values)


class EntityStore:
    """One entity set's data. The service holds one per entity set; emulators seed them.

    :param factory: builds seeded entity ``index`` from a :class:`~fincon.sandbox.RecordSeed`.
    :param seeded_id: the internal id a key would have if it named a seeded entity (``None``: not
        a seeded key); the store checks the entity found really has that key.
    :param children: for navigation, the internal ids of seeded entities whose properties equal
        the given values (``None``: scan the set, fine for small sets).
    :param assign_keys: fills in server-assigned keys on create, given the entity and its new
        internal id.
    :param key_ordered: whether store order is ascending key order (seeded keys that grow with
        the index, created keys continuing them), so ``$orderby`` on the keys costs no sort.
    """

    def __init__(
        self,
        entity_set: EntitySetSchema,
        *,
        factory: Callable[[RecordSeed], Entity] | None = None,
        size: int = 0,
        seed: int = 0,
        ids: IdScheme | None = None,
        clock: Clock | None = None,
        seeded_id: Callable[[tuple[Any, ...]], str | None] | None = None,
        children: Callable[[Mapping[str, Any]], Iterable[str] | None] | None = None,
        assign_keys: Callable[[Entity, str], None] | None = None,
        timeline: tuple[datetime, datetime] | None = None,
        key_ordered: bool = False,
    ) -> None:
        self.schema = entity_set
        self.keys = entity_set.type.keys
        #: Store order is ascending key order, so ``$orderby`` on the keys needs no sort.
        self.key_ordered = key_ordered
        options: dict[str, Any] = {} if timeline is None else {"timeline": timeline}
        self.collection: SeededCollection[Entity] = SeededCollection(
            entity_set.name,
            factory or _no_seed,
            seed=seed,
            size=size if factory is not None else 0,
            ids=ids or IdScheme(f"{entity_set.name}#", 10),
            clock=clock,
            **options,
        )
        self._seeded_id = seeded_id
        self._children = children
        self._assign_keys = assign_keys
        self._created_keys: dict[str, str] = {}  # key string -> internal id, for created entities
        self._created: list[str] = []
        #: Bumped by every write (from a count shared by all stores): serialised entities that
        #: embed entities of this store are stale once it moves.
        self.version = next(_WRITES)
        #: While not None, every write appends how to undo it (an all-or-nothing ``$batch``
        #: group rolls back with them, last first).
        self.journal: list[Callable[[], None]] | None = None

    def __len__(self) -> int:
        return self.collection.count()

    def key_of(self, entity: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(entity.get(name) for name in self.keys)

    # -- reading -------------------------------------------------------------------------------

    def find(self, key: tuple[Any, ...]) -> Record[Entity] | None:
        """The live entity with this key, or None."""
        text = key_string(key)
        internal = self._created_keys.get(text)
        if internal is None:
            internal = self._seeded_id(key) if self._seeded_id is not None else text
        if internal is None:
            return None
        record = self.collection.get(internal)
        if record is None or key_string(self.key_of(record.data)) != text:
            return None
        return record

    def get(self, internal_id: str) -> Record[Entity] | None:
        return self.collection.get(internal_id)

    def iter(self, where: Callable[[Entity], bool] | None = None) -> Iterator[Record[Entity]]:
        if where is None:
            return self.collection.iter()
        return self.collection.iter(where=lambda record: where(record.data))

    def matching(self, values: Mapping[str, Any]) -> list[Record[Entity]]:
        """Entities whose properties equal ``values`` (navigation targets), in store order."""

        def matches(entity: Entity) -> bool:
            return all(entity.get(name) == value for name, value in values.items())

        if set(values) == set(self.keys):  # the whole key: one lookup, not a scan
            found_one = self.find(tuple(values[name] for name in self.keys))
            return [] if found_one is None else [found_one]
        located = self._children(values) if self._children is not None else None
        if located is None:
            return list(self.iter(matches))
        found: list[Record[Entity]] = []
        for internal in [*located, *self._created]:
            record = self.collection.get(internal)
            if record is not None and matches(record.data):
                found.append(record)
        return found

    # -- writing -------------------------------------------------------------------------------

    def create(self, entity: Entity) -> Record[Entity]:
        """Store a new entity; keys missing from it are assigned by ``assign_keys``.

        :raises KeyError: when an entity with the same key exists (the message names the key).
        """
        internal = self.collection.next_id
        if self._assign_keys is not None:
            self._assign_keys(entity, internal)
        elif len(self.keys) == 1 and entity.get(self.keys[0]) in (None, ""):
            entity[self.keys[0]] = internal
        key = self.key_of(entity)
        if any(value in (None, "") for value in key):
            missing = [name for name, value in zip(self.keys, key, strict=True) if value in (None, "")]
            raise ValueError(f"key property {missing[0]} is required")
        if self.find(key) is not None:
            raise KeyError(key_string(key))
        record = self.collection.create(entity)
        self.version = next(_WRITES)
        self._created_keys[key_string(key)] = record.id
        self._created.append(record.id)
        if self.journal is not None:
            self.journal.append(lambda: self._uncreate(record))
        return record

    def update(self, record: Record[Entity], entity: Entity) -> Record[Entity]:
        self.version = next(_WRITES)
        if self.journal is not None:
            before = self.collection.get(record.id)
            if before is not None:
                self.journal.append(lambda: self._restore(before))
        return self.collection.update(record.id, entity)

    def delete(self, record: Record[Entity]) -> None:
        self.version = next(_WRITES)
        before = self.collection.get(record.id)
        self.collection.delete(record.id)
        self._created_keys.pop(key_string(self.key_of(record.data)), None)
        if self.journal is not None and before is not None:
            self.journal.append(lambda: self._restore(before))

    # -- undoing (see ``journal``) ------------------------------------------------------------

    def _uncreate(self, record: Record[Entity]) -> None:
        self.version = next(_WRITES)
        if self.collection.get(record.id) is not None:
            self.collection.delete(record.id)
        self._created_keys.pop(key_string(self.key_of(record.data)), None)
        if record.id in self._created:
            self._created.remove(record.id)

    def _restore(self, record: Record[Entity]) -> None:
        self.version = next(_WRITES)
        self.collection.restore(record)
        if record.id in self._created:
            self._created_keys[key_string(self.key_of(record.data))] = record.id


def _no_seed(seed: RecordSeed) -> Entity:
    raise AssertionError("an unseeded entity store has no seeded entities")
