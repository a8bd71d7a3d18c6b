"""The emulators' page cache: bounded by total size, least recently used out first."""

from __future__ import annotations

from fincon.sandbox import PageCache


def test_the_page_cache_is_bounded_by_size_and_forgets_the_least_recently_used() -> None:
    cache: PageCache[str] = PageCache(limit=10)
    cache.put("a", "xxxx", 4)
    cache.put("b", "yyyy", 4)
    assert cache.get("a") == "xxxx"  # a is now the most recently used
    cache.put("c", "zzzz", 4)
    assert cache.get("b") is None
    assert cache.get("a") == "xxxx"
    assert cache.get("c") == "zzzz"
    assert cache.size == 8
    assert len(cache) == 2


def test_replacing_a_page_counts_its_new_size_only() -> None:
    cache: PageCache[bytes] = PageCache(limit=10)
    cache.put("a", b"xxxx", 4)
    cache.put("a", b"x", 1)
    assert cache.size == 1
    assert cache.get("a") == b"x"


def test_a_page_larger_than_the_limit_is_not_kept_and_evicts_nothing() -> None:
    cache: PageCache[str] = PageCache(limit=10)
    cache.put("small", "s", 1)
    cache.put("huge", "h" * 11, 11)
    assert cache.get("huge") is None
    assert cache.get("small") == "s"


def test_clear_forgets_every_page() -> None:
    cache: PageCache[str] = PageCache(limit=10)
    cache.put("a", "xx", 2)
    cache.clear()
    assert cache.get("a") is None
    assert (cache.size, len(cache)) == (0, 0)
