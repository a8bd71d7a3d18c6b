"""An emulator's records: seeded on demand, with an overlay for what clients changed.

A collection of a million records costs nothing up front: record ``i`` is generated from
``(seed, name, i)`` each time it is read. Only created, updated and deleted records are
kept in memory, so memory grows with what a test changes, not with ``size``.

Order is the record index: seeded records first (``0 .. size-1``), then created ones in
creation order. Seeded records are spread over a fixed timeline in index order, so their
``updated_at`` never decreases with the index; that lets ``updated_since`` filters and
position-based paging jump straight to the right index instead of scanning.
"""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar

from fincon.core.clock import SYSTEM_CLOCK, Clock
from fincon.sandbox._seed import SeedRandom, _mix64

__all__ = ["IdScheme", "Page", "Record", "RecordSeed", "SeededCollection"]

T = TypeVar("T")

DEFAULT_TIMELINE = (
    datetime(2024, 1, 1, tzinfo=timezone.utc),
    datetime(2025, 12, 1, tzinfo=timezone.utc),
)
"""Seeded records are created between these instants (fixed, so data never depends on today)."""


@dataclass(frozen=True)
class IdScheme:
    """How record indexes become ids: ``prefix`` + the number ``start + index``, zero-padded
    to ``width`` digits. ``IdScheme("ven_", 8)`` gives ``ven_00000001`` for index 0."""

    prefix: str = ""
    width: int = 0
    start: int = 1

    def format(self, index: int) -> str:
        """The id of the record at ``index``."""
        return f"{self.prefix}{index + self.start:0{self.width}d}"

    def parse(self, record_id: str) -> int | None:
        """The index an id stands for, or ``None`` if it is not one of this scheme's ids."""
        if not record_id.startswith(self.prefix):
            return None
        digits = record_id[len(self.prefix) :]
        # Only the canonical spelling counts: "ven_1" is not "ven_00000001".
        if not _DIGITS.fullmatch(digits) or (self.width and len(digits) < self.width):
            return None
        if len(digits) > max(self.width, 1) and digits.startswith("0"):
            return None
        index = int(digits) - self.start
        return index if index >= 0 else None


_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Record(Generic[T]):
    """One stored record: its id and position, timestamps (aware UTC) and the emulator's data."""

    id: str
    index: int
    created_at: datetime
    updated_at: datetime
    data: T


@dataclass(frozen=True, slots=True)
class RecordSeed:
    """What a record factory gets to build seeded record ``index`` deterministically."""

    index: int
    id: str
    created_at: datetime
    random: SeedRandom


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing.

    ``next_offset`` is the position (counted among matching records) where the next page
    starts, or ``None`` on the last page; ``items[-1].id`` is the after-id cursor.
    """

    items: list[Record[T]]
    has_more: bool
    next_offset: int | None = None


@dataclass
class _Overlay(Generic[T]):
    changed: dict[int, Record[T]] = field(default_factory=dict)
    changed_sorted: list[int] = field(default_factory=list)  # indexes in ``changed``, ascending
    deleted: set[int] = field(default_factory=set)
    deleted_sorted: list[int] = field(default_factory=list)


class SeededCollection(Generic[T]):
    """Records generated from a seed on demand, plus an in-memory overlay of changes.

    ``factory`` turns a :class:`RecordSeed` into the emulator's record data (a dict for
    JSON systems, anything else for others). Treat record data as immutable: recently
    built records are cached and shared, and :meth:`update` takes new data. The
    collection is not locked: the emulator serialises access (``Emulator.handle`` holds
    its lock).
    """

    def __init__(
        self,
        name: str,
        factory: Callable[[RecordSeed], T],
        *,
        seed: int = 0,
        size: int = 100,
        ids: IdScheme | None = None,
        clock: Clock | None = None,
        timeline: tuple[datetime, datetime] = DEFAULT_TIMELINE,
        cache_size: int = 512,
    ) -> None:
        if size < 0:
            raise ValueError("size must be zero or more")
        start, end = timeline
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise ValueError("timeline must be two aware datetimes, start before end")
        self.name = name
        self.size = size
        self.ids = ids or IdScheme(prefix=f"{name}_", width=8)
        self.clock = clock or SYSTEM_CLOCK
        self._factory = factory
        self._random = SeedRandom(seed, name)
        self._jitter_key = SeedRandom(seed, name, "timeline").next64()
        self._timeline_start = start
        self._timeline_seconds = max(int((end - start).total_seconds()), 1)
        self._next_index = size
        self._overlay: _Overlay[T] = _Overlay()
        # Recently built seeded records: re-reading a page or a record is common and
        # building one costs tens of microseconds. Bounded, so memory stays O(changes).
        self._cache: OrderedDict[int, Record[T]] = OrderedDict()
        self._cache_size = cache_size

    # Seeded records ----------------------------------------------------------------------

    def seeded_created_at(self, index: int) -> datetime:
        """When seeded record ``index`` was created: never earlier than record ``index - 1``."""
        span = self._timeline_seconds
        # A jitter below one slot keeps timestamps irregular and still non-decreasing.
        jitter = _mix64(self._jitter_key ^ index) % span
        return self._timeline_start + timedelta(seconds=(index * span + jitter) // max(self.size, 1))

    def _seeded(self, index: int) -> Record[T]:
        cache = self._cache
        record = cache.get(index)
        if record is not None:
            cache.move_to_end(index)
            return record
        record = self._build(index)
        if self._cache_size:
            cache[index] = record
            if len(cache) > self._cache_size:
                cache.popitem(last=False)
        return record

    def _build(self, index: int) -> Record[T]:
        record_id = self.ids.format(index)
        created_at = self.seeded_created_at(index)
        data = self._factory(RecordSeed(index, record_id, created_at, self._random.derive(index)))
        return Record(record_id, index, created_at, created_at, data)

    def _first_seeded_updated_since(self, since: datetime) -> int:
        """The smallest seeded index whose seeded timestamp is at or after ``since``."""
        low, high = 0, self.size
        while low < high:
            middle = (low + high) // 2
            if self.seeded_created_at(middle) < since:
                low = middle + 1
            else:
                high = middle
        return low

    # Reading -----------------------------------------------------------------------------

    def index_of(self, record_id: str) -> int | None:
        """The index behind ``record_id`` (also for deleted records), or ``None``."""
        index = self.ids.parse(record_id)
        if index is None or index >= self._next_index:
            return None
        return index

    def _at(self, index: int) -> Record[T] | None:
        if index in self._overlay.deleted:
            return None
        changed = self._overlay.changed.get(index)
        if changed is not None:
            return changed
        return self._seeded(index) if index < self.size else None

    def get(self, record_id: str) -> Record[T] | None:
        """The live record with this id, or ``None`` (never created, or deleted)."""
        index = self.index_of(record_id)
        return None if index is None else self._at(index)

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, str) and self.get(record_id) is not None

    def exists(self, record_id: str) -> bool:
        """Whether ``record_id`` names a live record."""
        index = self.index_of(record_id)
        return index is not None and index not in self._overlay.deleted

    def _excluded_above(self, cutoff: int, since: datetime | None) -> list[int]:
        """Indexes at or after ``cutoff`` that a listing skips: deleted, or changed too long ago."""
        overlay = self._overlay
        excluded = set(overlay.deleted_sorted[bisect.bisect_left(overlay.deleted_sorted, cutoff) :])
        if since is not None:
            for index in overlay.changed_sorted[bisect.bisect_left(overlay.changed_sorted, cutoff) :]:
                if overlay.changed[index].updated_at < since:
                    excluded.add(index)
        return sorted(excluded)

    def _changed_below(self, start: int, cutoff: int, since: datetime) -> list[int]:
        """Changed indexes in ``[start, cutoff)`` updated at or after ``since``.

        Below the cutoff an untouched seeded record is too old, so only changed ones match.
        """
        overlay = self._overlay
        low = bisect.bisect_left(overlay.changed_sorted, start)
        high = bisect.bisect_left(overlay.changed_sorted, cutoff)
        return [
            index
            for index in overlay.changed_sorted[low:high]
            if index not in overlay.deleted and overlay.changed[index].updated_at >= since
        ]

    def _cutoff(self, since: datetime | None) -> int:
        return 0 if since is None else self._first_seeded_updated_since(since)

    def indexes(self, *, start: int = 0, updated_since: datetime | None = None) -> Iterator[int]:
        """Indexes of live records at or after ``start`` matching ``updated_since``, in order."""
        cutoff = self._cutoff(updated_since)
        if updated_since is not None:
            yield from self._changed_below(start, cutoff, updated_since)
        overlay = self._overlay
        for index in range(max(start, cutoff), self._next_index):
            if index in overlay.deleted:
                continue
            changed = overlay.changed.get(index)
            if changed is not None and updated_since is not None and changed.updated_at < updated_since:
                continue
            yield index

    def __iter__(self) -> Iterator[Record[T]]:
        return self.iter()

    def iter(
        self,
        *,
        updated_since: datetime | None = None,
        where: Callable[[Record[T]], bool] | None = None,
    ) -> Iterator[Record[T]]:
        """Every live record in order, optionally filtered, generated lazily."""
        for index in self.indexes(updated_since=updated_since):
            record = self._at(index)
            if record is not None and (where is None or where(record)):
                yield record

    def count(self, *, updated_since: datetime | None = None) -> int:
        """How many live records match ``updated_since``, without generating any."""
        cutoff = self._cutoff(updated_since)
        below = len(self._changed_below(0, cutoff, updated_since)) if updated_since is not None else 0
        return below + (self._next_index - cutoff) - len(self._excluded_above(cutoff, updated_since))

    def __len__(self) -> int:
        return self.count()

    def index_at_position(self, position: int, *, updated_since: datetime | None = None) -> int | None:
        """The index of the ``position``-th matching live record (0-based), found in time
        proportional to the number of changes, not to the collection's size."""
        if position < 0:
            raise ValueError("position must be zero or more")
        cutoff = self._cutoff(updated_since)
        if updated_since is not None:
            below = self._changed_below(0, cutoff, updated_since)
            if position < len(below):
                return below[position]
            position -= len(below)
        index = cutoff + position
        for excluded in self._excluded_above(cutoff, updated_since):
            if excluded > index:
                break
            index += 1  # each skipped index below the target pushes it one further
        return index if index < self._next_index else None

    def page(
        self,
        limit: int,
        *,
        after: str | None = None,
        offset: int | None = None,
        updated_since: datetime | None = None,
        where: Callable[[Record[T]], bool] | None = None,
        lookahead: bool = True,
    ) -> Page[T]:
        """Up to ``limit`` matching records after the record ``after`` (an id) or from the
        ``offset``-th match; ``has_more`` tells whether anything follows.

        Paging by ``after`` survives concurrent creates and deletes without gaps or repeats;
        an unknown ``after`` id raises ``KeyError``.

        ``lookahead=False`` is for callers that will not use ``has_more`` (an OData ``$top``
        already reached): a full page stops at once, without building and filtering records
        after it until the next match (with a selective ``where`` that can be the whole rest),
        and ``has_more`` then only says the page is full.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if after is not None and offset is not None:
            raise ValueError("give after or offset, not both")
        start = 0
        skip = 0
        if after is not None:
            after_index = self.index_of(after)
            if after_index is None:
                raise KeyError(after)
            start = after_index + 1
        elif offset:
            if where is None:
                found = self.index_at_position(offset, updated_since=updated_since)
                start = self._next_index if found is None else found
            else:
                skip = offset  # an arbitrary predicate cannot be counted without reading
        items: list[Record[T]] = []
        for index in self.indexes(start=start, updated_since=updated_since):
            if len(items) == limit:
                if where is None or not lookahead:
                    # The index alone proves there is more: no need to build the record.
                    return Page(items, True, (offset or 0) + limit)
                if self._matches(index, where):
                    return Page(items, True, (offset or 0) + limit)
                continue
            record = self._at(index)
            if record is None or (where is not None and not where(record)):
                continue
            if skip:
                skip -= 1
                continue
            items.append(record)
        return Page(items, False, None)

    def _matches(self, index: int, where: Callable[[Record[T]], bool]) -> bool:
        record = self._at(index)
        return record is not None and where(record)

    # Writing -----------------------------------------------------------------------------

    def _remember(self, record: Record[T]) -> None:
        overlay = self._overlay
        if record.index not in overlay.changed:
            bisect.insort(overlay.changed_sorted, record.index)
        overlay.changed[record.index] = record

    def create(self, data: T, *, at: datetime | None = None) -> Record[T]:
        """Store a new record after every existing one; its id continues the sequence."""
        now = at or self.clock.now()
        index = self._next_index
        self._next_index += 1
        record = Record(self.ids.format(index), index, now, now, data)
        self._remember(record)
        return record

    def update(self, record_id: str, data: T, *, at: datetime | None = None) -> Record[T]:
        """Replace a live record's data and bump its ``updated_at``; ``KeyError`` if absent."""
        current = self.get(record_id)
        if current is None:
            raise KeyError(record_id)
        updated = Record(current.id, current.index, current.created_at, at or self.clock.now(), data)
        self._remember(updated)
        return updated

    def delete(self, record_id: str) -> Record[T]:
        """Remove a live record (its index stays taken); ``KeyError`` if absent."""
        current = self.get(record_id)
        if current is None:
            raise KeyError(record_id)
        overlay = self._overlay
        overlay.deleted.add(current.index)
        bisect.insort(overlay.deleted_sorted, current.index)
        # The data of a deleted record is no longer needed.
        if overlay.changed.pop(current.index, None) is not None:
            overlay.changed_sorted.remove(current.index)
        return current

    def restore(self, record: Record[T]) -> None:
        """Put ``record`` back exactly as it was (data and timestamps), undoing a later update
        or delete of it: how a failed all-or-nothing group of writes is rolled back."""
        overlay = self._overlay
        if record.index in overlay.deleted:
            overlay.deleted.discard(record.index)
            overlay.deleted_sorted.remove(record.index)
        self._cache.pop(record.index, None)
        self._remember(record)

    @property
    def next_id(self) -> str:
        """The id the next :meth:`create` will assign."""
        return self.ids.format(self._next_index)

    @property
    def changes(self) -> int:
        """How many records the overlay holds (created, updated or deleted)."""
        return len(self._overlay.changed) + len(self._overlay.deleted)
