"""SeededCollection: deterministic records on demand, an overlay of changes, paging."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fincon.core.clock import FakeClock
from fincon.sandbox import IdScheme, Record, RecordSeed, SeededCollection

JSON = dict[str, Any]


def vendor(seed: RecordSeed) -> JSON:
    return {"name": seed.random.company_name(), "balance": seed.random.amount("USD", 0, 100)}


def collection(size: int = 100, seed: int = 0, clock: FakeClock | None = None) -> SeededCollection[JSON]:
    return SeededCollection(
        "vendors", vendor, seed=seed, size=size, ids=IdScheme("ven_", 8), clock=clock or FakeClock()
    )


def ids(records: list[Record[JSON]]) -> list[str]:
    return [record.id for record in records]


def test_records_are_deterministic_from_seed_and_index() -> None:
    first, second, other = collection(seed=1), collection(seed=1), collection(seed=2)
    assert list(first) == list(second)
    assert [record.data for record in first] != [record.data for record in other]
    # Reading in another order builds the same record.
    assert first.get("ven_00000042") == collection(seed=1).get("ven_00000042")


def test_ids_are_deterministic_and_parse_back() -> None:
    scheme = IdScheme("ven_", 8)
    assert scheme.format(0) == "ven_00000001"
    assert scheme.parse("ven_00000001") == 0
    assert scheme.parse("ven_1") is None  # not the canonical spelling
    assert scheme.parse("ven_000000001") is None
    assert scheme.parse("bill_00000001") is None
    assert scheme.parse("ven_00000000") is None  # before the first id
    plain = IdScheme()
    assert plain.format(4710) == "4711"
    assert plain.parse("4711") == 4710
    assert plain.parse("04711") is None


def test_seeded_timestamps_never_decrease_and_are_aware() -> None:
    records = list(collection(size=500))
    stamps = [record.updated_at for record in records]
    assert stamps == sorted(stamps)
    assert all(stamp.tzinfo is not None for stamp in stamps)
    assert len(set(stamps)) > 450  # spread out, not a handful of instants


def test_a_million_records_cost_memory_only_for_what_changed() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        big = collection(size=1_000_000)
        last = big.get("ven_01000000")
        assert last is not None
        assert big.get("ven_01000001") is None
        page = big.page(100, after="ven_00999950")
        assert ids(page.items)[0] == "ven_00999951"
        assert len(page.items) == 50
        assert not page.has_more
        for index in range(0, 1_000_000, 10_000):
            big.update(big.ids.format(index), {"name": "changed", "balance": 0})
        big.delete("ven_00500000")
        big.create({"name": "new", "balance": 1})
        assert big.count() == 1_000_000
        assert big.index_at_position(999_999) == 1_000_000  # the created one, after the deletion
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A million materialised records would take hundreds of megabytes.
    assert peak < 2_000_000, f"peak {peak} bytes"


def test_overlay_create_update_delete() -> None:
    clock = FakeClock()
    records = collection(size=3, clock=clock)
    clock.advance(60)
    created = records.create({"name": "Acme", "balance": 0})
    assert created.id == "ven_00000004"
    assert created.created_at == clock.now()
    assert records.next_id == "ven_00000005"
    clock.advance(60)
    updated = records.update("ven_00000002", {"name": "Renamed", "balance": 5})
    assert updated.updated_at == clock.now()
    assert updated.created_at < updated.updated_at
    assert records.get("ven_00000002") == updated
    records.delete("ven_00000001")
    assert records.get("ven_00000001") is None
    assert not records.exists("ven_00000001")
    assert "ven_00000001" not in records
    assert ids(list(records)) == ["ven_00000002", "ven_00000003", "ven_00000004"]
    assert len(records) == 3
    with pytest.raises(KeyError):
        records.update("ven_00000001", {"name": "gone", "balance": 0})
    with pytest.raises(KeyError):
        records.delete("ven_00000001")
    with pytest.raises(KeyError):
        records.update("ven_00000099", {"name": "never", "balance": 0})


def listing(records: SeededCollection[JSON], limit: int, since: datetime | None = None) -> list[str]:
    seen: list[str] = []
    after: str | None = None
    while True:
        page = records.page(limit, after=after, updated_since=since)
        seen.extend(ids(page.items))
        assert len(page.items) <= limit
        if not page.has_more:
            return seen
        assert len(page.items) == limit
        after = page.items[-1].id


def by_offset(records: SeededCollection[JSON], limit: int, since: datetime | None = None) -> list[str]:
    seen: list[str] = []
    offset = 0
    while True:
        page = records.page(limit, offset=offset, updated_since=since)
        seen.extend(ids(page.items))
        if page.next_offset is None:
            return seen
        offset = page.next_offset


operations = st.lists(
    st.tuples(
        st.sampled_from(["create", "update", "delete", "tick"]), st.integers(min_value=0, max_value=80)
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(limit=st.integers(min_value=1, max_value=25), changes=operations, since_index=st.integers(0, 80))
def test_paging_has_no_gap_and_no_repeat(
    limit: int, changes: list[tuple[str, int]], since_index: int
) -> None:
    clock = FakeClock()
    records = collection(size=60, clock=clock)
    for operation, number in changes:
        record_id = records.ids.format(number)
        if operation == "create":
            records.create({"name": "new", "balance": 0})
        elif operation == "update" and records.exists(record_id):
            records.update(record_id, {"name": "updated", "balance": 1})
        elif operation == "delete" and records.exists(record_id):
            records.delete(record_id)
        elif operation == "tick":
            clock.advance(number)
    everything = ids(list(records.iter()))
    assert everything == sorted(everything)  # ids sort like indexes
    assert listing(records, limit) == everything
    assert by_offset(records, limit) == everything
    assert records.count() == len(everything)
    # updated_since: compare with a brute-force filter over every record.
    since = records.seeded_created_at(since_index) if since_index < 60 else clock.now()
    expected = [record.id for record in records.iter() if record.updated_at >= since]
    assert listing(records, limit, since) == expected
    assert by_offset(records, limit, since) == expected
    assert records.count(updated_since=since) == len(expected)


def test_paging_survives_changes_between_pages() -> None:
    records = collection(size=30)
    first = records.page(10)
    records.delete("ven_00000011")  # the record right after the cursor
    records.delete("ven_00000005")  # one already served
    records.create({"name": "late", "balance": 0})
    rest = listing_from(records, first.items[-1].id, 10)
    assert rest == [f"ven_{number:08d}" for number in range(12, 32)]


def listing_from(records: SeededCollection[JSON], after: str, limit: int) -> list[str]:
    seen: list[str] = []
    while True:
        page = records.page(limit, after=after)
        seen.extend(ids(page.items))
        if not page.has_more:
            return seen
        after = page.items[-1].id


def test_page_with_a_predicate_and_an_unknown_cursor() -> None:
    records = collection(size=40)
    rich = [record.id for record in records if record.data["balance"] >= 50]
    page = records.page(5, where=lambda record: record.data["balance"] >= 50)
    assert ids(page.items) == rich[:5]
    skipped = records.page(5, offset=5, where=lambda record: record.data["balance"] >= 50)
    assert ids(skipped.items) == rich[5:10]
    with pytest.raises(KeyError):
        records.page(5, after="ven_99999999")
    with pytest.raises(ValueError, match="limit"):
        records.page(0)


def test_updated_since_after_everything_is_empty() -> None:
    records = collection(size=1000)
    future = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert records.page(10, updated_since=future).items == []
    assert records.count(updated_since=future) == 0
    past = datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert records.count(updated_since=past) == 1000
    middle = records.seeded_created_at(500)
    first = records.page(1, updated_since=middle).items[0]
    assert first.updated_at >= middle
    assert records.seeded_created_at(first.index - 1) < middle or first.index == 0
    assert middle - timedelta(days=1) < first.updated_at


def test_a_page_without_lookahead_stops_building_records_once_full() -> None:
    built: list[int] = []

    def counted(seed: RecordSeed) -> JSON:
        built.append(seed.index)
        return {"first": seed.index < 3}

    def first_three(record: Record[JSON]) -> bool:
        return bool(record.data["first"])

    records = SeededCollection("rows", counted, size=500, ids=IdScheme("row_", 8), cache_size=0)
    full = records.page(3, where=first_three)
    assert ids(full.items) == [records.ids.format(index) for index in range(3)]
    assert (full.has_more, len(built)) == (False, 500)  # looked through the rest for a 4th match
    built.clear()
    capped = records.page(3, where=first_three, lookahead=False)
    assert ids(capped.items) == ids(full.items)
    assert capped.has_more  # only "the page is full"
    assert built == [0, 1, 2]


def test_restore_puts_back_an_updated_or_deleted_record_exactly() -> None:
    clock = FakeClock()
    collection = SeededCollection("things", lambda seed: {"n": seed.index}, size=5, clock=clock)
    first, second = collection.get(collection.ids.format(1)), collection.get(collection.ids.format(2))
    assert first is not None
    assert second is not None
    clock.advance(60)
    collection.update(first.id, {"n": 100})
    collection.delete(second.id)
    collection.restore(first)
    collection.restore(second)
    assert collection.get(first.id) == first  # data and both timestamps as they were
    assert collection.get(second.id) == second
    assert [record.data["n"] for record in collection] == [0, 1, 2, 3, 4]
    assert collection.count() == 5
