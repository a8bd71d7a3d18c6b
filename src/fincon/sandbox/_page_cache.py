"""``PageCache``: rendered listing pages kept for serving again, bounded by their total size.

Rendering a page of seeded records (generating each record, then encoding it) costs the
emulator far more than sending it. A listing of a collection nobody has changed is the same
every time, so an emulator may render such a page once and serve the bytes again: benchmarks
then measure the clients, not the emulator. Only pages that cannot have changed may be
cached; the emulator decides which (typically: no filter, and the collection's
``changes`` is 0).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["PageCache"]

T = TypeVar("T")


class PageCache(Generic[T]):
    """Rendered pages by key, least recently used first out, at most ``limit`` in total size.

    Each page is stored with its size (its length in bytes or characters); a page larger
    than ``limit`` on its own is not kept.
    """

    def __init__(self, limit: int = 256 * 1024 * 1024) -> None:
        self.limit = limit
        #: The total size of the pages held.
        self.size = 0
        self._pages: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()

    def get(self, key: Hashable) -> T | None:
        """The page stored under ``key`` (now the most recently used), or None."""
        found = self._pages.get(key)
        if found is None:
            return None
        self._pages.move_to_end(key)
        return found[0]

    def put(self, key: Hashable, page: T, size: int) -> None:
        """Keep ``page`` under ``key``, dropping the least recently used pages beyond the limit."""
        if size > self.limit:
            return
        previous = self._pages.pop(key, None)
        if previous is not None:
            self.size -= previous[1]
        self._pages[key] = (page, size)
        self.size += size
        while self.size > self.limit:
            _, (_, dropped) = self._pages.popitem(last=False)
            self.size -= dropped

    def clear(self) -> None:
        """Forget every page."""
        self._pages.clear()
        self.size = 0

    def __len__(self) -> int:
        return len(self._pages)
